"""Endpoints other services call with the internal key: tracking's updates."""

from __future__ import annotations

from fastapi import APIRouter

from runtime.app import UowDep
from runtime.auth import InternalShopIdDep
from runtime.openapi import responses
from services.shipping.service import tracking_updates as updates
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
