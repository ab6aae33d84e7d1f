"""The push webhook served by a raw ASGI endpoint, ahead of the whole FastAPI stack.

``POST /webhooks/tracking/kuaidi100`` takes every push of every parcel. FastAPI's and Starlette's per-request
machinery (the exception, body-limit and exit-stack middleware, route matching, a ``Request`` and a
``Response`` object per call) cost more CPU than verifying and storing the push, so the path is taken off
before any of it: the app's ``__call__`` hands this one path to a bare endpoint inside the service's own
``RequestContextMiddleware`` (request id, latency metric, log line, body limit and the answer to an unhandled
exception are the same as for any route; the address limit exempts webhooks anyway). The FastAPI route of
the same path stays for the OpenAPI documentation and is never reached; both end in
``ingestion.take_push``, so behaviour, answers and error bodies are the same. A multipart form (which
nobody sends but the documentation allows) takes the documented route's handler.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.middleware import RequestContextMiddleware
from services.tracking import metrics
from services.tracking.domain.states import PushOutcome
from services.tracking.kuaidi100.protocol import ACK_BODY, failure_body, parse_form
from services.tracking.resources import TrackingResources
from services.tracking.router.webhook import NOT_VERIFIED, handle_push
from services.tracking.service import ingestion

PATH = "/webhooks/tracking/kuaidi100"
_PATH_BYTES = PATH.encode()


def _answer(status: int, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """A prebuilt answer (start and body messages): nothing is allocated per request for it."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {"type": "http.response.start", "status": status, "headers": headers}, {
        "type": "http.response.body",
        "body": body,
    }


_ACK = _answer(200, ACK_BODY)
_NOT_VERIFIED = _answer(400, NOT_VERIFIED)
_NO_FIELDS = _answer(400, failure_body("400", "param and sign are required"))
_UNREADABLE = _answer(400, failure_body("400", "param is not a readable push"))
_ANSWERS = {PushOutcome.STORED: _ACK, PushOutcome.UNREADABLE: _UNREADABLE}


async def _send(send: Send, answer: tuple[dict[str, Any], dict[str, Any]]) -> None:
    # Copies of the start message: the request-context middleware appends the request id to its headers.
    start, body = answer
    await send({**start, "headers": list(start["headers"])})
    await send(body)


async def _body(receive: Receive) -> bytes | None:
    """The whole body, or None when the client went away before sending all of it (as Starlette's
    ``Request.body`` raises then): a push cut short is neither stored nor answered."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if message["type"] != "http.request":
        return None
    if not message.get("more_body", False):
        return body  # the usual case: the whole form in one message, no copy
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _multipart(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.startswith(b"multipart/"))
    return False


async def push_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = ROUTE  # for the latency metric's route label, as FastAPI routes do
    res: TrackingResources = scope["app"].state.resources
    if _multipart(scope):
        response = await handle_push(Request(scope, receive))
        await response(scope, receive, send)
        return
    body = await _body(receive)
    if body is None:
        return
    form = parse_form(body)
    param, sign = form.get("param"), form.get("sign")
    if not param or not sign:
        metrics.INGEST_UNREADABLE.inc()
        await _send(send, _NO_FIELDS)
        return
    outcome = await ingestion.take_push(res.webhook, res.waker, param, sign)
    await _send(send, _ANSWERS.get(outcome, _NOT_VERIFIED))


# For the latency metric's route label (its ``path``); the endpoint itself is reached from the app's __call__.
ROUTE = Route(PATH, push_endpoint, methods=["POST"])


class _WithPushFastPath(FastAPI):
    """The service's FastAPI app, with ``POST`` of the push path handed to the bare endpoint (inside the
    request-context middleware every route has) before FastAPI's own ``__call__``: that one asks
    OpenTelemetry on every request whether telemetry is configured (environment lookups, a sixth of a
    push's CPU). When it is configured the push takes the ordinary way, so it is traced like any route."""

    _push: ASGIApp
    _telemetry_on: bool | None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH:
            if self._telemetry_on is None:  # providers are configured at startup: asked once
                self._telemetry_on = self._native_telemetry.enabled()
            if not self._telemetry_on:
                if self.root_path:
                    scope["root_path"] = self.root_path
                scope["app"] = self
                await self._push(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def install(app: FastAPI, service: str, max_body_bytes: int) -> None:
    """Give ``app`` the push fast path (its state, routes, middleware and documentation stay what they are)."""
    app.__class__ = _WithPushFastPath
    assert isinstance(app, _WithPushFastPath)
    app._push = RequestContextMiddleware(push_endpoint, service=service, max_body_bytes=max_body_bytes)
    app._telemetry_on = None
