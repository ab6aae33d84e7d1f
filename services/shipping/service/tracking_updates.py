"""What tracking tells us about parcels: the order moves on when the state machine allows it (a late or
repeated status that would move it back is recorded and ignored), and the shop's systems are told."""

from __future__ import annotations

from runtime.db import UnitOfWork
from runtime.errors import NotFound
from services.shipping import parcels, states
from services.shipping.models import Order, WebhookEndpoint
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.tracking import TrackingRepository
from services.shipping.service.events import active_endpoints, emit
from services.shipping.service.held import release_held
from services.shipping.service.orders import transition
from shared.tracking import TrackingStatus, TrackingUpdate, TrackingUpdateOutcome, TrackingUpdateResult

ALERT_KINDS = ("alert_opened", "alert_resolved")
NOTE_MAX = 500


async def apply_tracking_updates(
    uow: UnitOfWork, shop_id: str, updates: list[TrackingUpdate]
) -> list[TrackingUpdateOutcome]:
    """A batch of one shop's updates in one transaction. Applied grouped by order, each order's own in the order
    given, so concurrent batches lock orders in one order (no deadlock); an unknown order is that update's
    ``not_found``, not the batch's."""
    endpoints = await active_endpoints(uow, shop_id)
    outcomes: dict[int, TrackingUpdateOutcome] = {}
    for i, update in sorted(enumerate(updates), key=lambda p: p[1].order_id):  # stable: per-order order kept
        try:
            result = await apply_tracking_update(uow, shop_id, update, endpoints=endpoints)
        except NotFound:
            outcomes[i] = TrackingUpdateOutcome(event_id=update.event_id, applied=False, error="not_found")
            continue
        outcomes[i] = TrackingUpdateOutcome(event_id=update.event_id, **result.model_dump())
    return [outcomes[i] for i in range(len(updates))]


async def _order_of(uow: UnitOfWork, shop_id: str, ref: str) -> Order:
    """The shop's order, named by our id or by its external id (tracking knows the one it was given)."""
    repo = OrderRepository(uow.session)
    order = await repo.get_owned(shop_id, ref, for_update=True)
    if order is None:
        order = await repo.by_external(shop_id, ref, for_update=True)
    if order is None:
        raise NotFound(f"order {ref} not found")
    return order


async def _parcel_update(uow: UnitOfWork, shop_id: str, order: Order, update: TrackingUpdate) -> TrackingStatus | None:
    """Record the status on its parcel, release a shipment held for this parcel's collection, and answer what the
    update means for the whole order (see ``parcels.order_status_from``). A number no parcel holds (tracking
    kept following one replaced since) is the order's as before."""
    repo = ParcelRepository(uow.session)
    parcel = await repo.live_by_number(shop_id, update.number, for_update=True)
    if parcel is None or parcel.order_id != order.id:
        # A number the order's parcels gave up (voided, changed): what happens to it says nothing of the order.
        return None if await repo.gave_up(order.id, update.number) else update.status
    if parcels.keeps(parcel.tracking_status, update.status):
        parcel.tracking_status = update.status.value
    if parcels.collected(update.status) and parcel.collected_at is None:
        parcel.collected_at = update.occurred_at
        await release_held(uow, parcel.shipment_id, f"parcel {parcel.number} collected ({update.status.value})")
    live = await repo.live_of_order(order.id)
    return parcels.order_status_from([p.tracking_status for p in live], update.status)


async def apply_tracking_update(
    uow: UnitOfWork, shop_id: str, update: TrackingUpdate, *, endpoints: list[WebhookEndpoint] | None = None
) -> TrackingUpdateResult:
    order = await _order_of(uow, shop_id, update.order_id)
    tracking = TrackingRepository(uow.session)
    if not await tracking.claim(update.event_id, order.id, update.status.value):
        return TrackingUpdateResult(applied=False, duplicate=True, order_status=order.status)
    data = {
        "order_id": order.id,
        "external_id": order.external_id,
        "carrier": update.carrier.value,
        "number": update.number,
        "status": update.status.value,
        "occurred_at": update.occurred_at.isoformat(),
        "description": update.description,
    }
    if update.kind in ALERT_KINDS and update.alert is not None:
        alert = update.alert.model_dump(mode="json")
        await emit(uow, shop_id, f"tracking.{update.kind}", {**data, "alert": alert}, endpoints=endpoints)
        return TrackingUpdateResult(applied=True, order_status=order.status)
    status = await _parcel_update(uow, shop_id, order, update)
    event = states.TRACKING_EVENTS.get(status) if status is not None else None
    applied = False
    if event is not None and states.can(order.status, event):
        note = f"tracking: {update.status.value} {update.description}"[:NOTE_MAX]
        transition(OrderRepository(uow.session), order, event, note)
        applied = True
        await tracking.set_applied(update.event_id, True)
        await emit(uow, shop_id, "tracking.status_changed", {**data, "order_status": order.status}, endpoints=endpoints)
    await uow.session.flush()
    return TrackingUpdateResult(applied=applied, order_status=order.status)
