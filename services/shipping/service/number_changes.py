"""Changing a confirmed shipment's numbers (换单号: Taobao's ``taobao.logistics.consign.resend``, Pinduoduo's
``pdd.logistics.online.send`` with ``redelivery_type=2``): every parcel gets a new number from the pool, the
marketplace is told the new ones in place of the old, the old ones are voided (credited per the package's
policy) and tracking follows the new ones. The shop's own channel is told by the ``shipment.numbers_changed``
webhook.

Three steps, none holding a transaction across a call: read and check under the locks; allocate and tell the
channel; record under the locks again (a shipment that changed meanwhile gives the new numbers back). The new
numbers' allocation references come from the order's next parcel ordinals, which only the last step consumes:
a request that dies after telling the channel is retried with the same references, so it gets the same new
numbers and tells the channel the same thing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict
from runtime.service_client import ServiceError
from services.shipping import parcels, states
from services.shipping.channels.base import ChannelError, Refusal, StoreAccess
from services.shipping.channels.registry import Channels
from services.shipping.models import Order, ParcelStatus, Shipment, ShipmentStatus
from services.shipping.parcels import allocation_ref, line_count
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.resources import ShippingResources
from services.shipping.service.errors import channel_unavailable
from services.shipping.service.events import emit
from services.shipping.service.ids import new_id
from services.shipping.service.orders import flag, own_order
from services.shipping.service.shipments import own_shipment
from services.shipping.service.stores import access
from services.shipping.service.voids import not_collected
from services.shipping.states import OrderNote
from shared.allocation import MarkState
from shared.errors import ErrorCode


@dataclass(frozen=True)
class _Plan:
    shipment_id: str
    order_id: str
    tid: str
    channel: str
    store: StoreAccess | None
    carrier: str
    old: list[str]  # the live parcels' numbers, parcel 1 first
    refs: list[str]  # the new numbers' allocation references, in the same order
    ordinals: list[int]
    # A part of a split order: the channel's ids of its lines (None: the whole order), and whether it was the
    # order's first part confirmed (the one whose number is the marketplace's main one).
    lines: tuple[str, ...] | None = None
    first: bool = True


async def change_numbers(res: ShippingResources, shop_id: str, shipment_id: str, carrier: str | None) -> Shipment:
    plan = await _plan(res, shop_id, shipment_id, carrier)
    try:
        new = await _allocate(res, shop_id, plan)
    except ServiceError as exc:
        raise exc.as_app_error() from exc
    try:
        await _tell_channel(res, plan, new)
    except AppError:
        await _give_back(res, shop_id, plan, new)
        raise
    async with res.transaction() as uow:
        changed = await _record(uow, shop_id, plan, new)
    if changed is None:
        await _give_back(res, shop_id, plan, new)
        raise Conflict(
            f"shipment {shipment_id} changed while its numbers were being changed; look at it and try again",
            details={"shipment_id": shipment_id},
        )
    return changed


async def _plan(res: ShippingResources, shop_id: str, shipment_id: str, carrier: str | None) -> _Plan:
    async with res.transaction() as uow:
        found = await own_shipment(uow, shop_id, shipment_id)
        order = await own_order(uow, shop_id, found.order_id, for_update=True)
        shipment = await ShipmentRepository(uow.session).get(shipment_id, for_update=True)
        assert shipment is not None
        if shipment.status != ShipmentStatus.CONFIRMED:
            raise states.InvalidTransition(
                f"shipment {shipment.id} is {shipment.status}: only a confirmed shipment's numbers are changed "
                "(one not confirmed yet is voided and shipped again)",
                details={"shipment_id": shipment.id, "status": shipment.status},
            )
        boxes = await ParcelRepository(uow.session).live_of_shipment(shipment.id)
        not_collected(shipment, boxes)
        store = await StoreRepository(uow.session).get(order.store_id) if order.store_id else None
        lines, first = await _part(res, uow, order, shipment)
        ordinals = list(range(order.parcel_seq + 1, order.parcel_seq + 1 + len(boxes)))
        return _Plan(
            shipment_id=shipment.id,
            order_id=order.id,
            tid=order.external_id,
            channel=order.channel,
            store=access(store),
            carrier=carrier or shipment.carrier,
            old=[p.number for p in boxes],
            refs=[allocation_ref(order.external_id, o) for o in ordinals],
            ordinals=ordinals,
            lines=lines,
            first=first,
        )


async def _part(
    res: ShippingResources, uow: UnitOfWork, order: Order, shipment: Shipment
) -> tuple[tuple[str, ...] | None, bool]:
    """A split order's part: its lines as the channel names them (None for a whole order, or the own channel),
    and whether it is the order's first confirmed part (the earliest one)."""
    shipments = ShipmentRepository(uow.session)
    carried = await shipments.lines_of(shipment.id)
    if not carried or set(carried) >= set(range(1, line_count(order.items) + 1)) or Channels.is_own(order.channel):
        return None, True
    ids = res.channels.marketplace(order.channel).line_ids(order.items)
    lines = tuple(ids[line - 1] for line in carried if line <= len(ids))
    return lines, await shipments.first_confirmed(order.id) == shipment.id


