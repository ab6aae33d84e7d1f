"""Outgoing webhooks to the shop's systems: the endpoints events go to, and the deliveries."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer
from waybill_client.models import WebhookEndpointIn

from cli.api import connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import bold, emit_json, line, next_page, read_list, say, table, whole

webhooks = typer.Typer(help="Outgoing webhooks to the shop's systems.", no_args_is_help=True)
endpoints = typer.Typer(help="The URLs events are sent to.", no_args_is_help=True)
webhooks.add_typer(endpoints, name="endpoints")
MOST = 1000  # a list read whole stops after this many items (and says how to see the rest)
DELIVERY_COLUMNS = ["id", "event_type", "status", "attempts", "last_status_code", "last_error", "created_at"]
DELIVERY_WIDE = [*DELIVERY_COLUMNS, "endpoint_id", "event_id", "delivered_at"]


@endpoints.command("create")
@handled
def endpoints_create(
    url: Annotated[str, typer.Argument(help="An https URL of your system (public addresses only).")],
    event: Annotated[
        list[str] | None, typer.Option(help="An event type to send (repeat it); every event when absent.")
    ] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Register a URL for shipment and tracking events; prints its signing secret once."""
    body = request(WebhookEndpointIn, url=url, **({"events": event} if event else {}))
    with connect(profile) as client:
        e = client.create_webhook_endpoint(body)
    if as_json:
        emit_json(e)
        return
    say("endpoint ", bold(e.id), f" {e.url}: {', '.join(e.events) or 'every event'}")
    line(f"signing secret (shown once, store it now): {e.secret}")


@endpoints.command("list")
@handled
def endpoints_list(profile: Profile = None, as_json: JsonOut = False) -> None:
    """The shop's endpoints."""
    with connect(profile) as client:
        page = client.list_webhook_endpoints()
    if as_json:
        emit_json(page)
        return
    rows = [{**dict(e), "events": ", ".join(e.events) or "every event"} for e in page.data]
    table("webhook endpoints", rows, ["id", "url", "events", "active", "created_at"])


@endpoints.command("disable")
@handled
def endpoints_disable(endpoint_id: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Stop sending events to an endpoint."""
    with connect(profile) as client:
        client.disable_webhook_endpoint(endpoint_id)
    if as_json:
        emit_json({"id": endpoint_id, "active": False})  # the API answers 204
    else:
        line(f"endpoint {endpoint_id} disabled")


@webhooks.command("deliveries")
@handled
def webhooks_deliveries(
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Deliveries per page.")] = 50,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Event deliveries, newest first, a page at a time."""
    with connect(profile) as client:
        pages, page_of = client.iter_webhook_deliveries, client.list_webhook_deliveries
        page = read_list(every, pages, page_of, status=status, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    table("deliveries", page.data, DELIVERY_WIDE if wide else DELIVERY_COLUMNS)
    next_page(page.has_more, page.next_cursor)


@webhooks.command("failures")
@handled
def webhooks_failures(
    most: Annotated[int, typer.Option(min=1, help="Stop after this many.")] = MOST,
    cursor: Cursor = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Every delivery that finally failed, newest first (up to --most)."""
    with connect(profile) as client:
        # One more than asked: whether the list goes on (the pages are read only as far as needed).
        found = list(
            islice(client.iter_webhook_deliveries(status="failed", limit=min(most, 500), cursor=cursor), most + 1)
        )
    more = len(found) > most
    shown = found[:most]
    if as_json:
        emit_json({**whole(shown), "has_more": more})
        return
    table("failed deliveries", shown, DELIVERY_COLUMNS)
    if more:
        line(f"stopped after {most} items; every one, a page at a time: waybill webhooks deliveries --status failed")


@webhooks.command("resend")
@handled
def webhooks_resend(delivery_id: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Send a delivery again (the same event id: the receiver can tell it is a repeat)."""
    with connect(profile) as client:
        d = client.resend_webhook_delivery(delivery_id)
    if as_json:
        emit_json(d)
    else:
        line(f"delivery {d.id}: {d.status}")
