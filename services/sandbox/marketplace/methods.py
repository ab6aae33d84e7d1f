"""The gateway's methods: who may call, which faults strike, and each method's answer or refusal (the
shipping ones in ``consign``)."""

from __future__ import annotations

from typing import Any

from services.sandbox.clock import parse_china_time
from services.sandbox.marketplace import consign
from services.sandbox.marketplace.protocol import (
    TopError,
    authenticate,
    offline_error,
    required,
    select_fields,
    trade_id,
)
from services.sandbox.marketplace.store import Marketplace
from services.sandbox.marketplace.trades import TRADE_STATES
from services.sandbox.numbers import CARRIERS

OFFLINE_SEND = "taobao.logistics.offline.send"
SENDS = frozenset({OFFLINE_SEND, consign.ASCP_SEND})
RESENDS = frozenset({consign.RESEND, consign.ASCP_RESEND})
SOLD_INCREMENT = "taobao.trades.sold.increment.get"
SESSION_METHODS = frozenset({"taobao.trade.fullinfo.get", "taobao.user.seller.get", SOLD_INCREMENT, *SENDS, *RESENDS})
# TOP's limits on the incremental list: at most a day between start_modified and end_modified, pages of 1 to
# 100 trades (40 when page_size is not given).
SOLD_SPAN_S = 24 * 3600
SOLD_PAGE_MAX = 100
SOLD_PAGE_DEFAULT = 40


def call(market: Marketplace, params: dict[str, str]) -> dict[str, Any]:
    """The body of a successful call; a refusal raises TopError."""
    settings = market.settings
    method = authenticate(
        params, settings.marketplace_app_key, settings.marketplace_app_secret, settings.marketplace_timestamp_window_s
    )
    seller = _session_seller(market, params) if method in SESSION_METHODS else None
    _injected_faults(market, method)
    if method == "taobao.logistics.companies.get":
        return _companies()
    assert seller is not None
    if method == "taobao.trade.fullinfo.get":
        return _fullinfo(market, seller, params)
    if method == SOLD_INCREMENT:
        return _sold_increment(market, seller, params)
    if method == "taobao.user.seller.get":
        return _user_seller(market, seller, params)
    if method in SENDS:
        return consign.send(market, seller, params, ascp=method == consign.ASCP_SEND)
    return consign.resend(market, seller, params, ascp=method == consign.ASCP_RESEND)


def _session_seller(market: Marketplace, params: dict[str, str]) -> str:
    session = params.get("session")
    if not session:
        raise TopError(26, "Missing session")
    nick = market.sessions.get(session)
    if nick is None:
        raise TopError(27, "Invalid session", "invalid-sessionkey", "session does not belong to any seller")
    return nick


def _injected_faults(market: Marketplace, method: str) -> None:
    faults = market.faults
    if faults.chance(faults.config.marketplace_rate_limit_rate):
        raise TopError(
            7, "App Call Limited", "accesscontrol.limited-by-app-access-count", "This ban will last for 1 more seconds"
        )
    if faults.error(method):
        if method in SENDS:
            xx = faults.rng.choice(("B150", "S01"))
            raise offline_error(xx, "系统繁忙，请稍后重试 (system busy, try again later)")
        raise TopError(15, "Remote service error", "isp.top-remote-service-unavailable", "service unavailable")


def _companies() -> dict[str, Any]:
    rows = [{"id": c.id, "code": c.code, "name": c.name, "reg_mail_no": c.reg_mail_no} for c in CARRIERS.values()]
    return {"logistic_companies": {"logistics_company": rows}}


def _fullinfo(market: Marketplace, seller: str, params: dict[str, str]) -> dict[str, Any]:
    tid = trade_id(params)
    fields = required(params, "fields")
    trade = market.own_trade(seller, tid)
    if trade is None:
        raise TopError(15, "Remote service error", "isv.trade-not-exist", f"交易不存在 (trade {tid} does not exist)")
    return {"trade": select_fields(trade.to_top(), fields)}


def _user_seller(market: Marketplace, nick: str, params: dict[str, str]) -> dict[str, Any]:
    """The seller the session belongs to (what a platform binds a shop by)."""
    fields = required(params, "fields")
    seller = market.sellers[nick]
    user = {"nick": seller.nick, "user_id": seller.user_id, "type": "C", "has_shop": True}
    return {"user": select_fields(user, fields)}


def _sold_increment(market: Marketplace, seller: str, params: dict[str, str]) -> dict[str, Any]:
    """The seller's trades modified from start_modified to end_modified (a day at most), newest first, in
    ``status`` when given, a page of the asked-for fields; ``use_has_next=true`` answers ``has_next`` instead of
    counting ``total_results``."""
    fields = required(params, "fields")
    start, end = _china_param(params, "start_modified"), _china_param(params, "end_modified")
    if end < start or end - start > SOLD_SPAN_S:
        raise TopError(
            41, "Invalid arguments", "isv.invalid-parameter:end_modified", "时间跨度不能超过一天 (at most one day)"
        )
    page_no = _int_param(params, "page_no", 1, 1, 10**6)
    page_size = _int_param(params, "page_size", SOLD_PAGE_DEFAULT, 1, SOLD_PAGE_MAX)
    status = params.get("status", "").strip()
    if status and status not in TRADE_STATES:
        raise TopError(41, "Invalid arguments", "isv.invalid-parameter:status", f"unknown status {status}")
    found = [
        t
        for t in market.trades.values()
        if t.seller_nick == seller and start <= int(t.modified) <= end and (not status or t.status == status)
    ]
    found.sort(key=lambda t: t.modified, reverse=True)
    page = found[(page_no - 1) * page_size : page_no * page_size]
    body: dict[str, Any] = {"trades": {"trade": [select_fields(t.to_top(), fields) for t in page]}}
    if params.get("use_has_next") == "true":
        body["has_next"] = len(found) > page_no * page_size
    else:
        body["total_results"] = len(found)
    return body


def _china_param(params: dict[str, str], name: str) -> float:
    text = required(params, name)
    try:
        return parse_china_time(text)
    except ValueError:
        raise TopError(
            41, "Invalid arguments", f"isv.invalid-parameter:{name}", f"{name}: yyyy-MM-dd HH:mm:ss"
        ) from None


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise TopError(41, "Invalid arguments", f"isv.invalid-parameter:{name}", f"{name} must be {low} to {high}")
    return int(text)
