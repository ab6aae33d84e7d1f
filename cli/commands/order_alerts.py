"""Order alerts: ship-by deadlines (发货超时), invalid addresses and what else needs the seller on an order.
Their messages are the API's, in Chinese for the seller (times in the shop's time zone)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from cli.api import connect, handled
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import emit_json, line, next_page, read_list, table

order_alerts = typer.Typer(
    help="Order alerts: late to ship (发货超时), ship-by passed, invalid addresses...", no_args_is_help=True
)
COLUMNS = ["id", "kind", "state", "order_id", "opened_at", "message"]
WIDE = [*COLUMNS, "acknowledged_at", "resolved_at"]
Kind = Literal[
    "late_to_ship", "ship_by_passed", "not_collected_by_ship_by", "address_change_after_collection", "address_invalid"
]


@order_alerts.command("list")
@handled
def order_alerts_list(
    state: Annotated[
        Literal["open", "acknowledged", "resolved", "all"], typer.Option(help="open, acknowledged, resolved, or all.")
    ] = "open",
    kind: Annotated[Kind | None, typer.Option(help="Only alerts of this kind.")] = None,
    order_id: Annotated[str | None, typer.Option("--order", help="Only this order's alerts.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Alerts per page.")] = 100,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Order alerts, newest first, by state, kind and order; a page at a time."""
    with connect(profile) as client:
        page = read_list(
            every,
            client.iter_order_alerts,
            client.list_order_alerts,
            state=None if state == "all" else state,
            kind=kind,
            order_id=order_id,
            limit=limit,
            cursor=cursor,
        )
    if as_json:
        emit_json(page)
        return
    table("order alerts", page.data, WIDE if wide else COLUMNS)
    next_page(page.has_more, page.next_cursor)


@order_alerts.command("ack")
@handled
def order_alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (from `order-alerts list`).")],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Acknowledge an order alert: seen (it still resolves by itself once the order ships, or is fixed)."""
    with connect(profile) as client:
        a = client.acknowledge_order_alert(alert_id)
    if as_json:
        emit_json(a)
    else:
        line(f"order alert {a.id} ({a.kind}, order {a.order_id}): {a.state}")
