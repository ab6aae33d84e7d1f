"""Shipments: list, show (every parcel with its number, state and tracking), void before collection
(回收单号), change a confirmed shipment's numbers (换单号)."""

from __future__ import annotations

from typing import Annotated

import typer
from waybill_client.models import ChangeNumbersRequest, ShipmentOut, VoidRequest

from cli.api import connect, handled, request
from cli.commands.orders import ShipmentId, shipment_line
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import emit_json, fields, line, next_page, read_list, table, when

shipments = typer.Typer(
    help="Shipments: an order's parcels with their numbers and labels; void them, change their numbers.",
    no_args_is_help=True,
)
SHIPMENT_COLUMNS = ["id", "order_id", "carrier", "number", "parcel_count", "status", "created_at", "error"]
SHIPMENT_WIDE = [
    *SHIPMENT_COLUMNS,
    *("number_source", "confirm_mode", "attempts", "reallocations", "batch_id", "label_prints", "voided_at"),
]
PARCEL_COLUMNS = ["seq", "number", "parent_number", "weight_g", "lines", "status", "tracking_status", "collected_at"]
PARCEL_WIDE = [*PARCEL_COLUMNS, "label_prints", "id"]


def _show(s: ShipmentOut, wide: bool = False) -> None:
    """The shipment's fields, then its parcels as a table (voided and released ones too: their numbers went)."""
    fields({k: v for k, v in dict(s).items() if k != "parcels"})
    if s.parcels:
        rows = [{**dict(p), "lines": ",".join(map(str, p.lines))} for p in s.parcels]
        table(f"parcels of {s.id}", rows, PARCEL_WIDE if wide else PARCEL_COLUMNS)


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
def shipments_show(
    shipment_id: ShipmentId, wide: Wide = False, profile: Profile = None, as_json: JsonOut = False
) -> None:
    """One shipment, with its history and every parcel: its number, state, tracking and collection."""
    with connect(profile) as client:
        shipment = client.get_shipment(shipment_id)
    if as_json:
        emit_json(shipment)
    else:
        _show(shipment, wide)


@shipments.command("void")
@handled
def shipments_void(
    shipment_id: ShipmentId,
    reason: Annotated[str | None, typer.Option(help="Why (kept on the shipment and its event).")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Void a shipment's labels before the courier collects them (回收单号): every parcel's number is voided
    (the shop credited per its package's policy) and the order can ship again. Confirmed on Taobao or
    Pinduoduo, which cannot take a confirmation back: refused (cannot_withdraw), change the numbers instead;
    a parcel collected: refused (already_collected)."""
    body = request(VoidRequest, reason=reason) if reason else None
    with connect(profile) as client:
        shipment = client.void_shipment(shipment_id, body)
    if as_json:
        emit_json(shipment)
        return
    shipment_line(shipment)
    voided = [p.number for p in shipment.parcels or [] if p.status == "voided"] or [shipment.number]
    line(f"voided {when(shipment.voided_at)}: {', '.join(voided)}; the order can ship again")


@shipments.command("change-numbers")
@handled
def shipments_change_numbers(
    shipment_id: ShipmentId,
    carrier: Annotated[
        str | None, typer.Option(help="Ship with this carrier instead; the shipment's own when absent.")
    ] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Give a confirmed shipment's parcels new numbers (换单号): the marketplace is told them in place of the old
    ones, which are voided; print the new labels. Before collection only (already_collected)."""
    body = request(ChangeNumbersRequest, carrier=carrier) if carrier else None
    with connect(profile) as client:
        before = client.get_shipment(shipment_id)
        after = client.change_numbers(shipment_id, body)
    if as_json:
        emit_json(after)
        return
    old = [p.number for p in before.parcels or [] if p.status == "live"] or [before.number]
    new = [p.number for p in after.parcels or [] if p.status == "live"] or [after.number]
    shipment_line(after)
    line(f"numbers changed: {', '.join(old)} -> {', '.join(new)}; print the new labels (waybill label {after.id})")
