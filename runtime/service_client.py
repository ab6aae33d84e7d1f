"""The one way a service calls another of ours: base URL, key and shop header, timeouts, the error shape read
into a typed ``ServiceError``, the rule for what is worth retrying, and a jittered backoff between tries.

The typed clients (``runtime.apis``: ``AllocationApi``, ``TrackingApi``, ``ShippingApi``) are built on it;
their requests and answers are ``shared/`` models. The dashboard uses the same core with the signed-in
person's key instead of the internal one.

Every internal call is idempotent by design (an allocation is keyed by its order, a mark or release names
its number and order, a bulk subscription or tracking update is keyed by its parcel and event), so a
transient failure may be tried again without asking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from runtime.backoff import Backoff
from runtime.errors import AppError
from shared.errors import ErrorCode

T = TypeVar("T")

# Our own key refused (401/403) is a deploy or key-rotation fault an operator fixes, not a verdict on the
# request: worth trying again later, and never passed on to the shop as its own key's fault.
RETRYABLE_STATUSES = frozenset({401, 403, 408, 425, 429})


class ServiceError(Exception):
    """Another service's answer that is not a success, or no answer (``status`` 0)."""

    def __init__(
        self, service: str, status: int, code: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{service} {status} {code}: {message}")
        self.service = service
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def unavailable(self) -> bool:
        """The service did not answer, or failed (5xx): its outage, whoever's key was used."""
        return self.status == 0 or self.status >= 500

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer, a 5xx, a rate limit, or our own key refused."""
        return self.status == 0 or self.status >= 500 or self.status in RETRYABLE_STATUSES

    def as_app_error(self) -> AppError:
        """The same refusal for our own caller (invalid_waybill, waybill_in_use, pool_exhausted...), or a 503
        when the other service is unavailable (which is never the caller's fault)."""
        if self.transient:
            return AppError(
                f"the {self.service} service is unavailable: {self.message}",
                code=ErrorCode.UNAVAILABLE,
                status_code=503,
                headers={"Retry-After": "2"},
            )
        return AppError(self.message, code=self.code, status_code=self.status, details=self.details)


@lru_cache(maxsize=64)
def _adapter(answer: Any) -> TypeAdapter[Any]:
    return TypeAdapter(answer)


def error_of(service: str, resp: httpx.Response) -> ServiceError:
    """The error shape (``{"error": {"code", "message", "details"}}``) read off a failed answer. An answer
    without it (a proxy's page) keeps its status as ``http_<status>`` and never its body as the message: the
    message may be shown to a seller."""
    try:
        err = resp.json()["error"]
        return ServiceError(
            service, resp.status_code, str(err["code"]), str(err["message"]), dict(err.get("details") or {})
        )
    except (ValueError, KeyError, TypeError):
        return ServiceError(
            service, resp.status_code, f"http_{resp.status_code}", f"{service} answered HTTP {resp.status_code}"
        )


class ServiceClient:
    """Calls one of our services. ``attempts``: tries of a transient failure within one call (1: the caller
    retries, e.g. a job with arq's deferred retry); between them ``backoff``'s jittered delay."""

    def __init__(
        self,
        service: str,
        http: httpx.AsyncClient,
        base_url: str,
        key: str,
        *,
        timeout_s: float,
        attempts: int = 1,
        backoff: Backoff = Backoff(base_s=0.2, cap_s=2.0),
    ) -> None:
        self.service = service
        self._http = http
        self._base = base_url.rstrip("/")
        self._key = key
        self._timeout_s = timeout_s
        self._attempts = max(1, attempts)
        self._backoff = backoff

    def headers(self, shop_id: str | None, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key or self._key}"}
        if shop_id is not None:
            headers["X-Shop-Id"] = shop_id
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        shop_id: str | None = None,
        body: BaseModel | None = None,
        params: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
        key: str | None = None,
        auth: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The successful answer, or ServiceError after ``attempts`` tries of a transient failure. ``auth``:
        the caller's own credential headers instead of this client's key (the dashboard calls with the
        signed-in person's key)."""
        headers = dict(auth) if auth is not None else self.headers(shop_id, key)
        content = None
        if body is not None:
            content = body.model_dump_json(exclude_unset=False).encode()
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = await self._http.request(
                    method,
                    self._base + path,
                    content=content,
                    params=params,
                    headers=headers,
                    timeout=timeout_s or self._timeout_s,
                )
            except httpx.HTTPError as exc:
                error = ServiceError(self.service, 0, ErrorCode.UNAVAILABLE, f"{type(exc).__name__}: {exc}")
            else:
                if resp.is_success:
                    return resp
                error = error_of(self.service, resp)
            if not error.transient or attempt >= self._attempts:
                raise error
            await asyncio.sleep(self._backoff.delay(attempt))

    async def call(
        self,
        method: str,
        path: str,
        answer: type[T],
        *,
        shop_id: str | None = None,
        body: BaseModel | None = None,
        params: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
        key: str | None = None,
    ) -> T:
        """The answer read as ``answer`` (a model, or e.g. ``list[Model]``). An answer that does not read
        is a ServiceError of status 502 (``bad_answer``): the other side is broken, not the request."""
        resp = await self.request(method, path, shop_id=shop_id, body=body, params=params, timeout_s=timeout_s, key=key)
        try:
            result: T = _adapter(answer).validate_json(resp.content)  # type: ignore[arg-type]  # list[M] hashes
        except ValidationError as exc:
            raise ServiceError(self.service, 502, "bad_answer", f"unreadable answer: {exc}"[:300]) from exc
        return result
