"""What shipping (and every API checking a shop key) asks of the allocation service."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import quote

from runtime.service_client import ServiceClient, ServiceError
from shared.allocation import (
    AllocateRequest,
    Allocation,
    BatchAllocateRequest,
    BatchAllocation,
    BatchMarkRequest,
    BatchMarkResult,
    ManualWaybillRequest,
    MarkItem,
    MarkRequest,
    MarkState,
    Recipient,
    RecipientUpdated,
    ReleaseRequest,
    ReleaseResult,
    WaybillInfo,
)
from shared.carriers import CarrierCode
from shared.catalogue import CarrierOut
from shared.keys import IntrospectRequest, IntrospectResponse
from shared.pages import Page
from shared.pools import PoolOut
from shared.routing import RoutesRequest, RoutesResult, WaybillDestination

# Requests are built with model_construct: the called service is the one that validates (a typed number it
# refuses answers 422 invalid_waybill, which the shop must see), not a copy of its rules here.

# The catalogue changes when operators edit it, not per order: read it at most this often per process.
CATALOGUE_TTL_S = 60.0
REASON_MAX = 500


class AllocationApi(Protocol):
    async def allocate(self, shop_id: str, carrier: str, order_id: str) -> Allocation: ...

    async def allocate_batch(self, shop_id: str, carrier: str, order_ids: list[str]) -> BatchAllocation: ...

    async def register_manual(self, shop_id: str, carrier: str, number: str, order_id: str) -> Allocation: ...

    async def mark(
        self,
        shop_id: str,
        number: str,
        state: MarkState,
        order_id: str | None = None,
        reason: str | None = None,
        *,
        store_id: str | None = None,
        channel: str | None = None,
    ) -> WaybillInfo:
        """``store_id``, ``channel``: a shipped number's store and channel (spend reports; each MarkItem of
        ``mark_many`` carries its own)."""
        ...

    async def mark_many(
        self, shop_id: str, state: MarkState, items: Sequence[MarkItem], reason: str | None = None
    ) -> BatchMarkResult:
        """Many numbers (at most MAX_BATCH_MARK) marked in one call; each answers on its own in the result."""
        ...

    async def release(self, shop_id: str, number: str, order_id: str | None = None) -> ReleaseResult: ...

    async def update_recipient(self, shop_id: str, number: str, recipient: Recipient) -> RecipientUpdated:
        """The courier told the parcel's new receiver (before collection); ServiceError already_collected after."""
        ...

    async def routes(
        self, shop_id: str, waybills: Sequence[WaybillDestination], *, timeout_s: float | None = None
    ) -> RoutesResult:
        """The courier's sort code and consolidation centre for each number's destination (at most MAX_ROUTES),
        each answering on its own; ServiceError 503 upstream_error while the courier cannot answer."""
        ...

    async def carriers(self, shop_id: str) -> list[CarrierOut]: ...

    async def pools(self, shop_id: str) -> list[PoolOut]: ...

    async def shop_of_key(self, key_id: str, secret_hash: str) -> str | None:
        """The shop a key belongs to, or None when no live key has that id and secret."""
        ...


class HttpAllocationApi:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client
        self._catalogue: tuple[float, list[CarrierOut]] | None = None

    async def allocate(self, shop_id: str, carrier: str, order_id: str) -> Allocation:
        body = AllocateRequest.model_construct(carrier=CarrierCode(carrier), order_id=order_id)
        return await self._client.call("POST", "/v1/allocations", Allocation, shop_id=shop_id, body=body)

    async def allocate_batch(self, shop_id: str, carrier: str, order_ids: list[str]) -> BatchAllocation:
        body = BatchAllocateRequest.model_construct(carrier=CarrierCode(carrier), order_ids=order_ids)
        return await self._client.call("POST", "/v1/allocations/batch", BatchAllocation, shop_id=shop_id, body=body)

    async def register_manual(self, shop_id: str, carrier: str, number: str, order_id: str) -> Allocation:
        body = ManualWaybillRequest.model_construct(carrier=CarrierCode(carrier), number=number, order_id=order_id)
        return await self._client.call("POST", "/v1/waybills/manual", Allocation, shop_id=shop_id, body=body)

    async def mark(
        self,
        shop_id: str,
        number: str,
        state: MarkState,
        order_id: str | None = None,
        reason: str | None = None,
        *,
        store_id: str | None = None,
        channel: str | None = None,
    ) -> WaybillInfo:
        body = MarkRequest.model_construct(
            status=state, order_id=order_id, reason=_reason(reason), store_id=store_id, channel=channel
        )
        path = f"/v1/waybills/{_segment(number)}/mark"
        return await self._client.call("POST", path, WaybillInfo, shop_id=shop_id, body=body)

    async def mark_many(
        self, shop_id: str, state: MarkState, items: Sequence[MarkItem], reason: str | None = None
    ) -> BatchMarkResult:
        body = BatchMarkRequest.model_construct(status=state, items=list(items), reason=_reason(reason))
        return await self._client.call("POST", "/v1/waybills/batch-mark", BatchMarkResult, shop_id=shop_id, body=body)

    async def release(self, shop_id: str, number: str, order_id: str | None = None) -> ReleaseResult:
        path = f"/v1/waybills/{_segment(number)}/release"
        body = ReleaseRequest.model_construct(order_id=order_id)
        return await self._client.call("POST", path, ReleaseResult, shop_id=shop_id, body=body)

    async def update_recipient(self, shop_id: str, number: str, recipient: Recipient) -> RecipientUpdated:
        path = f"/v1/waybills/{_segment(number)}/recipient"
        return await self._client.call("POST", path, RecipientUpdated, shop_id=shop_id, body=recipient)

    async def routes(
        self, shop_id: str, waybills: Sequence[WaybillDestination], *, timeout_s: float | None = None
    ) -> RoutesResult:
        body = RoutesRequest.model_construct(waybills=list(waybills))
        return await self._client.call(
            "POST", "/v1/waybills/routes", RoutesResult, shop_id=shop_id, body=body, timeout_s=timeout_s
        )

    async def carriers(self, shop_id: str) -> list[CarrierOut]:
        now = time.monotonic()
        if self._catalogue is not None and self._catalogue[0] > now:
            return self._catalogue[1]
        # Both lists are answered whole (one page, has_more false): short by nature.
        found = (await self._client.call("GET", "/v1/carriers", Page[CarrierOut], shop_id=shop_id)).data
        self._catalogue = (now + CATALOGUE_TTL_S, found)
        return found

    async def pools(self, shop_id: str) -> list[PoolOut]:
        return (await self._client.call("GET", "/v1/pools", Page[PoolOut], shop_id=shop_id)).data

    async def shop_of_key(self, key_id: str, secret_hash: str) -> str | None:
        body = IntrospectRequest.model_construct(key_id=key_id, secret_hash=secret_hash)
        try:
            found = await self._client.call("POST", "/internal/v1/keys/introspect", IntrospectResponse, body=body)
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise
        return found.shop_id


def _reason(reason: str | None) -> str | None:
    return None if reason is None else reason[:REASON_MAX]


def _segment(number: str) -> str:
    # A number is validated before it is stored, but a path segment is never trusted to be one.
    return quote(number, safe="")
