"""The two thin transports (httpx.Client, httpx.AsyncClient) and what they share: the service URLs, the
key and shop headers, building a request from an operation's call, the retry rule and its backoff, and
reading an answer into its model or an error.

Each transport holds only its loop: send, and either return, raise, or wait and send again."""

from __future__ import annotations

import asyncio
import copy
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import httpx

from waybill_client._spec import SERVICES, Call, Operation, Replay, Service
from waybill_client._version import __version__
from waybill_client.errors import NetworkError, WaybillError, error_from_response

R = TypeVar("R")
DEFAULT_TIMEOUT = 30.0


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Retries:
    """How a call that is safe to repeat is tried again after a failure.

    ``attempts``: tries in all, the first included (1: never retried). Between tries a jittered
    exponential backoff (``backoff`` seconds, doubling, at most ``max_backoff``), or the answer's
    ``Retry-After`` when it gives one; a ``Retry-After`` longer than ``max_retry_after`` is not waited
    for: the error is raised with its ``retry_after``. ``statuses``: the answers that are retried (besides
    no answer at all)."""

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    @classmethod
    def none(cls) -> Retries:
        return cls(attempts=1)

    def delay(self, attempt: int) -> float:
        """The wait after failed try number ``attempt`` (1, 2...): half fixed, half random."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


# The waits, one place to patch them in tests.
def sleep(seconds: float) -> None:
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class Prepared:
    """A request ready to send, and whether it may be sent again."""

    service: Service
    method: str
    url: str
    params: dict[str, Any]
    json: Any
    headers: dict[str, str]
    replayable: bool


class Transport:
    """What the sync and async clients share (everything but sending)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        allocation_url: str | None = None,
        shipping_url: str | None = None,
        tracking_url: str | None = None,
        shop_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: Retries | int = Retries(),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        given = {"allocation": allocation_url, "shipping": shipping_url, "tracking": tracking_url}
        urls: dict[Service, str] = {}
        for service in SERVICES:
            url = given[service] or base_url
            if not url:
                raise ValueError(f"no URL for {service}: give base_url (a gateway) or {service}_url")
            urls[service] = url.rstrip("/")
        self._urls = urls
        self._api_key = api_key
        self._shop_id = shop_id
        self._timeout = timeout
        self._retries = retries if isinstance(retries, Retries) else Retries(attempts=max(1, retries))
        self._headers = dict(headers or {})

    @property
    def urls(self) -> dict[Service, str]:
        return dict(self._urls)

    @property
    def shop_id(self) -> str | None:
        return self._shop_id

    def _copy_with(
        self,
        *,
        api_key: str | None = UNSET,
        shop_id: str | None = UNSET,
        timeout: float | httpx.Timeout = UNSET,
        retries: Retries | int = UNSET,
        headers: Mapping[str, str] | None = UNSET,
    ) -> Self:
        other = copy.copy(self)
        if api_key is not UNSET:
            other._api_key = api_key
        if shop_id is not UNSET:
            other._shop_id = shop_id
        if timeout is not UNSET:
            other._timeout = timeout
        if retries is not UNSET:
            other._retries = retries if isinstance(retries, Retries) else Retries(attempts=max(1, retries))
        if headers is not UNSET:
            other._headers = {**self._headers, **(headers or {})}
        return other

    def _prepare(self, op: Operation[Any], call: Call) -> Prepared:
        accept = "application/pdf, application/json" if op.answer is bytes else "application/json"
        headers = {"Accept": accept, "User-Agent": f"waybill-client/{__version__}", **self._headers}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if self._shop_id:
            headers["X-Shop-Id"] = self._shop_id
        if op.replay is Replay.KEYED:
            # Made once per call, so that every retry of it repeats the same key: one purchase, never two.
            headers["Idempotency-Key"] = call.idempotency_key or str(uuid.uuid4())
        elif call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        return Prepared(
            service=op.service,
            method=op.method,
            url=self._urls[op.service] + call.url_path(op),
            params=call.params(),
            json=call.body,
            headers=headers,
            replayable=op.replay is not Replay.NEVER,
        )

    def _network_error(self, req: Prepared, exc: httpx.TransportError) -> NetworkError:
        error = NetworkError(
            0,
            "network_error",
            f"{req.service} at {self._urls[req.service]} did not answer: {exc!r}",
            service=req.service,
        )
        error.__cause__ = exc
        return error

    def _wait(self, req: Prepared, error: WaybillError, attempt: int) -> float | None:
        """Seconds to wait before trying ``req`` again after ``error`` on try ``attempt``; None: raise it."""
        retries = self._retries
        if not req.replayable or attempt >= retries.attempts:
            return None
        if not isinstance(error, NetworkError) and error.status not in retries.statuses:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= retries.max_retry_after else None
        return retries.delay(attempt)

    @staticmethod
    def _read(op: Operation[R], response: httpx.Response) -> R:
        if response.is_success:
            return op.decode(response)
        raise error_from_response(response, op.service)


class SyncTransport(Transport):
    """Sends with an ``httpx.Client``: its own (closed by ``close()``) or the caller's (left open)."""

    def __init__(self, api_key: str | None = None, *, http: httpx.Client | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=self._timeout)

    def _send(self, op: Operation[R], call: Call) -> R:
        req = self._prepare(op, call)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    req.method, req.url, params=req.params, json=req.json, headers=req.headers, timeout=self._timeout
                )
                return self._read(op, response)
            except httpx.TransportError as exc:
                error: WaybillError = self._network_error(req, exc)
            except WaybillError as exc:
                error = exc
            wait = self._wait(req, error, attempt)
            if wait is None:
                raise error
            sleep(wait)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTransport(Transport):
    """Sends with an ``httpx.AsyncClient``: its own (closed by ``aclose()``) or the caller's (left open)."""

    def __init__(self, api_key: str | None = None, *, http: httpx.AsyncClient | None = None, **options: Any) -> None:
        super().__init__(api_key, **options)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=self._timeout)

    async def _send(self, op: Operation[R], call: Call) -> R:
        req = self._prepare(op, call)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    req.method, req.url, params=req.params, json=req.json, headers=req.headers, timeout=self._timeout
                )
                return self._read(op, response)
            except httpx.TransportError as exc:
                error: WaybillError = self._network_error(req, exc)
            except WaybillError as exc:
                error = exc
            wait = self._wait(req, error, attempt)
            if wait is None:
                raise error
            await asleep(wait)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
