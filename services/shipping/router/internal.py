"""Endpoints other services call with the internal key: tracking's updates, and events to send shops."""

from __future__ import annotations

from fastapi import APIRouter, status

from runtime.app import UowDep
from runtime.auth import InternalShopIdDep
from runtime.openapi import responses
from services.shipping.service import relayed_events
from services.shipping.service import tracking_updates as updates
from shared.purchase_events import EventReceipt, PurchaseEventType, RelayedEvent
from shared.tracking import (
    MAX_BATCH_TRACKING_UPDATES,
    TrackingUpdate,
    TrackingUpdateBatch,
    TrackingUpdateBatchResult,
    TrackingUpdateResult,
)

router = APIRouter(prefix="/internal/v1", tags=["internal"])


@router.post(
    "/tracking-updates",
    summary="Tracking tells shipping what happened to a parcel",
    description=(
        "Idempotent on `event_id`. Moves the order forward (in_transit, delivered, exception, returned) when the "
        "state machine allows it; a late or repeated status that would move it backwards is recorded and ignored "
        "(`applied: false`). The shop's webhook endpoints get the event."
    ),
    responses=responses(403, 404),
)
async def apply_tracking_update(body: TrackingUpdate, shop_id: InternalShopIdDep, uow: UowDep) -> TrackingUpdateResult:
    return await updates.apply_tracking_update(uow, shop_id, body)


@router.post(
    "/tracking-updates/batch",
    summary="Tracking tells shipping about many parcels of one shop at once",
    description=(
        f"Up to {MAX_BATCH_TRACKING_UPDATES} updates, applied in one transaction, each as "
        "`POST /internal/v1/tracking-updates` would apply it (idempotent on `event_id`, never backwards, the "
        "shop's webhook endpoints get the events). One result per update, in the order given; an update whose "
        "order this shop does not have gets `error: not_found` instead of failing the batch. The tracking "
        "worker sends its due notifications this way, one call per shop and round."
    ),
    responses=responses(403, 422),
)
async def apply_tracking_updates(
    body: TrackingUpdateBatch, shop_id: InternalShopIdDep, uow: UowDep
) -> TrackingUpdateBatchResult:
    return TrackingUpdateBatchResult(results=await updates.apply_tracking_updates(uow, shop_id, body.updates))


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Another service's event for the shop's webhooks",
    description=(
        "Allocation's purchase events ("
        + ", ".join(f"`{t.value}`" for t in PurchaseEventType)
        + ") are sent to the shop's webhook endpoints that want them, as shipping's own events are, with the "
        "event's own id (a relay repeated is delivered again with the same id: consumers deduplicate on it). "
        "Another type, or an event of another shop than X-Shop-Id's: 422. `deliveries`: the endpoints queued."
    ),
    responses=responses(403, 422),
)
async def receive_shop_event(body: RelayedEvent, shop_id: InternalShopIdDep, uow: UowDep) -> EventReceipt:
    return await relayed_events.receive_event(uow, shop_id, body)
