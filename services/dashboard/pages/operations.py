"""The process's own endpoints: liveness, readiness, and the page shown while the session store is down."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from waybill_client import Service, WaybillError

from runtime.errors import error_response
from runtime.logging import get_logger
from services.dashboard import web
from services.dashboard.session import SessionStoreUnavailable
from shared.errors import ErrorCode

router = APIRouter(tags=["operations"])
log = get_logger(__name__)


async def sessions_unavailable(request: Request, exc: Exception) -> Response:
    """Any page that needs the session store while Redis is down: a 503 page, and the process runs on."""
    resp = web.error_page(request, 503, "sessions_down")
    resp.headers["Retry-After"] = "5"
    return resp


async def unreadable_answer(request: Request, exc: Exception) -> Response:
    """A service's answer the client could not read, outside any panel (a form's call): the upstream error
    page, in the seller's language."""
    log.warning("unreadable_answer", path=request.url.path, error=str(exc)[:500])
    return web.error_page(request, 502, "upstream_error")


async def refused_request(request: Request, exc: Exception) -> Response:
    """A page's address or form the dashboard's own routes refuse (a hand-edited id or cursor): a page in the
    seller's language, not the API's JSON."""
    if not web.started(request):
        return error_response(422, ErrorCode.VALIDATION_ERROR, "the request was refused")
    return web.error_page(request, 422, "validation_error")


async def http_error(request: Request, exc: Exception) -> Response:
    """No such page (404), or a page asked with the wrong method (405): said as a page."""
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "internal_error")
    if not web.started(request):  # no templates before the lifespan: the plain error shape
        return error_response(status, code, "no such page" if status == 404 else "refused")
    resp = web.error_page(request, status, code)
    if isinstance(exc, StarletteHTTPException) and exc.headers:
        resp.headers.update(exc.headers)  # Allow on a 405
    return resp


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the three services answer their health checks, Redis a PING")
async def readyz(request: Request) -> Any:
    st = web.state(request)

    async def sessions() -> str | None:
        try:
            await st.sessions.ping()
        except SessionStoreUnavailable as exc:
            return str(exc)
        return None

    async def check(name: Service) -> str | None:
        try:
            await st.client.request("GET", name, "/healthz")
        except WaybillError as exc:
            return f"{name} is unavailable (it did not answer)" if exc.status == 0 else exc.message
        return None

    names: list[Service] = ["allocation", "shipping", "tracking"]
    *results, store = await asyncio.gather(*(check(n) for n in names), sessions())
    problems: dict[str, Any] = {n: r for n, r in zip(names, results, strict=True) if r is not None}
    if store is not None:
        problems["sessions"] = store
    if problems:
        return error_response(503, ErrorCode.UNAVAILABLE, "not ready", problems, {"Retry-After": "2"})
    return {"status": "ready"}
