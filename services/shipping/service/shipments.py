"""Shipping one order (a number from the pool or typed by the seller, the label at once, the marketplace
confirmation queued) and reading a shop's shipments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from runtime.apis.allocation import AllocationApi
from runtime.db import UnitOfWork
from runtime.errors import Conflict, NotFound
from runtime.pagination import PageRequest
from runtime.service_client import ServiceError
from services.shipping import parcels, states
from services.shipping.channels.registry import Channels
from services.shipping.metrics import SHIPMENTS
from services.shipping.models import ConfirmMode, Order, Parcel, Shipment, ShipmentStatus, ShopSettings
from services.shipping.parcels import ParcelSpec, PlannedParcel
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.schemas.shipments import ParcelOut, ShipmentOut
from services.shipping.service import order_holds, routing
from services.shipping.service.courier_choice import recommend
from services.shipping.service.ids import new_id
from services.shipping.service.orders import own_order, transition
from services.shipping.service.stores import access
from services.shipping.states import OrderEvent, OrderNote, OrderStatus
from shared.pages import Page


async def ship_order(
    uow: UnitOfWork,
    allocation: AllocationApi,
    shop_id: str,
    order_id: str,
    carrier: str | None,
    number: str | None,
    wanted: Sequence[ParcelSpec] = (ParcelSpec(),),
    lines: Sequence[int] | None = None,
) -> Shipment:
    """Ship the order (or only ``lines`` of it: a split order, 拆单) in ``wanted`` parcels: every parcel's number
    in one allocation call, the labels ready at once, the marketplace confirmation queued (or held until
    collection, per the store's or shop's mode). A partly shipped order ships its remaining lines without moving."""
    order = await own_order(uow, shop_id, order_id, for_update=True)
    order_holds.ensure_shippable(order)  # held for its address: 409 address_invalid, before any number is taken
    later_part = order.status == OrderStatus.PARTLY_SHIPPED
    # Checked before any outside call: a second concurrent request waits for the lock, then stops here.
    if not later_part:
        states.next_status(order.status, OrderEvent.ASSIGN_WAYBILL, order_id=order.id)
    carried = await shipment_lines(uow, order, lines)
    await check_store(uow, order)
    shop = await SettingsRepository(uow.session).get(shop_id)
    # A number kept from a refused shipment (its label printed) is used again, with its carrier.
    chosen = carrier or order.carrier or await recommend(allocation, shop_id, shop, order.receiver_state)
    drop_kept_number(uow, order, chosen, typed=number is not None)
    source = "manual" if number is not None else "pool"
    live = await ParcelRepository(uow.session).live_of_order(order.id)
    planned = parcels.plan(
        order.external_id,
        order.weight_g,
        order.items,
        wanted,
        next_ordinal=order.parcel_seq + 1,
        first_is_order_ref=not any(p.ordinal == 1 for p in live),
    )
    parcels.check_parcel_lines(wanted, carried)
    try:
        numbers = await _numbers(allocation, shop_id, chosen, planned, number)
    except ServiceError as exc:
        raise exc.as_app_error() from exc
    # The courier's sort codes for the labels, at once (never holding the shipment up: see routing).
    routed = await routing.on_ship(allocation, shop_id, order, numbers)
    mode = await confirm_mode(uow, order, shop)
    now = datetime.now(UTC)
    shipment = Shipment(
        id=new_id("shp"),
        shop_id=shop_id,
        order_id=order.id,
        carrier=chosen,
        number=numbers[0],
        number_source=source,
        status=ShipmentStatus.HELD if mode is ConfirmMode.AT_COLLECTION else ShipmentStatus.PENDING,
        confirm_mode=mode.value,
        confirm_due_at=confirm_due(shop, now) if mode is ConfirmMode.AT_COLLECTION else None,
        attempts=0,
        reallocations=0,
        history=[{"number": n, "event": "assigned", "at": now.isoformat()} for n in numbers],
        label_prints=0,
        parcel_count=len(planned),
    )
    uow.session.add(shipment)
    await uow.session.flush()
    await ParcelRepository(uow.session).insert_many(parcel_rows(shipment, planned, numbers, routed))
    await ShipmentRepository(uow.session).claim_lines(
        [{"shipment_id": shipment.id, "order_id": order.id, "line": line} for line in carried]
    )
    order.parcel_seq = max(order.parcel_seq, *(p.ordinal for p in planned))
    SHIPMENTS.labels(chosen, "created").inc()
    orders = OrderRepository(uow.session)
    listed = ", ".join(numbers)
    if later_part:
        part = f"lines {', '.join(map(str, carried))}: {chosen} {listed} ({source})"
        orders.add_event(states.noted(order, OrderNote.PART_SHIPPING, part))
    else:
        transition(orders, order, OrderEvent.ASSIGN_WAYBILL, f"{chosen} {listed} ({source})")
        transition(orders, order, OrderEvent.PRINT_LABEL)
    order.carrier, order.number, order.shipment_id = chosen, numbers[0], shipment.id
    await uow.session.flush()
    if mode is ConfirmMode.AT_COLLECTION:
        # Tracking follows the parcels from now: their collection is what releases the confirmation.
        uow.enqueue("subscribe_tracking_many", shipment_ids=[shipment.id])
    else:
        uow.enqueue("confirm_shipment", shipment_id=shipment.id)
    if routed.again:
        uow.enqueue("route_parcels", shop_id=shop_id, shipment_ids=[shipment.id])
    return shipment


async def shipment_lines(uow: UnitOfWork, order: Order, wanted: Sequence[int] | None) -> list[int]:
    """The lines this shipment carries: those asked for, or every line not on a live shipment yet. A line out of
    range is refused (422); one already shipping or shipped (409 conflict) too."""
    every = set(range(1, parcels.line_count(order.items) + 1))
    taken = await ShipmentRepository(uow.session).live_lines(order.id)
    if wanted is None:
        carried = sorted(every - taken)
    else:
        carried = sorted(set(wanted))
        unknown = [line for line in carried if line not in every]
        if unknown:
            raise parcels.BadParcels(
                f"the order has lines 1 to {len(every)}; no line {unknown[0]}",
                details={"lines": unknown, "order_lines": len(every)},
            )
    busy = sorted(set(carried) & taken)
    if busy or not carried:
        raise Conflict(
            f"order {order.id}: lines {', '.join(map(str, busy))} are shipping or shipped already"
            if busy
            else f"order {order.id}: every line is shipping or shipped already",
            details={"order_id": order.id, "lines": busy},
        )
    return carried


def parcel_rows(
    shipment: Shipment,
    planned: Sequence[PlannedParcel],
    numbers: Sequence[str],
    routed: routing.Routed | None = None,
) -> list[dict[str, Any]]:
    parent = numbers[0] if parcels.parent_child(shipment.carrier, len(planned)) else None
    routed = routed or routing.Routed()
    return [
        {
            "id": new_id("pcl"),
            "shop_id": shipment.shop_id,
            "order_id": shipment.order_id,
            "shipment_id": shipment.id,
            "seq": p.seq,
            "ordinal": p.ordinal,
            "carrier": shipment.carrier,
            "number": n,
            "parent_number": parent if p.seq > 1 else None,
            "weight_g": p.weight_g,
            "lines": p.lines,
            **routed.of(n),
        }
        for p, n in zip(planned, numbers, strict=True)
    ]


async def confirm_mode(uow: UnitOfWork, order: Order, shop: ShopSettings | None) -> ConfirmMode:
    """The store's confirmation mode when it sets one, else the shop's (at print by default)."""
    if order.store_id is not None:
        store = await StoreRepository(uow.session).get(order.store_id)
        if store is not None and store.confirm_mode:
            return ConfirmMode(store.confirm_mode)
    return ConfirmMode(shop.confirm_mode) if shop is not None and shop.confirm_mode else ConfirmMode.AT_PRINT


def confirm_due(shop: ShopSettings | None, now: datetime) -> datetime | None:
    """The next time of day the shop confirms held shipments at the latest (in its time zone), if it set one."""
    if shop is None or not shop.confirm_time:
        return None
    hour, minute = (int(part) for part in shop.confirm_time.split(":"))
    local = now.astimezone(ZoneInfo(shop.time_zone or "Asia/Shanghai"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    return due.astimezone(UTC)


async def check_store(uow: UnitOfWork, order: Order) -> None:
    """A marketplace order ships only while its store can confirm it (bound, with its authorisation); the
    shop's own orders need no marketplace at all."""
    if Channels.is_own(order.channel):
        return
    store = await StoreRepository(uow.session).get(order.store_id) if order.store_id else None
    if access(store) is None:
        raise Conflict(
            f"the order's {order.channel} store is unbound or holds no authorisation: bind it again (POST /v1/stores)",
            details={"order_id": order.id, "store_id": order.store_id, "channel": order.channel},
        )


