"""Shipments held until collection (confirmation mode ``at_collection``): the label is made and its numbers
held; the marketplace is told once a parcel is collected (tracking says so) or at the shop's confirmation
time of day, whichever comes first. One still held when its order's ship-by time passes raises an alert and
stays held: it is never confirmed without a collection or the shop's own time. A held shipment is released
once: the row lock and the status check make a collection and the confirmation-time sweep racing each other
queue one confirmation."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.db import UnitOfWork
from services.shipping.models import AlertKind, ShipmentStatus
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.service.order_alerts import open_alert, resolve_alerts


async def release_held(uow: UnitOfWork, shipment_id: str, why: str) -> bool:
    """A held shipment becomes pending and its confirmation is queued (after commit); False when it was not
    held (released already, voided, cancelled)."""
    shipment = await ShipmentRepository(uow.session).get(shipment_id, for_update=True)
    if shipment is None or shipment.status != ShipmentStatus.HELD:
        return False
    shipment.status = ShipmentStatus.PENDING
    shipment.history = [*shipment.history, {"event": f"released: {why}", "at": datetime.now(UTC).isoformat()}]
    uow.enqueue("confirm_shipment", shipment_id=shipment.id)
    await resolve_alerts(uow, shipment.order_id, [AlertKind.NOT_COLLECTED_BY_SHIP_BY])
    return True


async def alert_uncollected(uow: UnitOfWork, limit: int = 500) -> int:
    """Held shipments whose order's ship-by time passed before any parcel was collected: a
    ``not_collected_by_ship_by`` alert each (once), and they stay held: nothing is confirmed silently."""
    opened = 0
    for shipment, order in await ShipmentRepository(uow.session).held_past_ship_by(limit):
        message = f"订单 {order.external_id} 已打单（{shipment.carrier} {shipment.number}），但到发货截止时间仍未揽收"
        opened += await open_alert(uow, order, AlertKind.NOT_COLLECTED_BY_SHIP_BY, message) is not None
    return opened


async def release_due(uow: UnitOfWork, limit: int = 500) -> int:
    """Held shipments whose confirmation time has come: released (the sweep's work, one page at a time)."""
    released = 0
    for shipment_id in await ShipmentRepository(uow.session).held_due(limit):
        released += await release_held(uow, shipment_id, "the shop's confirmation time")
    return released
