"""Outgoing HTTP: one shared client per process that carries the request id along."""

from __future__ import annotations

import httpx

from runtime.context import REQUEST_ID_HEADER, current_request_id
from runtime.settings import ServiceSettings


async def _propagate_request_id(request: httpx.Request) -> None:
    rid = current_request_id()
    if rid is not None and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = rid


def make_http_client(settings: ServiceSettings | None = None, *, timeout: float = 10.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=3.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        event_hooks={"request": [_propagate_request_id]},
    )
