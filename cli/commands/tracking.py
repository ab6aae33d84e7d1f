"""Tracking: a parcel's status and timeline, by its number or by its order."""

from __future__ import annotations

from typing import Annotated

import typer
from waybill_client.models import TrackingOut

from cli.api import connect, handled
from cli.options import JsonOut, Profile, Wide
from cli.output import bold, emit_json, line, say, table, when

TIMELINE = ["occurred_at", "status", "description", "area_name"]


def _parcel(t: TrackingOut, wide: bool) -> None:
    at = f" since {when(t.status_at)}" if t.status_at else ""
    say(bold(f"{t.carrier} {t.number}"), f" (order {t.order_id}): ", bold(t.status), at)
    promised = f", promised in {t.promised_days} days" if t.promised_days else ""
    line(f"shipped {when(t.shipped_at)}{promised}; provider subscription {t.subscription.state}")
    table("timeline", t.events, [*TIMELINE, "area_code", "provider_code"] if wide else TIMELINE)
    if t.alerts:
        table("alerts", t.alerts, ["id", "kind", "state", "opened_at", "message"])


@handled
def track(
    number_or_order: Annotated[str, typer.Argument(help="A waybill number, or an order id with --order.")],
    order: Annotated[bool, typer.Option(help="The argument is an order id: every parcel of the order.")] = False,
    carrier: Annotated[str | None, typer.Option(help="The number's carrier, when two carriers share it.")] = None,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """A parcel's status, timeline and alerts (times in the profile's zone)."""
    with connect(profile) as client:
        found = (
            client.get_order_tracking(number_or_order)
            if order
            else client.get_tracking(number_or_order, carrier=carrier)
        )
    if as_json:
        emit_json(found)
        return
    parcels = found.parcels if not isinstance(found, TrackingOut) else [found]
    if not parcels:
        line(f"order {number_or_order}: no parcel tracked yet")
    for t in parcels:
        _parcel(t, wide)
