"""Orders: list (by state, channel, store, ship-by time, hold), show, events, carrier options, the receiver
(改址); ship one (in one or several parcels, or some of its lines), cancel, void."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import typer
from waybill_client.models import OrderOut, ParcelIn, Receiver, ShipmentOut, ShipRequest

from cli.api import CliError, ExitCode, connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import bold, emit_json, fields, line, next_page, read_list, say, table, timezone, yuan

orders = typer.Typer(
    help="The shop's orders: its own (channel own) and its marketplace stores' (taobao, pinduoduo).",
    no_args_is_help=True,
)
receiver = typer.Typer(help="An order's receiver: change it before the courier collects (改址).", no_args_is_help=True)
orders.add_typer(receiver, name="receiver")
OrderId = Annotated[str, typer.Argument(help="The order's id (ord_..., from `orders list`).")]
ShipmentId = Annotated[str, typer.Argument(help="The shipment's id (from `ship` or `shipments list`).")]
ORDER_COLUMNS = [
    *("id", "external_id", "channel", "status", "carrier", "number", "receiver", "payment", "ship_by", "held"),
    "created_at",
]
ORDER_WIDE = [*ORDER_COLUMNS, "store_id", "buyer_nick", "weight_g", "shipment_id", "updated_at", "shipped_at", "flags"]


def _order_row(o: OrderOut) -> dict[str, Any]:
    r = o.receiver
    return {**dict(o), "receiver": f"{r.name} {r.state}{r.city}{r.district}", "payment": yuan(o.payment_cents)}


def moment(value: str, option: str) -> datetime:
    """A time typed on the command line: ISO 8601 (2026-11-29T18:00+08:00, 2026-11-29 18:00); without its
    zone, in the zone times are shown in (--tz, the profile's)."""
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CliError(
            ExitCode.USAGE, "invalid_input", f"{option} {value!r}: a time such as 2026-11-29T18:00+08:00"
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone())


@orders.command("list")
@handled
def orders_list(
    status: Annotated[
        str | None,
        typer.Option(help="Only orders in this state (paid, partly_shipped, label_printed, shipped, cancelled...)."),
    ] = None,
    external_id: Annotated[
        str | None, typer.Option(help="The order's id in its channel (Taobao's tid, the shop's own id).")
    ] = None,
    channel: Annotated[
        Literal["own", "taobao", "pinduoduo"] | None,
        typer.Option(help="Only this channel's orders: own (created over the API), taobao, pinduoduo."),
    ] = None,
    store_id: Annotated[str | None, typer.Option("--store", help="Only this store's orders (sto_...).")] = None,
    ship_by_before: Annotated[
        str | None,
        typer.Option(help="Only orders due before this time (2026-11-29T18:00+08:00; no zone: the --tz one)."),
    ] = None,
    ship_by_after: Annotated[str | None, typer.Option(help="Only orders due at or after this time.")] = None,
    held: Annotated[
        bool | None,
        typer.Option("--held/--not-held", help="Only orders held (an invalid address), or only those not held."),
    ] = None,
    sort: Annotated[
        Literal["created_at", "ship_by"], typer.Option(help="created_at (oldest first) or ship_by (most urgent first).")
    ] = "created_at",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Orders per page.")] = 50,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Orders, oldest first (or by ship-by time), a page at a time."""
    before = moment(ship_by_before, "--ship-by-before") if ship_by_before else None
    after = moment(ship_by_after, "--ship-by-after") if ship_by_after else None
    with connect(profile) as client:
        page = read_list(
            every,
            client.iter_orders,
            client.list_orders,
            status=status,
            external_id=external_id,
            channel=channel,
            store_id=store_id,
            ship_by_before=before,
            ship_by_after=after,
            held=held,
            sort=None if sort == "created_at" else sort,
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
    """One order: its channel and store, receiver, items, ship-by time, hold and flags, its number and
    shipment."""
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


@receiver.command("update")
@handled
def receiver_update(
    order_id: OrderId,
    name: Annotated[str | None, typer.Option(help="The receiver's name.")] = None,
    phone: Annotated[str | None, typer.Option(help="A mobile, a landline with its area code, or 138...-1234.")] = None,
    province: Annotated[str | None, typer.Option(help="The province (省), e.g. 广东省.")] = None,
    city: Annotated[str | None, typer.Option(help="The city (市).")] = None,
    district: Annotated[str | None, typer.Option(help="The district or county (区/县).")] = None,
    address: Annotated[str | None, typer.Option(help="The street address.")] = None,
    zip_code: Annotated[str | None, typer.Option("--zip", help="The postcode.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Change an order's receiver: the options given replace those parts of the current one. It is checked as
    at intake (a hold for an invalid address is released when it passes); printed labels stay with their
    numbers and the courier is told (print them again); once collected, refused (already_collected)."""
    given = {"name": name, "phone": phone, "state": province, "city": city, "district": district}
    given |= {"address": address, "zip": zip_code}
    changes = {k: v.strip() for k, v in given.items() if v is not None}
    if not changes:
        raise CliError(ExitCode.USAGE, "invalid_input", "nothing to change: give at least one part of the receiver")
    with connect(profile) as client:
        current = client.get_order(order_id).receiver  # the API takes the receiver whole
        body = request(Receiver, **{**current.model_dump(), **changes})
        order = client.update_receiver(order_id, body)
    if as_json:
        emit_json(order)
        return
    r = order.receiver
    say(f"order {order.id}: receiver ", bold(f"{r.name} {r.phone} {r.state}{r.city}{r.district}{r.address}"))
    if order.held:
        # The checks' own words (Chinese, for the seller): what is still wrong.
        reasons = [f.get("message", "") for f in order.flags if f.get("kind") == order.held]
        line(f"still held ({order.held}): {reasons[-1] if reasons else 'see orders show'}")
    elif any(f.get("kind") == "label_outdated" for f in order.flags):
        line("the labels carry the old address: print them again (waybill label SHIPMENT_ID)")


def lines_of(values: list[str] | None, option: str) -> list[int]:
    """1-based line numbers typed as ``1,3`` (the option repeated adds more)."""
    found: list[int] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if not part.isdigit() or int(part) < 1:
                raise CliError(ExitCode.USAGE, "invalid_input", f"{option} {value!r}: line numbers such as 1,3")
            found.append(int(part))
    return found


def parcel_of(value: str) -> dict[str, Any]:
    """``--parcel 1200:1,2``: a box of 1,200 g holding lines 1 and 2 (``-`` for the weight: shared evenly)."""
    weight, _, lines = value.partition(":")
    weight = weight.strip()
    box: dict[str, Any] = {}
    if weight not in ("", "-"):
        if not weight.isdigit():
            raise CliError(ExitCode.USAGE, "invalid_input", f"--parcel {value!r}: WEIGHT_G[:LINES], e.g. 1200:1,2")
        box["weight_g"] = int(weight)
    if lines.strip():
        box["lines"] = lines_of([lines], "--parcel")
    return box


@handled
def ship(
    order_id: OrderId,
    carrier: Annotated[str | None, typer.Option(help="Recommended when absent.")] = None,
    number: Annotated[
        str | None, typer.Option(help="A number you typed (one parcel); from the pool when absent.")
    ] = None,
    parcels: Annotated[
        int | None, typer.Option("--parcels", min=1, max=50, help="Ship in N boxes (一单多包), each its own number.")
    ] = None,
    parcel: Annotated[
        list[str] | None,
        typer.Option(
            help="One box: WEIGHT_G[:LINES] (1200:1,2; -:3 for an even share of the weight); repeat for each box."
        ),
    ] = None,
    lines: Annotated[
        list[str] | None,
        typer.Option(help="Ship only these lines of the order (拆单), e.g. 1,3; the others ship later."),
    ] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Ship one order: numbers from the pool, the marketplace's confirmation and the labels (idempotent on the
    order). In several parcels with --parcels N or --parcel per box; some of its lines with --lines."""
    given: dict[str, Any] = {k: v for k, v in {"carrier": carrier, "number": number}.items() if v}
    if parcels is not None:
        given["parcel_count"] = parcels
    if parcel:
        given["parcels"] = [ParcelIn.model_validate(parcel_of(p)) for p in parcel]
    if lines:
        given["lines"] = lines_of(lines, "--lines")
    # The API's own checks of the request (its model's; the client's generated one does not hold them).
    if parcels is not None and parcel and parcels != len(parcel):
        raise CliError(ExitCode.USAGE, "invalid_input", "give --parcels or --parcel per box, not both")
    if number and max(parcels or 1, len(parcel or [])) > 1:
        raise CliError(ExitCode.USAGE, "invalid_input", "a typed number ships one parcel: leave --number out")
    body = request(ShipRequest, **given) if given else None
    with connect(profile) as client:
        shipment = client.ship_order(order_id, body)
    if as_json:
        emit_json(shipment)
        return
    shipment_line(shipment)


def shipment_line(s: ShipmentOut) -> None:
    """The shipment in a line, and its parcels under it when there are several."""
    error = f" ({s.error_code}: {s.error})" if s.error_code else ""
    count = f" ({s.parcel_count} parcels)" if s.parcel_count > 1 else ""
    say(f"order {s.order_id}: shipment ", bold(s.id), f" {s.carrier} ", bold(s.number), f"{count}, {s.status}{error}")
    live = [p for p in s.parcels or [] if p.status == "live"] if s.parcel_count > 1 else []
    for p in live:
        lines = f" lines {','.join(map(str, p.lines))}" if p.lines else ""
        weight = f" {p.weight_g} g" if p.weight_g is not None else ""
        say(f"  parcel {p.seq}/{s.parcel_count} ", bold(p.number), f"{weight}{lines}")


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
    """Cancel a shipment before the marketplace confirmed it (its printed number is voided, never reused).
    `waybill shipments void` voids a shipment's labels before collection, confirmed or not (回收单号)."""
    with connect(profile) as client:
        shipment = client.cancel_shipment(shipment_id)
    if as_json:
        emit_json(shipment)
    else:
        shipment_line(shipment)
