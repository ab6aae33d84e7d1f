"""Shipping's handoff of confirmed shipments to follow."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from runtime.app import UowDep
from runtime.auth import InternalShopIdDep
from runtime.openapi import responses
from services.tracking.service import subscriptions
from shared.tracking import SubscriptionBatch, SubscriptionBatchResult, SubscriptionInfo, SubscriptionRequest

router = APIRouter(prefix="/internal/v1", tags=["internal"])


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    summary="Follow a confirmed shipment",
    description=(
        "Shipping calls this after confirming a shipment. Idempotent on (carrier, number): a repeat answers 200 "
        "with the existing subscription. The provider subscription happens in a worker (callback URL, a "
        "per-parcel salt, the carrier's Kuaidi100 code); a refused or failed one is flagged, and asking again "
        "retries it. 409 when the number is tracked for another order or shop."
    ),
    responses={200: {"model": SubscriptionInfo, "description": "Already subscribed"}, **responses(403, 409)},
)
async def create_subscription(
    body: SubscriptionRequest, uow: UowDep, shop_id: InternalShopIdDep, response: Response
) -> SubscriptionInfo:
    done = await subscriptions.subscribe(uow, shop_id, body)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return done.info


@router.post(
    "/subscriptions/batch",
    summary="Follow many confirmed shipments at once",
    description=(
        "Shipping's handoff of a batch chunk: up to 1,000 shipments of one shop in one call, each answered as the "
        "single endpoint would (`created`, `existing` — a flagged one is retried —, or `conflict` when the number "
        "is tracked for another order or shop), in the request's order. The provider subscriptions follow in "
        "one worker job. Nothing is refused as a whole except a malformed request (422)."
    ),
    responses=responses(403),
)
async def create_subscriptions(
    body: SubscriptionBatch, uow: UowDep, shop_id: InternalShopIdDep
) -> SubscriptionBatchResult:
    return await subscriptions.subscribe_many(uow, shop_id, body.items)
