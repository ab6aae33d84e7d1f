"""The shop's expiry settings (allocation's): the notice before a purchase's numbers expire, and what happens
to them then (nothing, extended for the fee, or refunded). `waybill settings expiry`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer
from waybill_client.models import ExpirySettingsIn, ExpirySettingsOut

from cli.api import connect, handled, request
from cli.options import JsonOut, Profile
from cli.output import emit_json, line

OnExpiry = Literal["nothing", "extend", "refund"]


def _say(s: ExpirySettingsOut) -> None:
    notice = f"{s.expiring_notice_days} days before" if s.expiring_notice_days else "no notice"
    then = {
        "nothing": "the numbers expire",
        "extend": f"extended by {s.auto_extend_days} days for the package's fee",
        "refund": "the numbers never handed out are refunded",
    }.get(s.on_expiry, s.on_expiry)
    line(f"expiring notice: {notice}; {s.action_lead_hours} h before expiry: {then} (on_expiry {s.on_expiry})")


@handled
def settings_expiry(
    notice_days: Annotated[
        int | None,
        typer.Option(min=0, max=90, help="The `expiring` notice (and webhook) this many days before (0: none)."),
    ] = None,
    on_expiry: Annotated[
        OnExpiry | None, typer.Option(help="Shortly before the numbers expire: nothing, extend or refund.")
    ] = None,
    extend_days: Annotated[int | None, typer.Option(min=1, max=365, help="Days an `extend` adds.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """What happens before a purchase's numbers expire: shown, or set with the options given (the others
    keep their value)."""
    values: dict[str, Any] = {
        k: v
        for k, v in {
            "expiring_notice_days": notice_days,
            "on_expiry": on_expiry,
            "auto_extend_days": extend_days,
        }.items()
        if v is not None
    }
    with connect(profile) as client:
        s = client.put_expiry_settings(request(ExpirySettingsIn, **values)) if values else client.get_expiry_settings()
    if as_json:
        emit_json(s)
    else:
        _say(s)
