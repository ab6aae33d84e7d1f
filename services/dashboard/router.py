"""Dashboard pages: thin, they read the session, call the service module and render a template."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from runtime.address_limit import address_bucket
from runtime.errors import error_response
from runtime.params import BIGINT_MAX, IdPath
from runtime.ratelimit import RateLimited, RateLimiter
from services.dashboard import service
from services.dashboard.service import ServiceError, Services
from services.dashboard.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    SessionStore,
    SessionStoreUnavailable,
    Signer,
    csrf_ok,
    login_token_ok,
    new_login_token,
)
from services.dashboard.settings import DashboardSettings
from shared.errors import ErrorCode

pages = APIRouter(include_in_schema=False)
operations = APIRouter(tags=["operations"])

ROUTERS = [pages, operations]

# Pages hold a shop's data: never cached, never framed, no script or style from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class State:
    """What the app builds once (main.py's lifespan): settings, the REST client, templates, the session
    store and the sign-in form's signer."""

    def __init__(
        self,
        settings: DashboardSettings,
        api: Services,
        templates: Jinja2Templates,
        sessions: SessionStore,
        login_limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.api = api
        self.templates = templates
        self.sessions = sessions
        self.signer = Signer(settings.secret_key.get_secret_value())
        self.login_limiter = login_limiter  # sign-in attempts per client address (None: unlimited)


def state(request: Request) -> State:
    found: State = request.app.state.dashboard
    return found


async def current_session(request: Request) -> Session | None:
    """The request's session, read from Redis once per request; SessionStoreUnavailable (a 503 page, see
    sessions_unavailable) when Redis does not answer."""
    if not hasattr(request.state, "dashboard_session"):
        request.state.dashboard_session = await state(request).sessions.load(request.cookies.get(SESSION_COOKIE))
    found: Session | None = request.state.dashboard_session
    return found


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    # Only a session this request already read: the sign-in and error pages never wait for Redis.
    session: Session | None = getattr(request.state, "dashboard_session", None)
    st = state(request)
    return st.templates.TemplateResponse(
        request, template, {"session": session, **context}, status_code=status_code, headers=PAGE_HEADERS
    )


def to_login(request: Request) -> Response:
    resp = RedirectResponse("/login", status_code=303)
    if SESSION_COOKIE in request.cookies:  # one that opens nothing (ended, unknown, malformed): drop it
        clear_session_cookie(request, resp)
    return resp


def set_session_cookie(request: Request, resp: Response, session_id: str) -> None:
    settings = state(request).settings
    resp.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_max_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
    )


def clear_session_cookie(request: Request, resp: Response) -> None:
    resp.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=state(request).settings.cookie_secure)


def error_page(request: Request, status_code: int, code: str, message: str) -> Response:
    return render(request, "error.html", status_code, code=code, message=message)


def status_of(exc: ServiceError) -> int:
    """The service's own status for the page, except that a service not answering is a 503 here."""
    return 503 if exc.status == 0 else exc.status


SESSIONS_DOWN = "sessions are unavailable (Redis does not answer): try again in a moment"


async def sessions_unavailable(request: Request, exc: Exception) -> Response:
    """Any page that needs the session store while Redis is down: a 503 page, and the process runs on."""
    resp = error_page(request, 503, ErrorCode.UNAVAILABLE, SESSIONS_DOWN)
    resp.headers["Retry-After"] = "5"
    return resp


# --- signing in and out ---------------------------------------------------------------------------------


def login_page(request: Request, status_code: int = 200, error: str | None = None) -> Response:
    st = state(request)
    token, cookie = new_login_token(st.signer)
    resp = render(request, "login.html", status_code, csrf_token=token, error=error)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE, cookie, max_age=3600, httponly=True, samesite="strict", secure=st.settings.cookie_secure
    )
    return resp


@pages.get("/login")
async def login_form(request: Request) -> Response:
    return login_page(request)