async def _allocate(res: ShippingResources, shop_id: str, plan: _Plan) -> list[str]:
    if len(plan.refs) == 1:
        return [(await res.allocation.allocate(shop_id, plan.carrier, plan.refs[0])).number]
    got = await res.allocation.allocate_batch(shop_id, plan.carrier, plan.refs)
    by_ref = {a.order_id: a.number for a in got.allocations}
    return [by_ref[r] for r in plan.refs]


async def _tell_channel(res: ShippingResources, plan: _Plan, new: list[str]) -> None:
    if Channels.is_own(plan.channel):
        return  # the shop's systems are told by the webhook _record queues
    if plan.store is None:
        raise Conflict(
            "the order's store is unbound or holds no authorisation: bind it again (POST /v1/stores)",
            details={"shipment_id": plan.shipment_id},
        )
    channel = res.channels.marketplace(plan.channel)
    try:
        await channel.change_numbers(plan.store, plan.tid, new, plan.carrier, lines=plan.lines, first=plan.first)
    except ChannelError as exc:
        if exc.refusal is Refusal.RETRY:
            raise channel_unavailable("changing the numbers", exc) from exc
        raise AppError(
            f"{plan.channel} refused the new numbers: {exc.code}: {exc.message}",
            code=ErrorCode.CONFLICT,
            status_code=409,
            details={"shipment_id": plan.shipment_id, "channel_code": exc.code},
        ) from exc


async def _give_back(res: ShippingResources, shop_id: str, plan: _Plan, new: list[str]) -> None:
    """New numbers that will not be used: back to the pool (no label was made with them)."""
    async with res.transaction() as uow:
        for number, ref in zip(new, plan.refs, strict=True):
            uow.enqueue("release_number", shop_id=shop_id, number=number, order_ref=ref, void=False)


async def _record(uow: UnitOfWork, shop_id: str, plan: _Plan, new: list[str]) -> Shipment | None:
    order = await own_order(uow, shop_id, plan.order_id, for_update=True)
    shipment = await ShipmentRepository(uow.session).get(plan.shipment_id, for_update=True)
    assert shipment is not None
    repo = ParcelRepository(uow.session)
    boxes = await repo.live_of_shipment(shipment.id, for_update=True)
    if shipment.status != ShipmentStatus.CONFIRMED or [p.number for p in boxes] != plan.old:
        return None
    now = datetime.now(UTC).isoformat()
    parent = new[0] if parcels.parent_child(plan.carrier, len(new)) else None
    successors: list[dict[str, Any]] = []
    for parcel, number, ordinal in zip(boxes, new, plan.ordinals, strict=True):
        uow.enqueue(
            "release_number",
            shop_id=shop_id,
            number=parcel.number,
            order_ref=allocation_ref(order.external_id, parcel.ordinal),
            void=True,  # its label exists: voided, never used again
        )
        parcel.status = ParcelStatus.VOIDED
        successors.append(
            {
                "id": new_id("pcl"),
                "shop_id": shop_id,
                "order_id": order.id,
                "shipment_id": shipment.id,
                "seq": parcel.seq,
                "ordinal": ordinal,
                "carrier": plan.carrier,
                "number": number,
                "parent_number": parent if parcel.seq > 1 else None,
                "weight_g": parcel.weight_g,
                "lines": list(parcel.lines),
            }
        )
        uow.enqueue(
            "mark_number",
            shop_id=shop_id,
            number=number,
            status=MarkState.SHIPPED.value,
            order_ref=allocation_ref(order.external_id, ordinal),
            store_id=order.store_id,
            channel=order.channel,
        )
    await uow.session.flush()  # the old parcels give their places up before their successors take them
    await repo.insert_many(successors)
    shipment.history = [
        *shipment.history,
        *({"number": n, "event": "changed (voided)", "at": now} for n in plan.old),
        *({"number": n, "event": "assigned", "at": now} for n in new),
    ]
    shipment.number, shipment.carrier, shipment.label_prints = new[0], plan.carrier, 0
    order.parcel_seq = max(order.parcel_seq, *plan.ordinals)
    if order.shipment_id == shipment.id:
        order.number, order.carrier = new[0], plan.carrier
    orders = OrderRepository(uow.session)
    orders.add_event(states.noted(order, OrderNote.NUMBERS_CHANGED, f"{', '.join(plan.old)} -> {', '.join(new)}"))
    flag(order, "label_outdated", f"numbers changed to {', '.join(new)}: print the new labels")
    uow.enqueue("subscribe_tracking_many", shipment_ids=[shipment.id])
    uow.enqueue("route_parcels", shop_id=shop_id, shipment_ids=[shipment.id])  # the new numbers' sort codes
    data = {
        "shipment_id": shipment.id,
        "order_id": order.id,
        "external_id": order.external_id,
        "carrier": plan.carrier,
        "old_numbers": plan.old,
        "numbers": new,
    }
    await emit(uow, shop_id, "shipment.numbers_changed", data)
    await uow.session.flush()
    return shipment
