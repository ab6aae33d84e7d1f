"""One exception hierarchy for every failed call, read off the API's one error shape
``{"error": {"code", "message", "details", "request_id"}}``.

Branch on the class (what kind of failure) or on ``code`` (stable, snake_case: ``pool_exhausted``,
``idempotency_conflict``...); ``message`` is for humans. Quote ``request_id`` when reporting a problem.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import httpx

__all__ = [
    "AuthError",
    "Conflict",
    "NetworkError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "ValidationError",
    "WaybillError",
    "error_from_response",
    "parse_retry_after",
]


class WaybillError(Exception):
    """A call that did not succeed. ``status`` is the HTTP status (0: no answer at all). A status without a
    subclass of its own (402 ``insufficient_balance``, 413 ``payload_too_large``) raises this class itself.
    ``retry_after``: the answer's ``Retry-After`` in seconds, when it gave one (429, 503)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        *,
        retry_after: float | None = None,
        service: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.retry_after = retry_after
        self.service = service
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}" if self.status else f"{self.code}: {self.message}"
        return f"{text} (request {self.request_id})" if self.request_id else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r}, "
            f"details={self.details!r}, request_id={self.request_id!r})"
        )

    def body(self) -> dict[str, Any]:
        """The error in the API's own shape (with ``status``), e.g. for a command's ``--json`` output."""
        error = {
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "request_id": self.request_id,
            "status": self.status,
        }
        return {"error": error}


class AuthError(WaybillError):
    """401: no key, or a key missing, revoked or unknown; 403: a key of the wrong kind for this endpoint."""


class NotFound(WaybillError):
    """404: no such resource (or another shop's)."""


class Conflict(WaybillError):
    """409: the current state does not allow it (``conflict``, ``idempotency_conflict``,
    ``invalid_transition``, ``waybill_in_use``...)."""


class ValidationError(WaybillError):
    """422 (or 400): the body or the parameters were refused; ``details`` names the field
    (``invalid_cursor`` for a cursor this list did not hand out)."""


class RateLimited(WaybillError):
    """429: over the key's rate limit; ``retry_after`` says when to come back."""


class ServerError(WaybillError):
    """5xx: the service failed or a dependency is unavailable (503 ``unavailable``: retry after
    ``retry_after``)."""


class NetworkError(WaybillError):
    """No answer: the service could not be reached, or the connection failed or timed out (``status`` 0)."""


def _class_of(status: int) -> type[WaybillError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status in (400, 422):
        return ValidationError
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return WaybillError


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date (RFC 9110); None when absent or
    unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_from_response(response: httpx.Response, service: str | None = None) -> WaybillError:
    """The exception for a failed answer. An answer without the error shape (a proxy's page) keeps its status
    as code ``http_<status>``, never its body as the message."""
    status = response.status_code
    header_id = response.headers.get("x-request-id")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    cls = _class_of(status)
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = error.get("details")
        request_id = error.get("request_id") or header_id
        return cls(
            status,
            code,
            message,
            details if isinstance(details, dict) else None,
            str(request_id) if request_id else None,
            retry_after=retry_after,
            service=service,
        )
    except (ValueError, KeyError, TypeError):
        where = service or "the service"
        return cls(
            status,
            f"http_{status}",
            f"{where} answered HTTP {status}",
            None,
            header_id,
            retry_after=retry_after,
            service=service,
        )
