"""The gateway's four methods: who may call, which faults strike, and each method's answer or refusal."""

from __future__ import annotations

import time
from typing import Any

from services.sandbox.marketplace.protocol import (
    TopError,
    authenticate,
    offline_error,
    required,
    select_fields,
    trade_id,
)
from services.sandbox.marketplace.store import Marketplace
from services.sandbox.marketplace.trades import SHIPPABLE, Trade
from services.sandbox.numbers import CARRIERS, Carrier, NumberState

SESSION_METHODS = frozenset({"taobao.trade.fullinfo.get", "taobao.logistics.offline.send", "taobao.user.seller.get"})
# Carriers the marketplace knows but does not take for a domestic offline send: B57, not B56.
UNSUPPORTED_CARRIERS = frozenset({"DHL", "FEDEX", "UPS", "TNT", "OTHER"})


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
    if method == "taobao.user.seller.get":
        return _user_seller(market, seller, params)
    return _offline_send(market, seller, params)


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
        if method == "taobao.logistics.offline.send":
            xx = faults.rng.choice(("B150", "S01"))
            raise offline_error(xx, "系统繁忙，请稍后重试 (system busy, try again later)")
        raise TopError(15, "Remote service error", "isp.top-remote-service-unavailable", "service unavailable")


def _companies() -> dict[str, Any]:
    rows = [{"id": c.id, "code": c.code, "name": c.name, "reg_mail_no": c.reg_mail_no} for c in CARRIERS.values()]
    return {"logistic_companies": {"logistics_company": rows}}


def _own_trade(market: Marketplace, seller: str, tid: str) -> Trade | None:
    """The seller's trade; another seller's is as unknown as one that does not exist."""
    trade = market.trades.get(tid)
    return trade if trade is not None and trade.seller_nick == seller else None


def _fullinfo(market: Marketplace, seller: str, params: dict[str, str]) -> dict[str, Any]:
    tid = trade_id(params)
    fields = required(params, "fields")
    trade = _own_trade(market, seller, tid)
    if trade is None:
        raise TopError(15, "Remote service error", "isv.trade-not-exist", f"交易不存在 (trade {tid} does not exist)")
    return {"trade": select_fields(trade.to_top(), fields)}


def _user_seller(market: Marketplace, nick: str, params: dict[str, str]) -> dict[str, Any]:
    """The seller the session belongs to (what a platform binds a shop by)."""
    fields = required(params, "fields")
    seller = market.sellers[nick]
    user = {"nick": seller.nick, "user_id": seller.user_id, "type": "C", "has_shop": True}
    return {"user": select_fields(user, fields)}


def _offline_send(market: Marketplace, seller: str, params: dict[str, str]) -> dict[str, Any]:
    tid = trade_id(params)
    out_sid = params.get("out_sid", "").strip()
    company = params.get("company_code", "").strip()
    if not out_sid:
        raise offline_error("B59", "运单号不能为空 (out_sid is empty)")
    carrier = _offline_carrier(company)
    trade = _own_trade(market, seller, tid)
    if trade is None:
        raise offline_error("B01", f"订单不存在 (trade {tid} does not exist)")
    if trade.status not in SHIPPABLE:
        # PAID_FORBID_CONSIGN is refused with B04 too: the trade cannot ship, whatever the number.
        raise offline_error("B04", f"订单状态为 {trade.status}，不能发货 (trade is {trade.status}, cannot ship)")
    _check_number(market, seller, carrier, out_sid)
    market.ship(trade, company, out_sid)
    return {"shipping": {"is_success": True}}


def _offline_carrier(company: str) -> Carrier:
    if company in UNSUPPORTED_CARRIERS:
        raise offline_error("B57", f"该物流公司不支持线下发货 (carrier {company} is not supported)")
    carrier = CARRIERS.get(company)
    if carrier is None:
        raise offline_error("B56", f"物流公司不存在 (no carrier {company!r})")
    return carrier


def _check_number(market: Marketplace, seller: str, carrier: Carrier, out_sid: str) -> None:
    """Whether the seller may ship with ``out_sid``; a number the sandbox never issued may be typed in."""
    company = carrier.code
    if not carrier.matches(out_sid):
        raise offline_error("B60", f"运单号不符合 {company} 的规则 (does not match {carrier.reg_mail_no})")
    issued = market.registry.numbers.get(out_sid)
    if issued is not None and issued.cp_code != company:
        raise offline_error("B60", f"运单号不属于 {company} (issued by {issued.cp_code})")
    if issued is not None and issued.state is NumberState.DISCARDED:
        raise offline_error("F04", "运单号已作废 (the number was cancelled at the courier)")
    used_by = market.used_numbers.get(out_sid)
    if used_by is not None:
        if market.trades[used_by].seller_nick != seller:
            raise offline_error("F05", "运单号已被其他卖家使用 (number used by another seller)")
        raise offline_error("B60", f"运单号已被使用 (number already used on trade {used_by})")
    if issued is not None and issued.expire_at <= time.time():
        raise offline_error("F01", "运单号已过期 (number expired)")
