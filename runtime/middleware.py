"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs too much on hot paths): request ids,
latency metrics, one log line per request, the body size limit, and the docs pages' content policy."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.context import REQUEST_ID_HEADER, new_request_id, request_id_var
from runtime.errors import error_body, unhandled_answer
from runtime.logging import get_logger
from runtime.metrics import REQUEST_LATENCY, REQUESTS_REJECTED
from runtime.pagination import LEGACY_HEADER, LEGACY_VERSION, legacy_lists
from shared.errors import ErrorCode

log = get_logger("http")
_RID_HEADER = REQUEST_ID_HEADER.lower().encode()
_QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}
SLOW_REQUEST_S = 0.5
# /docs and /redoc load only what the process serves (fastapi-offline's assets): the browser itself refuses
# anything else, such as the logo ReDoc's bundle fetches from its CDN. Inline script and style are theirs.
DOCS_PATHS = frozenset({"/docs", "/redoc"})
_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    b"frame-ancestors 'none'",
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body_bytes
        # Histogram children by (method, route, status): .labels() costs a lock and a tuple per call.
        self._latency: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        length = None
        legacy = False
        for name, value in scope["headers"]:
            if name == _RID_HEADER:
                rid = value.decode("latin-1")[:64]
            elif name == b"content-length":
                length = value
            elif name == LEGACY_HEADER:
                legacy = value == LEGACY_VERSION
        if legacy:
            send = legacy_lists(send)
        rid = rid or new_request_id()
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500
        rid_bytes = rid.encode()

        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", []), (_RID_HEADER, rid_bytes)]
                if scope["path"] in DOCS_PATHS:
                    message["headers"].append(_CSP)
            await send(message)

        try:
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                REQUESTS_REJECTED.labels(self.service, "body_too_large").inc()
                await _reply(send_wrapper, 413, ErrorCode.PAYLOAD_TOO_LARGE, f"body larger than {self.max_body} bytes")
                return
            await self.app(scope, _limited(receive, self.max_body), send_wrapper)
        except _BodyTooLarge:
            await _reply(send_wrapper, 413, ErrorCode.PAYLOAD_TOO_LARGE, f"body larger than {self.max_body} bytes")
        except Exception as exc:
            # Answered here, inside the request's context, so a 500 or 503 carries the request id (header
            # and body) and is logged and timed with its real status; Starlette's outermost handler would
            # answer after this middleware has let go of the request.
            if started:
                raise
            await unhandled_answer(exc)(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            key = (scope["method"], template, status)
            child = self._latency.get(key)
            if child is None:
                child = self._latency[key] = REQUEST_LATENCY.labels(self.service, key[0], template, str(status))
            child.observe(elapsed)
            # Every request is counted and timed in the metrics; the log gets the ones worth reading
            # (errors and slow requests) at INFO and the rest at DEBUG, so a busy allocation
            # endpoint does not spend a sixth of its time writing "200 OK" lines.
            if scope["path"] not in _QUIET_PATHS:
                emit = log.info if status >= 400 or elapsed > SLOW_REQUEST_S else log.debug
                emit("request", method=scope["method"], route=template, status=status, ms=round(elapsed * 1000, 2))
            request_id_var.reset(token)


class _BodyTooLarge(StarletteHTTPException):
    """Raised while the app reads a streamed body. An HTTPException because FastAPI turns any other
    exception met while parsing a body into 400 "error parsing the body"; this one it re-raises,
    and the app's handler answers 413 in the error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body larger than {limit} bytes")


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge(limit)
        return message

    return wrapped


async def _reply(send: Any, status: int, code: str, message: str) -> None:
    body = orjson.dumps(error_body(code, message))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
