"""The thin I/O half of the provider integration."""

from __future__ import annotations

import httpx

from services.tracking.kuaidi100 import protocol
from services.tracking.kuaidi100.protocol import QueryOutcome, QueryResult, SubscribeOutcome, SubscribeResult

# Below the provider's base URL (https://poll.kuaidi100.com in production): its published endpoint paths.
SUBSCRIBE_PATH = "/poll"  # 订阅推送
QUERY_PATH = "/poll/query.do"  # 实时查询


class Kuaidi100Client:
    def __init__(self, http: httpx.AsyncClient, base_url: str, key: str, customer: str, timeout: float) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._key = key
        self._customer = customer
        self._timeout = timeout

    async def subscribe(self, company: str, number: str, callback_url: str, salt: str) -> SubscribeResult:
        form = protocol.subscribe_form(company, number, self._key, callback_url, salt)
        try:
            resp = await self._http.post(f"{self._base}{SUBSCRIBE_PATH}", data=form, timeout=self._timeout)
        except httpx.HTTPError as exc:
            return SubscribeResult(SubscribeOutcome.RETRY, "network", f"{type(exc).__name__}: {exc}")
        return protocol.parse_subscribe(resp.status_code, resp.content)

    async def query(self, company: str, number: str) -> QueryResult:
        form = protocol.query_form(company, number, self._key, self._customer)
        try:
            resp = await self._http.post(f"{self._base}{QUERY_PATH}", data=form, timeout=self._timeout)
        except httpx.HTTPError as exc:
            return QueryResult(QueryOutcome.RETRY, "network", f"{type(exc).__name__}: {exc}")
        return protocol.parse_query(resp.status_code, resp.content)
