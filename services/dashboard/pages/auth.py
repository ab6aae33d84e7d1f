"""Signing in with a key (a shop's ``wbk_...`` or the operators' admin key) and signing out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from waybill_client import AsyncWaybillClient, WaybillError

from runtime.address_limit import address_bucket
from runtime.ratelimit import RateLimited
from services.dashboard import web
from services.dashboard.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SessionStoreUnavailable,
    csrf_ok,
    login_token_ok,
    new_login_token,
)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Identity:
    kind: Literal["shop", "operator"]
    shop_id: str | None
    shop_name: str | None


async def identify(client: AsyncWaybillClient, key: str) -> Identity:
    """Who a pasted key belongs to. A shop key reads its own balance (which names the shop); anything else
    must pass an admin-only read, so the internal key or a typo is refused."""
    as_key = client.with_options(api_key=key, shop_id=None)
    if key.startswith("wbk_"):
        balance = await as_key.get_balance(limit=1)
        shop = await as_key.get_shop(balance.shop_id)
        return Identity("shop", shop.id, shop.name)
    await as_key.request("GET", "tracking", "/internal/v1/clock")
    return Identity("operator", None, None)


def login_page(request: Request, status_code: int = 200, code: str | None = None, wait: int | None = None) -> Response:
    st = web.state(request)
    token, cookie = new_login_token(st.signer)
    resp = web.render(request, "login.html", status_code, csrf_token=token, code=code, wait=wait)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE, cookie, max_age=3600, httponly=True, samesite="strict", secure=st.settings.cookie_secure
    )
    return resp


@router.get("/login")
async def login_form(request: Request) -> Response:
    return login_page(request)


@router.post("/login")
async def login(
    request: Request, api_key: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    st = web.state(request)
    if not login_token_ok(st.signer, csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return login_page(request, 403, "csrf_failed")
    key = api_key.strip()
    if not key:
        return login_page(request, 400, "no_key")
    if st.login_limiter is not None and request.client is not None:
        try:
            await st.login_limiter.check(address_bucket(request.client.host))
        except RateLimited as exc:
            wait = int(exc.details.get("retry_after_s", 60))
            resp = login_page(request, 429, "rate_limited", wait)
            resp.headers["Retry-After"] = str(wait)
            return resp
    try:
        who = await identify(st.client, key)
    except WaybillError as exc:
        return login_page(request, web.status_of(exc), exc.code)
    try:
        # Always a new id (no session fixation), and the session this browser had before is ended.
        session_id, _ = await st.sessions.create(who.kind, key, who.shop_id, who.shop_name)
        await st.sessions.delete(request.cookies.get(SESSION_COOKIE))
    except SessionStoreUnavailable:
        return login_page(request, 503, "sessions_down")
    resp = RedirectResponse("/", status_code=303)
    web.set_session_cookie(request, resp, session_id)
    resp.delete_cookie(LOGIN_CSRF_COOKIE, httponly=True, samesite="strict", secure=st.settings.cookie_secure)
    return resp


@router.post("/logout")
async def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    session = await web.current_session(request)
    if session is not None:
        if not csrf_ok(session, csrf_token):
            return web.error_page(request, 403, "csrf_failed")
        # Ended on the server: the cookie opens nothing any more, even replayed.
        await web.state(request).sessions.delete(request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    web.clear_session_cookie(request, resp)
    return resp
