"""The shipping methods: sends (one number, a split send of some lines, several packages) and resends.

- ``taobao.logistics.offline.send`` (``tid``, ``out_sid``, ``company_code``; split: ``is_split`` = 1 and
  ``sub_tid`` = comma-separated oids) → ``{"shipping": {"is_success": true}}``.
- ``alibaba.ascp.logistics.offline.send`` (``tid``, ``sub_tid``?, ``consign_pkgs`` = JSON list of
  ``{company_code, out_sid}``) → ``{"result": {"success": true}}`` (AlibabaAscpLogisticsOfflineSendResultDto).
- ``taobao.logistics.consign.resend`` (``tid``, ``out_sid``, ``company_code``, ``is_split``/``sub_tid``) and
  ``alibaba.ascp.logistics.consign.resend`` (``tid``, ``sub_tids``?, ``consign_pkgs``): the consignment's
  numbers replaced, for a shipped trade and an offline send within 24 h (on the sandbox clock).

Sends refuse with ``isv.logistics-offline-service-error:XX``, resends with
``isv.logistics-update-company-or-mailno-error:XX``, codes and meanings as public callers list them (see
``services.shipping``'s Taobao protocol for the source); where no code is published the sandbox's choice is
said so. Every refusal about a number names it in sub_msg, as the real ones do ("运单号 ... 已被使用").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.sandbox.marketplace.protocol import TopError, offline_error, resend_error, trade_id
from services.sandbox.marketplace.store import Marketplace
from services.sandbox.marketplace.trades import SHIPPABLE, Consignment, Package, Trade, TradeStatus
from services.sandbox.numbers import CARRIERS, Carrier, NumberState

ASCP_SEND = "alibaba.ascp.logistics.offline.send"
RESEND = "taobao.logistics.consign.resend"
ASCP_RESEND = "alibaba.ascp.logistics.consign.resend"
RESEND_WINDOW_S = 24 * 3600  # 自己联系发货的必须24小时内才可修改 (alibaba.ascp.logistics.consign.resend)
MAX_PACKAGES = 20  # unconfirmed: the platform publishes no limit
# Carriers the marketplace knows but does not take for a domestic offline send: B57, not B56.
UNSUPPORTED_CARRIERS = frozenset({"DHL", "FEDEX", "UPS", "TNT", "OTHER"})
RESENDABLE = frozenset({TradeStatus.SELLER_CONSIGNED_PART, TradeStatus.WAIT_BUYER_CONFIRM_GOODS})

Refuse = Callable[[str, str], TopError]


@dataclass(frozen=True)
class Codes:
    """The XX a send and a resend answer for the same fault."""

    refuse: Refuse
    no_number: str
    no_carrier: str
    number_rule: str
    discarded: str = "F04"
    other_seller: str = "F05"
    expired: str = "F01"


SEND_CODES = Codes(offline_error, no_number="B59", no_carrier="B56", number_rule="B60")
# Resend: P01 参数错误, P03 无效的物流公司, P10 运单号不符合规则或已经被使用.
RESEND_CODES = Codes(resend_error, no_number="P01", no_carrier="P03", number_rule="P10")


def _packages(params: dict[str, str], ascp: bool, codes: Codes) -> list[Package]:
    """The packages a call names: its out_sid and company_code, or (ascp) every one of consign_pkgs."""
    if not ascp:
        return [_package(params.get("company_code", ""), params.get("out_sid", ""), codes)]
    try:
        rows = json.loads(params.get("consign_pkgs") or "null")
    except ValueError:
        rows = None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise codes.refuse("P01", "consign_pkgs 数据为空或格式不对 (a JSON list of {company_code, out_sid})")
    if len(rows) > MAX_PACKAGES:
        raise codes.refuse("P01", f"consign_pkgs 最多 {MAX_PACKAGES} 个包裹 (at most {MAX_PACKAGES} packages)")
    found = [_package(str(r.get("company_code") or ""), str(r.get("out_sid") or ""), codes) for r in rows]
    numbers = [p.out_sid for p in found]
    twice = next((n for n in numbers if numbers.count(n) > 1), None)
    if twice is not None:
        raise codes.refuse(codes.number_rule, f"运单号 {twice} 重复 (the same number in two packages)")
    return found


def _package(company: str, out_sid: str, codes: Codes) -> Package:
    company, out_sid = company.strip(), out_sid.strip()
    if not out_sid:
        raise codes.refuse(codes.no_number, "运单号不能为空 (out_sid is empty)")
    if codes is SEND_CODES and company in UNSUPPORTED_CARRIERS:
        raise codes.refuse("B57", f"该物流公司不支持线下发货 (carrier {company} is not supported)")
    if company not in CARRIERS:
        raise codes.refuse(codes.no_carrier, f"物流公司不存在 (no carrier {company!r})")
    return Package(company, out_sid)


def _sub_tids(params: dict[str, str], ascp: bool, name: str, codes: Codes) -> list[str] | None:
    """The split's oids; None for the whole trade. The taobao.* calls need is_split and sub_tid together."""
    oids = [o.strip() for o in params.get(name, "").split(",") if o.strip()]
    if not ascp:
        split = params.get("is_split", "0").strip() == "1"
        if split and not oids:
            raise codes.refuse("CD26", "拆分的子订单没有传子订单号 (is_split=1 needs sub_tid)")
        if oids and not split:
            raise codes.refuse("CD25", "拆单标记和子订单列表两者必须都填或者都不填 (sub_tid needs is_split=1)")
    if len(set(oids)) != len(oids):
        raise codes.refuse("CD24", f"{name} 重复 (an oid is given twice)")
    return oids or None


