"""What every page shares: the app's state, the session of a request, rendering in the seller's language and
time zone, the checks before a shop's page or form (signed in, may see the shop, the form's CSRF token), and
the redirect after a form, which carries what happened as a catalogue key (never free text of ours)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from waybill_client import AsyncWaybillClient, WaybillError
from waybill_client.models import SettingsOut

from runtime.ratelimit import RateLimiter
from services.dashboard import catalogue
from services.dashboard.api import Panel, for_session, panel
from services.dashboard.i18n import LANG_COOKIE, choose_lang, translator
from services.dashboard.local_time import local
from services.dashboard.session import SESSION_COOKIE, Session, SessionStore, Signer, csrf_ok
from services.dashboard.settings import DashboardSettings

# Pages hold a shop's data: never cached, never framed, no script or style from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# A list's ``next_cursor`` as the services hand it out (URL-safe base64, at most 512 characters, as
# runtime.pagination takes it); anything else is refused here, before any call.
Cursor = Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$")]
_CODE = re.compile(r"[a-z0-9_]{1,64}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


class State:
    """What the app builds once (main.py's lifespan): settings, the client, templates, the session store and
    the sign-in form's signer."""

    def __init__(
        self,
        settings: DashboardSettings,
        client: AsyncWaybillClient,
        templates: Jinja2Templates,
        sessions: SessionStore,
        login_limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.templates = templates
        self.sessions = sessions
        self.signer = Signer(settings.secret_key.get_secret_value())
        self.login_limiter = login_limiter  # sign-in attempts per client address (None: unlimited)


def started(request: Request) -> bool:
    """Whether the app's lifespan has built its state (an app asked before it starts has no templates)."""
    return hasattr(request.app.state, "dashboard")


def state(request: Request) -> State:
    found: State = request.app.state.dashboard
    return found


async def current_session(request: Request) -> Session | None:
    """The request's session, read from Redis once per request (SessionStoreUnavailable: a 503 page)."""
    if not hasattr(request.state, "dashboard_session"):
        request.state.dashboard_session = await state(request).sessions.load(request.cookies.get(SESSION_COOKIE))
    found: Session | None = request.state.dashboard_session
    return found


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    # Only a session this request already read: the sign-in and error pages never wait for Redis.
    session: Session | None = getattr(request.state, "dashboard_session", None)
    st = state(request)
    lang = choose_lang(request)
    # The shop's own zone once shop_page read it; the dashboard's for the sign-in, the operators' overview
    # and a shop whose settings could not be read.
    zone_name, zone = getattr(request.state, "shop_zone", None) or (st.settings.time_zone, st.settings.zone)
    page = {
        "session": session,
        "lang": lang,
        "_": translator(lang),
        "when": lambda at, seconds=False: local(at, zone, seconds=seconds),
        "time_zone": zone_name,
        "alert_text": lambda kind: catalogue.alert_text(kind, lang),
        "alert_title": lambda kind: catalogue.alert_title(kind, lang),
        "error_text": lambda code: catalogue.error_text(code, lang),
        "status_text": lambda of, value: catalogue.status_text(of, value, lang),
        "channel_text": lambda channel: catalogue.channel_text(channel, lang),
        "order_alert_text": lambda kind: catalogue.order_alert_text(kind, lang),
        "order_alert_title": lambda kind: catalogue.order_alert_title(kind, lang),
        "flag_text": lambda kind: catalogue.flag_text(kind, lang),
        "skip_text": lambda reason: catalogue.skip_text(reason, lang),
        "confirm_mode_text": lambda mode: catalogue.confirm_mode_text(mode, lang),
        "confirm_mode_title": lambda mode: catalogue.confirm_mode_title(mode, lang),
        "yuan": yuan,
        "flash": flash_of(request, lang),
        **context,
    }
    resp = st.templates.TemplateResponse(request, template, page, status_code=status_code, headers=PAGE_HEADERS)
    if request.query_params.get("lang") == lang:  # the switch was used: remember it
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=st.settings.cookie_secure)
    return resp


def yuan(cents: float | None) -> str:
    return "" if cents is None else f"¥{cents / 100:,.2f}"


@dataclass(frozen=True)
class Flash:
    """What the redirect after a form reported: a notice, or an error's code, request id and the API's own
    message (English, for a developer the seller forwards it to)."""

    notice: str | None = None
    error_code: str | None = None
    error_text: str | None = None
    request_id: str | None = None
    detail: str | None = None


def flash_of(request: Request, lang: catalogue.Lang) -> Flash:
    q = request.query_params
    notice = catalogue.notice_text(q.get("notice", ""), lang)
    code = q.get("error", "")
    if not _CODE.fullmatch(code):
        return Flash(notice=notice)
    rid = q.get("request_id", "")
    return Flash(
        notice=notice,
        error_code=code,
        error_text=catalogue.error_text(code, lang),
        request_id=rid if _REQUEST_ID.fullmatch(rid) else None,
        detail=q.get("detail", "")[:300] or None,
    )


def error_page(request: Request, status_code: int, code: str, detail: str | None = None) -> Response:
    return render(request, "error.html", status_code, code=code, detail=detail)


def status_of(exc: WaybillError) -> int:
    """The service's own status for the page, except that a service not answering is a 503 here."""
    return 503 if exc.status == 0 else exc.status


def seg(value: str) -> str:
    """One path segment of a dashboard URL (an id from a form or an answer stays in its place)."""
    return quote(value, safe="")


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


# --- a shop's pages and forms ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopAccess:
    """A request allowed into one shop: the session, the client acting with its key for that shop, and the
    shop's settings when the page read them (shop_page with ``zone``)."""

    session: Session
    shop_id: str
    client: AsyncWaybillClient
    settings: Panel[SettingsOut] | None = None

    @property
    def base(self) -> str:
        return f"/shops/{seg(self.shop_id)}"


async def shop_page(request: Request, shop_id: str, *, zone: bool = True) -> ShopAccess | Response:
    """A shop's page: the session's, when it may see the shop; otherwise the response to send instead.
    ``zone``: the page shows times, read in the shop's time zone (its settings are read for it; a call that
    only redirects or sends a file or counts passes False and saves that call)."""
    session = await current_session(request)
    if session is None:
        return to_login(request)
    if not session.may_see(shop_id):
        return error_page(request, 404, "not_found", f"shop {shop_id}")
    client = for_session(state(request).client, session, shop_id)
    if not zone:
        return ShopAccess(session, shop_id, client)
    saved = await panel(client.get_shop_settings())
    if saved.data is not None:
        found = shop_zone(saved.data.time_zone)
        if found is not None:
            request.state.shop_zone = (saved.data.time_zone, found)
    return ShopAccess(session, shop_id, client, saved)


def shop_zone(name: str) -> ZoneInfo | None:
    """The zone the shop's settings name; None for one this machine's zone data does not know (shipping
    checked it against its own: the pages then keep the dashboard's zone rather than fail)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


async def shop_form(request: Request, shop_id: str, csrf_token: str) -> ShopAccess | Response:
    """A shop's form (POST): signed in, this session's own CSRF token, and the shop its own."""
    session = await current_session(request)
    if session is None:
        return error_page(request, 401, "unauthorized")
    if not csrf_ok(session, csrf_token):
        return error_page(request, 403, "csrf_failed")
    return await shop_page(request, shop_id, zone=False)  # a form redirects: it shows no time


def done(path: str, notice: str, anchor: str = "") -> Response:
    """The redirect after a form that worked (post/redirect/get)."""
    return RedirectResponse(f"{path}?{urlencode({'notice': notice})}{anchor}", status_code=303)


def failed(path: str, exc: WaybillError, anchor: str = "") -> Response:
    """The redirect after a form the API refused: its code, request id and message go along to be shown."""
    query = {"error": exc.code, "request_id": exc.request_id or "", "detail": exc.message[:300]}
    return RedirectResponse(f"{path}?{urlencode(query)}{anchor}", status_code=303)


def refused(path: str, code: str, anchor: str = "") -> Response:
    """The redirect after a form the dashboard itself refused (nothing selected, a bad number typed)."""
    return RedirectResponse(f"{path}?{urlencode({'error': code})}{anchor}", status_code=303)
