"""Typed client for the allocation service's REST API (internal key + X-Shop-Id)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from runtime.errors import AppError
from shared.allocation import Allocation, BatchAllocation, BatchMarkResult, WaybillInfo
from shared.errors import ErrorCode

CATALOGUE_TTL_S = 60.0


class AllocationError(Exception):
    """An answer from allocation that is not a success. ``transient``: worth retrying later."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"allocation {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def transient(self) -> bool:
        return self.status >= 500 or self.status in (0, 429)

    def as_app_error(self) -> AppError:
        """The same refusal for our own caller (invalid_waybill, waybill_in_use, pool_exhausted...)."""
        if self.transient:
            return AppError(
                f"the allocation service is unavailable: {self.message}",
                code=ErrorCode.UNAVAILABLE,
                status_code=503,
                headers={"Retry-After": "2"},
            )
        return AppError(self.message, code=self.code, status_code=self.status, details=self.details)


@dataclass(frozen=True)
class CarrierInfo:
    code: str
    name_zh: str
    coverage: list[str]
    transit_days: dict[str, int]
    price_per_number_cents: float | None
    active: bool


class AllocationClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, internal_key: str, timeout: float) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._key = internal_key
        self._timeout = timeout
        self._catalogue: tuple[float, list[CarrierInfo]] | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    def _headers(self, shop_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}", "X-Shop-Id": shop_id}

    async def _request(self, method: str, path: str, shop_id: str, json: Any = None) -> Any:
        try:
            resp = await self._http.request(
                method, self._base + path, json=json, headers=self._headers(shop_id), timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise AllocationError(0, "network", f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
                code, message, details = str(err["code"]), str(err["message"]), dict(err.get("details") or {})
            except (ValueError, KeyError, TypeError):
                code, message, details = f"http_{resp.status_code}", resp.text[:200], {}
            raise AllocationError(resp.status_code, code, message, details)
        return resp.json()

    async def allocate(self, shop_id: str, carrier: str, order_id: str) -> Allocation:
        body = await self._request("POST", "/v1/allocations", shop_id, {"carrier": carrier, "order_id": order_id})
        return Allocation.model_validate(body)

    async def allocate_batch(self, shop_id: str, carrier: str, order_ids: list[str]) -> BatchAllocation:
        body = await self._request(
            "POST", "/v1/allocations/batch", shop_id, {"carrier": carrier, "order_ids": order_ids}
        )
        return BatchAllocation.model_validate(body)

    async def register_manual(self, shop_id: str, carrier: str, number: str, order_id: str) -> Allocation:
        body = await self._request(
            "POST", "/v1/waybills/manual", shop_id, {"carrier": carrier, "number": number, "order_id": order_id}
        )
        return Allocation.model_validate(body)

    async def mark(
        self, shop_id: str, number: str, status: str, order_id: str | None = None, reason: str | None = None
    ) -> WaybillInfo:
        payload: dict[str, Any] = {"status": status}
        if order_id is not None:
            payload["order_id"] = order_id
        if reason is not None:
            payload["reason"] = reason[:500]
        body = await self._request("POST", f"/v1/waybills/{number}/mark", shop_id, payload)
        return WaybillInfo.model_validate(body)

    async def mark_many(
        self, shop_id: str, status: str, pairs: Sequence[tuple[str, str | None]], reason: str | None = None
    ) -> BatchMarkResult:
        """Many numbers ([number, order ref] pairs, at most MAX_BATCH_MARK) marked in one call; each number
        answers on its own in the result (a refusal of one does not raise)."""
        payload: dict[str, Any] = {
            "status": status,
            "items": [{"number": n} if o is None else {"number": n, "order_id": o} for n, o in pairs],
        }
        if reason is not None:
            payload["reason"] = reason[:500]
        body = await self._request("POST", "/v1/waybills/batch-mark", shop_id, payload)
        return BatchMarkResult.model_validate(body)

    async def release(self, shop_id: str, number: str, order_id: str | None = None) -> str:
        payload = {"order_id": order_id} if order_id is not None else {}
        body = await self._request("POST", f"/v1/waybills/{number}/release", shop_id, payload)
        return str(body["status"])

    async def carriers(self, shop_id: str) -> list[CarrierInfo]:
        """The catalogue, cached briefly: it changes when operators edit it, not per order."""
        now = time.monotonic()
        if self._catalogue is not None and self._catalogue[0] > now:
            return self._catalogue[1]
        rows = await self._request("GET", "/v1/carriers", shop_id)
        out = []
        for c in rows:
            prices = [p["price_cents"] / p["quantity"] for p in c.get("packages") or [] if p.get("active", True)]
            out.append(
                CarrierInfo(
                    code=c["code"],
                    name_zh=c.get("name_zh", c["code"]),
                    coverage=list(c.get("coverage") or []),
                    transit_days={k: int(v) for k, v in (c.get("transit_days") or {}).items()},
                    price_per_number_cents=min(prices) if prices else None,
                    active=bool(c.get("active", True)),
                )
            )
        self._catalogue = (now + CATALOGUE_TTL_S, out)
        return out

    async def stock(self, shop_id: str) -> dict[str, int]:
        """Available numbers per carrier for the shop."""
        rows = await self._request("GET", "/v1/pools", shop_id)
        return {r["carrier"]: int(r["counts"]["available"]) for r in rows}