def _check_number(market: Marketplace, seller: str, tid: str, package: Package, codes: Codes) -> None:
    """Whether the seller may ship ``tid`` with the package's number; a number the sandbox never issued may be
    typed in. A number ``tid`` holds already is its own (a resend that keeps it)."""
    carrier: Carrier = CARRIERS[package.company_code]
    n, company = package.out_sid, carrier.code
    if not carrier.matches(n):
        rule = f"运单号 {n} 不符合 {company} 的规则 (does not match {carrier.reg_mail_no})"
        raise codes.refuse(codes.number_rule, rule)
    issued = market.registry.numbers.get(n)
    if issued is not None and issued.cp_code != company:
        raise codes.refuse(codes.number_rule, f"运单号 {n} 不属于 {company} (issued by {issued.cp_code})")
    if issued is not None and issued.state is NumberState.DISCARDED:
        raise codes.refuse(codes.discarded, f"运单号 {n} 已作废 (the number was cancelled at the courier)")
    used_by = market.used_numbers.get(n)
    if used_by is not None and used_by != tid:
        if market.trades[used_by].seller_nick != seller:
            raise codes.refuse(codes.other_seller, f"运单号 {n} 已被其他卖家使用 (number used by another seller)")
        raise codes.refuse(codes.number_rule, f"运单号 {n} 已被使用 (number already used on trade {used_by})")
    if issued is not None and issued.expire_at <= time.time() and used_by != tid:
        raise codes.refuse(codes.expired, f"运单号 {n} 已过期 (number expired)")


def _numbers(
    market: Marketplace, seller: str, trade: Trade, packages: list[Package], codes: Codes, own: Consignment | None
) -> None:
    """Each package's number checked; one of the trade's other consignments holds is used (``own``: the
    consignment a resend replaces, whose numbers it may keep)."""
    for package in packages:
        _check_number(market, seller, trade.tid, package, codes)
    numbers = [p.out_sid for p in packages]
    for c in trade.consignments:
        held = next((n for n in numbers if n in c.numbers), None)
        if held is not None and c is not own:
            raise codes.refuse(codes.number_rule, f"运单号 {held} 已被使用 (already on this trade's lines {c.oids})")