@pages.post("/login")
async def login(
    request: Request, api_key: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    st = state(request)
    if not login_token_ok(st.signer, csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return login_page(request, 403, "the sign-in form expired: try again")
    key = api_key.strip()
    if not key:
        return login_page(request, 400, "paste a shop API key (wbk_...) or the operators' admin key")
    if st.login_limiter is not None and request.client is not None:
        try:
            await st.login_limiter.check(address_bucket(request.client.host))
        except RateLimited as exc:
            wait = exc.details.get("retry_after_s", 60)
            resp = login_page(request, 429, f"too many sign-in attempts from this address: try again in {wait} s")
            resp.headers["Retry-After"] = str(wait)
            return resp
    try:
        who = await service.identify(st.api, key)
    except ServiceError as exc:
        return login_page(request, status_of(exc), f"{exc.service}: {exc.message}")
    try:
        # Always a new id (no session fixation), and the session this browser had before is ended.
        session_id, _ = await st.sessions.create(who.kind, key, who.shop_id, who.shop_name)
        await st.sessions.delete(request.cookies.get(SESSION_COOKIE))
    except SessionStoreUnavailable:
        return login_page(request, 503, f"cannot sign in now: {SESSIONS_DOWN}")
    resp = RedirectResponse("/", status_code=303)
    set_session_cookie(request, resp, session_id)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, httponly=True, samesite="strict", secure=st.settings.cookie_secure)
    return resp


@pages.post("/logout")
async def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    session = await current_session(request)
    if session is not None:
        if not csrf_ok(session, csrf_token):
            return error_page(request, 403, ErrorCode.FORBIDDEN, "the form's CSRF token does not match this session")
        # Ended on the server: the cookie opens nothing any more, even replayed.
        await state(request).sessions.delete(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, resp)
    return resp


# --- pages ----------------------------------------------------------------------------------------------


@pages.get("/")
async def home(
    request: Request, after: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] = None
) -> Response:
    session = await current_session(request)
    if session is None:
        return to_login(request)
    if session.kind == "shop" and session.shop_id is not None:
        return await shop_page(request, session, session.shop_id)
    st = state(request)
    view = await service.overview(st.api, session, st.settings, after)
    return render(request, "overview.html", overview=view)


@pages.get("/shop")
async def open_shop(request: Request, shop_id: str = "") -> Response:
    """The operators' "open a shop by id" form."""
    if await current_session(request) is None:
        return to_login(request)
    shop_id = shop_id.strip()
    return RedirectResponse(f"/shops/{quote(shop_id, safe='')}" if shop_id else "/", status_code=303)


@pages.get("/shops/{shop_id}")
async def shop(
    request: Request, shop_id: str, acknowledged: Annotated[int | None, Query(ge=1, le=BIGINT_MAX)] = None
) -> Response:
    session = await current_session(request)
    if session is None:
        return to_login(request)
    if not session.may_see(shop_id):
        return error_page(request, 404, ErrorCode.NOT_FOUND, f"shop {shop_id} not found")
    notices = [f"alert {acknowledged} acknowledged"] if acknowledged is not None else []
    return await shop_page(request, session, shop_id, notices=notices)


async def shop_page(
    request: Request,
    session: Session,
    shop_id: str,
    *,
    notices: list[str] | None = None,
    error: ServiceError | None = None,
) -> Response:
    st = state(request)
    view = await service.shop_view(st.api, session, shop_id, st.settings)
    if not view.shop.ok and view.shop.error is not None and view.shop.error.status == 404:
        return error_page(request, 404, ErrorCode.NOT_FOUND, view.shop.error.message)
    status_code = 200 if error is None else status_of(error)
    return render(request, "shop.html", status_code, view=view, notices=notices or [], error=error)


@pages.post("/shops/{shop_id}/alerts/{alert_id}/ack")
async def acknowledge(
    request: Request, shop_id: str, alert_id: IdPath, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    session = await current_session(request)
    if session is None:
        return error_page(request, 401, ErrorCode.UNAUTHORIZED, "sign in first")
    if not csrf_ok(session, csrf_token):
        return error_page(request, 403, ErrorCode.FORBIDDEN, "the form's CSRF token does not match this session")
    if not session.may_see(shop_id):
        return error_page(request, 404, ErrorCode.NOT_FOUND, f"shop {shop_id} not found")
    st = state(request)
    try:
        await service.acknowledge(st.api, session, shop_id, alert_id)
    except ServiceError as exc:
        return await shop_page(request, session, shop_id, error=exc)
    return RedirectResponse(f"/shops/{shop_id}?acknowledged={alert_id}#alerts", status_code=303)


# --- operations -----------------------------------------------------------------------------------------


@operations.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@operations.get("/readyz", summary="Readiness: the three services answer their health checks, Redis a PING")
async def readyz(request: Request) -> Any:
    st = state(request)

    async def sessions() -> str | None:
        try:
            await st.sessions.ping()
        except SessionStoreUnavailable as exc:
            return str(exc)
        return None

    async def check(name: service.ServiceName) -> str | None:
        try:
            await st.api.get(name, "/healthz", {})
        except ServiceError as exc:
            return exc.message
        return None

    names: list[service.ServiceName] = ["allocation", "shipping", "tracking"]
    *results, store = await asyncio.gather(*(check(n) for n in names), sessions())
    problems: dict[str, Any] = {n: r for n, r in zip(names, results, strict=True) if r is not None}
    if store is not None:
        problems["sessions"] = store
    if problems:
        return error_response(503, ErrorCode.UNAVAILABLE, "not ready", problems, {"Retry-After": "2"})
    return {"status": "ready"}