def drop_kept_number(uow: UnitOfWork, order: Order, carrier: str, *, typed: bool) -> None:
    """A number the order kept from a refused shipment (printed, see shipment_outcomes.finish_failed) is given
    up when the order now ships with another carrier or a typed number: voided, since its label exists."""
    if order.number is None or order.shipment_id is not None:
        return
    if carrier == order.carrier and not typed:
        return  # allocation hands the order the same number again
    uow.enqueue("release_number", shop_id=order.shop_id, number=order.number, order_ref=order.external_id, void=True)
    order.number, order.carrier = None, None


async def _numbers(
    allocation: AllocationApi, shop_id: str, carrier: str, planned: Sequence[PlannedParcel], typed: str | None
) -> list[str]:
    """The seller's typed number registered (allocation checks it), or every parcel's next number from the
    shop's pool in one call (all or none: a pool that cannot fill them all answers pool_exhausted)."""
    if typed is not None:
        return [(await allocation.register_manual(shop_id, carrier, typed, planned[0].ref)).number]
    if len(planned) == 1:
        return [(await allocation.allocate(shop_id, carrier, planned[0].ref)).number]
    got = await allocation.allocate_batch(shop_id, carrier, [p.ref for p in planned])
    by_ref = {a.order_id: a.number for a in got.allocations}
    return [by_ref[p.ref] for p in planned]


