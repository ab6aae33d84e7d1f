"""Voiding a shipment's labels before the courier collects them (回收单号): every number is voided (the
courier told, the shop credited per the package's policy: allocation's side) and never used again, and the
order can ship again.

A shipment not yet confirmed is simply voided. A confirmed one is voided when its channel can take the
confirmation back: the shop's own channel is told by the ``shipment.voided`` webhook. A marketplace cannot
(neither Taobao nor Pinduoduo has a call to undo a shipment): the void is refused with ``cannot_withdraw``
and the way out, changing the numbers (``number_changes``), which voids the old ones. A parcel the courier
has collected is never voided (``already_collected``): the void and the collection lock the order in the
same order, so exactly one of them wins.
"""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.db import UnitOfWork
from runtime.errors import Conflict
from services.shipping import states
from services.shipping.channels.registry import Channels
from services.shipping.metrics import SHIPMENTS
from services.shipping.models import ItemStatus, Order, Parcel, ParcelStatus, Shipment, ShipmentStatus
from services.shipping.parcels import allocation_ref
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.service.events import emit
from services.shipping.service.orders import own_order, transition
from services.shipping.service.shipments import own_shipment
from services.shipping.states import OrderEvent, OrderNote, OrderStatus
from shared.errors import ErrorCode

VOIDABLE = (ShipmentStatus.PENDING, ShipmentStatus.HELD, ShipmentStatus.CONFIRMED)
WITHDRAW_HINT = (
    "平台无法撤回已确认的发货：请改用换单号（POST /v1/shipments/{id}/change-numbers，旧单号作废并按套餐规则退款）"
)


def not_collected(shipment: Shipment, boxes: list[Parcel]) -> None:
    """Refuse (409 already_collected) when the courier has collected any of the parcels."""
    collected = [p.number for p in boxes if p.collected_at is not None]
    if collected:
        raise Conflict(
            f"the courier has collected {', '.join(collected)}: shipment {shipment.id} can no longer be changed",
            code=ErrorCode.ALREADY_COLLECTED,
            details={"shipment_id": shipment.id, "collected": collected},
        )


async def void_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str, reason: str) -> Shipment:
    found = await own_shipment(uow, shop_id, shipment_id)
    # The order first, as every writer of a shipment locks them (tracking's collection included).
    order = await own_order(uow, shop_id, found.order_id, for_update=True)
    shipment = await ShipmentRepository(uow.session).get(shipment_id, for_update=True)
    assert shipment is not None
    if shipment.status == ShipmentStatus.VOIDED:
        return shipment  # voided already: asking again changes nothing
    if shipment.status == ShipmentStatus.CONFIRMING:
        raise states.InvalidTransition(
            f"shipment {shipment.id} is being confirmed on the marketplace right now; try again in a moment",
            details={"shipment_id": shipment.id, "status": shipment.status},
        )
    if shipment.status not in VOIDABLE:
        raise states.InvalidTransition(
            f"shipment {shipment.id} is {shipment.status}: its numbers went back already",
            details={"shipment_id": shipment.id, "status": shipment.status},
        )
    repo = ParcelRepository(uow.session)
    boxes = await repo.live_of_shipment(shipment.id, for_update=True)
    not_collected(shipment, boxes)
    confirmed = shipment.status == ShipmentStatus.CONFIRMED
    if confirmed and not Channels.is_own(order.channel):
        raise Conflict(
            f"shipment {shipment.id} is confirmed on {order.channel}, which cannot take a confirmation back. "
            + WITHDRAW_HINT.format(id=shipment.id),
            code=ErrorCode.CANNOT_WITHDRAW,
            details={"shipment_id": shipment.id, "channel": order.channel, "change_numbers": True},
        )
    await _void(uow, order, shipment, boxes, reason)
    data = {
        "shipment_id": shipment.id,
        "order_id": order.id,
        "external_id": order.external_id,
        "carrier": shipment.carrier,
        "numbers": [p.number for p in boxes],
        "was_confirmed": confirmed,
        "reason": reason,
    }
    await emit(uow, shop_id, "shipment.voided", data)
    await uow.session.flush()
    return shipment


async def _void(uow: UnitOfWork, order: Order, shipment: Shipment, boxes: list[Parcel], reason: str) -> None:
    shipment.status, shipment.voided_at, shipment.error = ShipmentStatus.VOIDED, datetime.now(UTC), reason
    shipment.lease_until = None
    for parcel in boxes:
        parcel.status = ParcelStatus.VOIDED
        uow.enqueue(
            "release_number",
            shop_id=shipment.shop_id,
            number=parcel.number,
            order_ref=allocation_ref(order.external_id, parcel.ordinal),
            void=True,
        )
    SHIPMENTS.labels(shipment.carrier, "voided").inc()
    await BatchRepository(uow.session).finish_items_for_shipments([shipment.id], ItemStatus.FAILED, f"voided: {reason}")
    await ShipmentRepository(uow.session).free_lines([shipment.id])
    orders = OrderRepository(uow.session)
    if order.status == OrderStatus.PARTLY_SHIPPED:
        # A later part of a split order: the parts confirmed before stay shipped.
        orders.add_event(states.noted(order, OrderNote.PART_ENDED, f"{shipment.id} voided: {reason}"))
    elif order.shipment_id == shipment.id:
        transition(orders, order, OrderEvent.VOID_SHIPMENT, f"voided: {reason}")
        order.carrier = None
    if order.shipment_id == shipment.id:
        order.number, order.shipment_id = None, None
