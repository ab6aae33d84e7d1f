"""Cancelling an order, or only its shipment, before the marketplace has confirmed it: the order is
cancelled (or back to paid) and its number goes back to allocation (voided when a label may exist)."""

from __future__ import annotations

from runtime.db import UnitOfWork
from runtime.errors import NotFound
from services.shipping import states
from services.shipping.metrics import BATCH_ORDERS, SHIPMENTS
from services.shipping.models import ItemStatus, Order, Shipment, ShipmentStatus
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.schemas.orders import OrderOut
from services.shipping.service.orders import order_out, own_order, transition
from services.shipping.service.shipment_outcomes import label_printed, release_other_parcels
from services.shipping.states import OrderEvent, OrderNote, OrderStatus

CANCELLABLE_SHIPMENT = (ShipmentStatus.PENDING, ShipmentStatus.CONFIRMING, ShipmentStatus.HELD)


async def cancel_order(uow: UnitOfWork, shop_id: str, order_id: str, reason: str) -> OrderOut:
    order = await own_order(uow, shop_id, order_id, for_update=True)
    await cancel_unshipped(uow, order, OrderEvent.CANCEL, reason)
    return order_out(order)


async def cancel_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str) -> Shipment:
    shipment = await ShipmentRepository(uow.session).get_owned(shop_id, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} not found")
    order = await own_order(uow, shop_id, shipment.order_id, for_update=True)
    if order.status == OrderStatus.PARTLY_SHIPPED and shipment.status in CANCELLABLE_SHIPMENT:
        await _cancel_part(uow, order, shipment)
        return shipment
    if order.shipment_id != shipment.id or shipment.status not in CANCELLABLE_SHIPMENT:
        raise states.InvalidTransition(
            f"shipment {shipment.id} is {shipment.status}; only a shipment not yet confirmed can be cancelled",
            details={"shipment_id": shipment.id, "status": shipment.status},
        )
    await cancel_unshipped(uow, order, OrderEvent.CANCEL_SHIPMENT, "shipment cancelled by the shop")
    refreshed = await ShipmentRepository(uow.session).get(shipment_id)
    assert refreshed is not None
    return refreshed


async def _cancel_part(uow: UnitOfWork, order: Order, shipment: Shipment) -> None:
    """A later part of a split order cancelled: its numbers and lines given back, the order stays partly shipped."""
    locked = await ShipmentRepository(uow.session).get(shipment.id, for_update=True)
    assert locked is not None
    await _cancel_pending_shipment(uow, order, locked, "shipment cancelled by the shop")
    printed = await label_printed(uow, locked)
    await release_other_parcels(uow, locked, order, printed=printed, keep_main=False)
    OrderRepository(uow.session).add_event(states.noted(order, OrderNote.PART_ENDED, f"{locked.id} cancelled"))
    if order.shipment_id == locked.id:
        order.shipment_id, order.number = None, None
    await uow.session.flush()


async def cancel_unshipped(uow: UnitOfWork, order: Order, event: OrderEvent, reason: str) -> None:
    """Cancel the order (or only its shipment) before confirmation; the number goes back (voided if printed).
    A confirmation in flight refuses it (invalid_transition): the marketplace answers that one first."""
    states.next_status(order.status, event, order_id=order.id)
    shipment = None
    if order.shipment_id is not None:
        shipment = await ShipmentRepository(uow.session).get(order.shipment_id, for_update=True)
        if shipment is not None:
            await _cancel_pending_shipment(uow, order, shipment, reason)
    printed = await label_printed(uow, shipment) if shipment is not None else True
    if shipment is not None and shipment.status == ShipmentStatus.CANCELLED:
        await release_other_parcels(uow, shipment, order, printed=printed)
    if order.number is not None:
        # Voided when a label with it may exist (a number kept from a refused shipment had its label printed);
        # else back to the pool.
        uow.enqueue(
            "release_number",
            shop_id=order.shop_id,
            number=order.number,
            order_ref=order.external_id,
            void=printed,
        )
    transition(OrderRepository(uow.session), order, event, reason)
    order.number = None
    order.carrier = None
    order.shipment_id = None
    await uow.session.flush()


async def _cancel_pending_shipment(uow: UnitOfWork, order: Order, shipment: Shipment, reason: str) -> None:
    if shipment.status == ShipmentStatus.CONFIRMING:
        raise states.InvalidTransition(
            f"order {order.id} is being confirmed on the marketplace right now; try again in a moment",
            details={"order_id": order.id, "shipment_id": shipment.id, "status": ShipmentStatus.CONFIRMING.value},
        )
    if shipment.status not in (ShipmentStatus.PENDING, ShipmentStatus.HELD):
        return
    shipment.status = ShipmentStatus.CANCELLED
    shipment.error = reason
    SHIPMENTS.labels(shipment.carrier, "cancelled").inc()
    if shipment.batch_id:
        BATCH_ORDERS.labels(ItemStatus.FAILED.value).inc()
    await BatchRepository(uow.session).finish_items_for_shipments(
        [shipment.id], ItemStatus.FAILED, f"cancelled: {reason}"
    )