async def own_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str) -> Shipment:
    shipment = await ShipmentRepository(uow.session).get_owned(shop_id, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} not found")
    return shipment


def shipment_out(shipment: Shipment, boxes: Sequence[Parcel]) -> ShipmentOut:
    out = ShipmentOut.model_validate(shipment)
    out.parcels = [ParcelOut.model_validate(p) for p in boxes]
    return out


async def shipment_view(uow: UnitOfWork, shipment: Shipment) -> ShipmentOut:
    return shipment_out(shipment, await ParcelRepository(uow.session).of_shipment(shipment.id))


async def get_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str) -> ShipmentOut:
    return await shipment_view(uow, await own_shipment(uow, shop_id, shipment_id))


async def recent_shipments(uow: UnitOfWork, shop_id: str, order_id: str | None, page: PageRequest) -> Page[ShipmentOut]:
    found = await ShipmentRepository(uow.session).recent(shop_id, order_id, page)
    boxes = await ParcelRepository(uow.session).of_shipments([s.id for s in found.rows])
    return found.page(lambda s: shipment_out(s, boxes.get(s.id, [])))


async def stuck_shipments(uow: UnitOfWork, idle_s: float, limit: int = 1000) -> list[str]:
    """Unconfirmed shipments nobody has touched for ``idle_s``: their confirmation job was lost."""
    return await ShipmentRepository(uow.session).stuck(idle_s, limit)
