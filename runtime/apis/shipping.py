"""What tracking and allocation ask of the shipping service: here is what happened to a parcel; send this event
to the shop's webhook endpoints."""

from __future__ import annotations

from typing import Protocol

from runtime.service_client import ServiceClient
from shared.purchase_events import EventReceipt, RelayedEvent
from shared.tracking import TrackingUpdate, TrackingUpdateBatch, TrackingUpdateBatchResult, TrackingUpdateResult

# One update is a small write; a batch of MAX_BATCH_TRACKING_UPDATES is one transaction of many.
SINGLE_TIMEOUT_S = 10.0
BATCH_TIMEOUT_S = 30.0


class ShippingApi(Protocol):
    async def tracking_update(self, shop_id: str, update: TrackingUpdate) -> TrackingUpdateResult: ...

    async def tracking_updates(self, shop_id: str, updates: list[TrackingUpdate]) -> TrackingUpdateBatchResult:
        """Up to MAX_BATCH_TRACKING_UPDATES of one shop in one transaction; one result per update, in order
        (idempotent on each update's event id)."""
        ...

    async def shop_event(self, shop_id: str, event: RelayedEvent) -> EventReceipt:
        """Send ``event`` to the shop's webhook endpoints that want it (at least once: a repeat sends again,
        with the same event id)."""
        ...


class HttpShippingApi:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def tracking_update(self, shop_id: str, update: TrackingUpdate) -> TrackingUpdateResult:
        return await self._client.call(
            "POST",
            "/internal/v1/tracking-updates",
            TrackingUpdateResult,
            shop_id=shop_id,
            body=update,
            timeout_s=SINGLE_TIMEOUT_S,
        )

    async def tracking_updates(self, shop_id: str, updates: list[TrackingUpdate]) -> TrackingUpdateBatchResult:
        body = TrackingUpdateBatch.model_construct(updates=updates)
        return await self._client.call(
            "POST",
            "/internal/v1/tracking-updates/batch",
            TrackingUpdateBatchResult,
            shop_id=shop_id,
            body=body,
            timeout_s=BATCH_TIMEOUT_S,
        )

    async def shop_event(self, shop_id: str, event: RelayedEvent) -> EventReceipt:
        return await self._client.call(
            "POST", "/internal/v1/events", EventReceipt, shop_id=shop_id, body=event, timeout_s=SINGLE_TIMEOUT_S
        )
