"""Shipments held until collection (confirmation mode ``at_collection``): the label is made and its numbers
held; the marketplace is told once a parcel is collected (tracking says so) or at the shop's confirmation
time of day, whichever comes first. A held shipment is released once: the row lock and the status check make
a collection and the confirmation-time sweep racing each other queue one confirmation."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.db import UnitOfWork
from services.shipping.models import ShipmentStatus
from services.shipping.repository.shipments import ShipmentRepository


async def release_held(uow: UnitOfWork, shipment_id: str, why: str) -> bool:
    """A held shipment becomes pending and its confirmation is queued (after commit); False when it was not
    held (released already, voided, cancelled)."""
    shipment = await ShipmentRepository(uow.session).get(shipment_id, for_update=True)
    if shipment is None or shipment.status != ShipmentStatus.HELD:
        return False
    shipment.status = ShipmentStatus.PENDING
    shipment.history = [*shipment.history, {"event": f"released: {why}", "at": datetime.now(UTC).isoformat()}]
    uow.enqueue("confirm_shipment", shipment_id=shipment.id)
    return True


async def release_due(uow: UnitOfWork, limit: int = 500) -> int:
    """Held shipments whose confirmation time has come: released (the sweep's work, one page at a time)."""
    released = 0
    for shipment_id in await ShipmentRepository(uow.session).held_due(limit):
        released += await release_held(uow, shipment_id, "the shop's confirmation time")
    return released