def send(market: Marketplace, seller: str, params: dict[str, str], ascp: bool) -> dict[str, Any]:
    """An offline send (checks in the order the README lists them); the answer body."""
    tid = trade_id(params)
    packages = _packages(params, ascp, SEND_CODES)
    trade = market.own_trade(seller, tid)
    if trade is None:
        raise offline_error("B01", f"订单不存在 (trade {tid} does not exist)")
    if trade.status not in SHIPPABLE:
        # PAID_FORBID_CONSIGN is refused with B04 too: the trade cannot ship, whatever the number.
        raise offline_error("B04", f"订单状态为 {trade.status}，不能发货 (trade is {trade.status}, cannot ship)")
    oids = _send_lines(trade, _sub_tids(params, ascp, "sub_tid", SEND_CODES))
    _numbers(market, seller, trade, packages, SEND_CODES, None)
    market.ship(trade, oids, packages)
    return {"result": {"success": True}} if ascp else {"shipping": {"is_success": True}}


def _send_lines(trade: Trade, oids: list[str] | None) -> list[str]:
    if oids is None:
        if trade.consignments:
            raise offline_error("CD23", "订单已拆单，必须传入子交易号列表和拆单标记 (split already: name the lines)")
        return [line.oid for line in trade.orders]
    lines = {line.oid for line in trade.orders}
    unknown = next((o for o in oids if o not in lines), None)
    if unknown is not None:
        raise offline_error("B06", f"子订单 {unknown} 不属于该交易 (sub_tid {unknown} is not a line of the trade)")
    shipped = next((o for o in oids if trade.consignment_of(o) is not None), None)
    if shipped is not None:
        raise offline_error("B04", f"子订单 {shipped} 已发货，不能再发货 (line {shipped} has shipped)")
    return oids


def resend(market: Marketplace, seller: str, params: dict[str, str], ascp: bool) -> dict[str, Any]:
    """A resend: the consignment of the lines named (or the trade's one) gets the numbers given."""
    tid = trade_id(params)
    packages = _packages(params, ascp, RESEND_CODES)
    trade = market.own_trade(seller, tid)
    if trade is None:
        raise resend_error("CD30", f"未查到交易订单 (trade {tid} does not exist)")
    if not trade.consignments:
        raise resend_error("CD19", f"订单未发货，请先发货后再修改 (trade is {trade.status}, not shipped)")
    if trade.status not in RESENDABLE:
        raise resend_error("P06", f"当前订单状态不支持修改 (trade is {trade.status})")
    consignment = _resent(trade, _sub_tids(params, ascp, "sub_tids" if ascp else "sub_tid", RESEND_CODES))
    # Unconfirmed code: the platform says only that an offline send may change within 24 h.
    if market.sim_now() - consignment.consigned_sim > RESEND_WINDOW_S:
        raise resend_error("P08", "该订单不支持修改：自己联系发货超过24小时 (shipped more than 24 h ago)")
    _numbers(market, seller, trade, packages, RESEND_CODES, consignment)
    if packages == consignment.packages:
        raise resend_error("P07", "未作修改 (the trade holds these numbers already)")
    market.resend(trade, consignment, packages)
    return {"result": {"success": True}} if ascp else {"shipping": {"is_success": True}}


def _resent(trade: Trade, oids: list[str] | None) -> Consignment:
    if oids is None:
        whole = trade.consignments[0]
        if len(trade.consignments) > 1 or set(whole.oids) != {line.oid for line in trade.orders}:
            raise resend_error("CD22", "订单已拆单，必须传入子交易号列表 (split: name the lines to change)")
        return whole
    found = trade.consignment_of(oids[0])
    if found is None or set(found.oids) != set(oids):
        raise resend_error("B06", f"子订单号没有精确匹配 ({','.join(oids)} is not one consignment's lines)")
    return found
