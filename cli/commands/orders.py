"""Orders and their shipments: list, show, events, carrier options; ship, cancel, void."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer
from waybill_client.models import OrderOut, ShipmentOut, ShipRequest

from cli.api import connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import bold, emit_json, fields, line, next_page, read_list, say, table, yuan

orders = typer.Typer(
    help="The shop's orders: its own (channel own) and its marketplace stores' (taobao, pinduoduo).",
    no_args_is_help=True,
)
shipments = typer.Typer(help="Shipments: an order's parcel with its number and label.", no_args_is_help=True)
OrderId = Annotated[str, typer.Argument(help="The order's id (ord_..., from `orders list`).")]
ShipmentId = Annotated[str, typer.Argument(help="The shipment's id (from `ship` or `shipments list`).")]
ORDER_COLUMNS = ["id", "external_id", "channel", "status", "carrier", "number", "receiver", "payment", "created_at"]
ORDER_WIDE = [*ORDER_COLUMNS, "store_id", "buyer_nick", "weight_g", "shipment_id", "updated_at", "shipped_at", "flags"]
SHIPMENT_COLUMNS = ["id", "order_id", "carrier", "number", "status", "created_at", "error"]
SHIPMENT_WIDE = [*SHIPMENT_COLUMNS, "number_source", "attempts", "reallocations", "batch_id", "label_prints"]


def _order_row(o: OrderOut) -> dict[str, Any]:
    r = o.receiver
    return {**dict(o), "receiver": f"{r.name} {r.state}{r.city}{r.district}", "payment": yuan(o.payment_cents)}


@orders.command("list")
@handled
def orders_list(
    status: Annotated[
        str | None, typer.Option(help="Only orders in this state (paid, waybill_assigned, shipped, cancelled...).")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option(help="The order's id in its channel (Taobao's tid, the shop's own id).")
    ] = None,
    channel: Annotated[
        Literal["own", "taobao", "pinduoduo"] | None,
        typer.Option(help="Only this channel's orders: own (created over the API), taobao, pinduoduo."),
    ] = None,
    store_id: Annotated[str | None, typer.Option("--store", help="Only this store's orders (sto_...).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Orders per page.")] = 50,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Orders, newest first, a page at a time."""
    with connect(profile) as client:
        page = read_list(
            every,
            client.iter_orders,
            client.list_orders,
            status=status,
            external_id=external_id,
            channel=channel,
            store_id=store_id,
            limit=limit,
            cursor=cursor,
        )
    if as_json:
        emit_json(page)
        return
    table("orders", [_order_row(o) for o in page.data], ORDER_WIDE if wide else ORDER_COLUMNS)
    next_page(page.has_more, page.next_cursor)


@orders.command("show")
@handled
def orders_show(order_id: OrderId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One order: its channel and store, receiver, items, its number and shipment."""
    with connect(profile) as client:
        order = client.get_order(order_id)
    if as_json:
        emit_json(order)
        return
    values = dict(order)
    values["receiver"] = order.receiver.model_dump()
    fields(values, money=["payment_cents"])


@orders.command("events")
@handled
def orders_events(order_id: OrderId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """An order's state changes, in order."""
    with connect(profile) as client:
        page = client.list_order_events(order_id)
    if as_json:
        emit_json(page)
        return
    table(f"order {order_id}", page.data, ["at", "event", "from_status", "to_status", "note"])


@orders.command("options")
@handled
def orders_options(order_id: OrderId, wide: Wide = False, profile: Profile = None, as_json: JsonOut = False) -> None:
    """The carriers for an order, best first: price, coverage, transit days and stock, with the reasons."""
    with connect(profile) as client:
        page = client.list_carrier_options(order_id)
    if as_json:
        emit_json(page)
        return
    rows = [
        {
            **dict(o),
            "price": yuan(o.price_per_number_cents),
            "recommended": "★" if o.recommended else "",
            "reasons": "; ".join(o.reasons),
        }
        for o in page.data
    ]
    columns = ["carrier", "name", "recommended", "usable", "score", "price", "transit_days", "available", "reasons"]
    table(f"carriers for {order_id}", rows, [*columns, "covers_destination", "is_default"] if wide else columns)


@handled
def ship(
    order_id: OrderId,
    carrier: Annotated[str | None, typer.Option(help="Recommended when absent.")] = None,
    number: Annotated[str | None, typer.Option(help="A number you typed; from the pool when absent.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Ship one order: a number, the marketplace's confirmation and a label (idempotent on the order)."""
    given = {k: v for k, v in {"carrier": carrier, "number": number}.items() if v}
    body = request(ShipRequest, **given) if given else None
    with connect(profile) as client:
        shipment = client.ship_order(order_id, body)
    if as_json:
        emit_json(shipment)
        return
    _shipment_line(shipment)


def _shipment_line(s: ShipmentOut) -> None:
    error = f" ({s.error_code}: {s.error})" if s.error_code else ""
    say(f"order {s.order_id}: shipment ", bold(s.id), f" {s.carrier} ", bold(s.number), f", {s.status}{error}")


@handled
def cancel(order_id: OrderId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Cancel an order that has not shipped."""
    with connect(profile) as client:
        order = client.cancel_order(order_id)
    if as_json:
        emit_json(order)
    else:
        line(f"order {order.id}: {order.status}")


@handled
def void(shipment_id: ShipmentId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Void a shipment before the marketplace confirmed it (its printed number is voided, never reused)."""
    with connect(profile) as client:
        shipment = client.cancel_shipment(shipment_id)
    if as_json:
        emit_json(shipment)
    else:
        _shipment_line(shipment)


@shipments.command("list")
@handled
def shipments_list(
    order_id: Annotated[str | None, typer.Option("--order", help="Only this order's shipments.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Shipments per page.")] = 50,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Shipments, newest first, a page at a time."""
    with connect(profile) as client:
        pages, page_of = client.iter_shipments, client.list_shipments
        page = read_list(every, pages, page_of, order_id=order_id, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    table("shipments", page.data, SHIPMENT_WIDE if wide else SHIPMENT_COLUMNS)
    next_page(page.has_more, page.next_cursor)


@shipments.command("show")
@handled
def shipments_show(shipment_id: ShipmentId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One shipment, with its history."""
    with connect(profile) as client:
        shipment = client.get_shipment(shipment_id)
    if as_json:
        emit_json(shipment)
    else:
        fields(shipment)
