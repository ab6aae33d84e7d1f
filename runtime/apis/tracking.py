"""What shipping asks of the tracking service: follow confirmed shipments."""

from __future__ import annotations

from typing import Protocol

from runtime.service_client import ServiceClient
from shared.tracking import SubscriptionBatch, SubscriptionBatchResult, SubscriptionRequest


class TrackingApi(Protocol):
    async def subscribe_many(self, shop_id: str, items: list[SubscriptionRequest]) -> SubscriptionBatchResult:
        """Follow up to MAX_BATCH_SUBSCRIPTIONS shipments of one shop; one outcome per item, in order
        (idempotent: an existing subscription answers ``existing``)."""
        ...


class HttpTrackingApi:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def subscribe_many(self, shop_id: str, items: list[SubscriptionRequest]) -> SubscriptionBatchResult:
        body = SubscriptionBatch.model_construct(items=items)
        path = "/internal/v1/subscriptions/batch"
        return await self._client.call("POST", path, SubscriptionBatchResult, shop_id=shop_id, body=body)
