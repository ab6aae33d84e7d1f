"""Marketplace wire format as pure functions (no I/O), tested against recorded payloads.

Calls are form POSTs signed TOP-style: every parameter except ``sign`` sorted by name, name+value
concatenated; md5 = MD5(secret + s + secret), hmac = HMAC-MD5(secret, s); uppercase hex. Answers are
``{"<method>_response": {...}}`` or ``{"error_response": {"code", "msg", "sub_code"?, "sub_msg"?}}``.
Order messages pushed to us are signed the same way (hmac over every other form field).

Shipping calls (their requests: ``consign``): ``taobao.logistics.offline.send`` (one number, split with
``is_split``/``sub_tid``), ``alibaba.ascp.logistics.offline.send`` (several packages), and to change numbers
``taobao.logistics.consign.resend`` / ``alibaba.ascp.logistics.consign.resend``. Business refusals are
sub_codes ``isv.logistics-offline-service-error:XX`` for sends and ``isv.logistics-update-company-or-mailno-
error:XX`` for resends (the codes of each, as public callers list them: a Java ERP's TBAccessException table,
find_string "logistics-update-company-or-mailno-error"); the same XX means different things under each (B04).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from services.shipping.channels.base import beijing_time

CHINA = timezone(timedelta(hours=8))
OFFLINE_SEND = "taobao.logistics.offline.send"
ASCP_OFFLINE_SEND = "alibaba.ascp.logistics.offline.send"
CONSIGN_RESEND = "taobao.logistics.consign.resend"
ASCP_CONSIGN_RESEND = "alibaba.ascp.logistics.consign.resend"
FULLINFO = "taobao.trade.fullinfo.get"
# The seller's trades by modification time, a page of at most 100 (end_modified - start_modified at most a
# day); only the fields asked for. What the paid messages arriving together are read back with at once.
SOLD_INCREMENT = "taobao.trades.sold.increment.get"
SOLD_PAGE_SIZE = 100
SOLD_SPAN_S = 24 * 3600
USER_SELLER = "taobao.user.seller.get"
# TOP's platform errors for a session that is missing, unknown or expired.
SESSION_ERROR_CODES = frozenset({26, 27})
TRADE_FIELDS = (
    "tid,type,status,seller_nick,buyer_nick,payment,num,created,pay_time,consign_time,receiver_name,"
    "receiver_mobile,receiver_state,receiver_city,receiver_district,receiver_address,receiver_zip,weight_g,"
    "orders.oid,orders.title,orders.num,orders.price,orders.status,orders.logistics_company,orders.invoice_no,"
    "orders.consign_pkgs"
)

TOPIC_PAID = "taobao_trade_TradeBuyerPay"
TOPIC_CLOSE = "taobao_trade_TradeClose"
TOPIC_ADDRESS = "taobao_trade_TradeLogisticsAddressChanged"
# A trade paid for, waiting for the seller to ship it: the only one we create an order for.
AWAITING_SHIPMENT = "WAIT_SELLER_SEND_GOODS"
# A trade closed after payment (refund) or before it (by buyer, seller or the platform).
CLOSED_STATUSES = frozenset({"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"})

OFFLINE_PREFIX = "isv.logistics-offline-service-error:"
RESEND_PREFIX = "isv.logistics-update-company-or-mailno-error:"
RETRYABLE_SUB_CODES = frozenset(
    {
        "isp.top-remote-unknown-error",
        "isp.top-remote-connection-timeout",
        "isp.remote-connection-error",
        "isp.top-remote-service-unavailable",
        "isp.remote-service-timeout",
        "accesscontrol.limited-by-app-access-count",
    }
)


def top_sign(params: Mapping[str, str], secret: str, sign_method: str) -> str:
    """TOP's sign as the official Java SDK computes it (TaobaoUtils.signTopRequest, in
    opendingtalk/alibaba-dingtalk-service-sdk src/main/java/com/taobao/api/internal/util/TaobaoUtils.java;
    the method names in com/taobao/api/Constants.java): parameters sorted by name, one whose name or value
    is empty left out (``StringUtils.areNotEmpty``), and ``sign`` itself; name+value joined;
    md5 = MD5(secret + s + secret), hmac = HMAC-MD5(secret, s), hmac-sha256 = HMAC-SHA256(secret, s);
    uppercase hex. The Python 3 SDK (topsdk/util.py get_sign, as vendored in syhien/tb-bot) joins and
    hashes the same way."""
    joined = "".join(f"{k}{params[k]}" for k in sorted(params) if k and params[k] and k != "sign")
    if sign_method == "md5":
        return hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()
    if sign_method == "hmac":
        return hmac.new(secret.encode(), joined.encode(), hashlib.md5).hexdigest().upper()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), joined.encode(), hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unsupported sign_method {sign_method!r}")


def verify_sign(params: Mapping[str, str], secret: str) -> bool:
    sign = params.get("sign")
    method = params.get("sign_method", "md5")
    if not sign or method not in ("md5", "hmac", "hmac-sha256"):
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters, and a forged sign may have them.
    return hmac.compare_digest(top_sign(params, secret, method).encode(), sign.upper().encode())


def china_time(when: datetime) -> str:
    return when.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def parse_china_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)


def build_params(
    method: str,
    *,
    app_key: str,
    secret: str,
    sign_method: str,
    session: str | None,
    now: datetime,
    **extra: str,
) -> dict[str, str]:
    params = {
        "method": method,
        "app_key": app_key,
        "sign_method": sign_method,
        "timestamp": china_time(now),
        "format": "json",
        "v": "2.0",
        **extra,
    }
    if session is not None:
        params["session"] = session
    params["sign"] = top_sign(params, secret, sign_method)
    return params


class Outcome(StrEnum):
    """What an error means for a shipment confirmation."""

    ALREADY_SHIPPED = "already_shipped"  # B04: check whether it shipped with our number
    NUMBER_REJECTED = "number_rejected"  # B60/F04/F05: quarantine, take another, retry
    NUMBER_EXPIRED = "number_expired"  # F01: mark expired, take another, retry
    TRANSIENT = "transient"  # B150/S01, isp.*, rate limit, network: retry with backoff
    FATAL = "fatal"  # anything else: fail with the platform's message


OFFLINE_OUTCOMES = {
    "B04": Outcome.ALREADY_SHIPPED,
    "B60": Outcome.NUMBER_REJECTED,
    "F04": Outcome.NUMBER_REJECTED,
    "F05": Outcome.NUMBER_REJECTED,
    "F01": Outcome.NUMBER_EXPIRED,
    "B150": Outcome.TRANSIENT,
    "S01": Outcome.TRANSIENT,
}
# A resend's codes: P10 运单号不符合规则或已经被使用, F 运单号被识别为假, F01 已经过期, F04/F05 已被使用.
# Every other one (CD19 订单未发货, P06 状态不支持修改, P08 该订单不支持修改, CD22... 拆单) is fatal: asking
# again gives it again.
RESEND_OUTCOMES = {
    "P10": Outcome.NUMBER_REJECTED,
    "F": Outcome.NUMBER_REJECTED,
    "F04": Outcome.NUMBER_REJECTED,
    "F05": Outcome.NUMBER_REJECTED,
    "F01": Outcome.NUMBER_EXPIRED,
}
# P07 未作修改: the trade holds these numbers already (a repeated change whose answer was lost).
RESEND_UNCHANGED = "P07"


class TopError(Exception):
    def __init__(self, code: int | str, msg: str, sub_code: str | None = None, sub_msg: str | None = None) -> None:
        super().__init__(f"{code} {msg}" + (f" {sub_code}" if sub_code else "") + (f": {sub_msg}" if sub_msg else ""))
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg

    @property
    def offline_code(self) -> str | None:
        """B04, B60, F01... for offline-send business errors."""
        if self.sub_code and self.sub_code.startswith(OFFLINE_PREFIX):
            return self.sub_code.removeprefix(OFFLINE_PREFIX)
        return None

    @property
    def resend_code(self) -> str | None:
        """CD19, P08, P10... for resend business errors."""
        if self.sub_code and self.sub_code.startswith(RESEND_PREFIX):
            return self.sub_code.removeprefix(RESEND_PREFIX)
        return None

    @property
    def short_code(self) -> str:
        return self.offline_code or self.resend_code or self.sub_code or str(self.code)

    @property
    def message(self) -> str:
        return self.sub_msg or self.msg

    @property
    def outcome(self) -> Outcome:
        if self.code == "network" or self.code == 7:
            return Outcome.TRANSIENT
        if self.offline_code is not None:
            return OFFLINE_OUTCOMES.get(self.offline_code, Outcome.FATAL)
        if self.resend_code is not None:
            return RESEND_OUTCOMES.get(self.resend_code, Outcome.FATAL)
        if self.sub_code in RETRYABLE_SUB_CODES or (self.sub_code or "").startswith("isp."):
            return Outcome.TRANSIENT
        return Outcome.FATAL


def network_error(exc: Exception) -> TopError:
    return TopError("network", f"{type(exc).__name__}: {exc}")


def response_key(method: str) -> str:
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


def parse_response(method: str, status_code: int, raw: bytes) -> dict[str, Any]:
    """The body under ``<method>_response``, or TopError."""
    if status_code >= 500:
        raise TopError("network", f"HTTP {status_code}")
    try:
        body = json.loads(raw)
    except ValueError:
        raise TopError("network", "marketplace answered with invalid JSON") from None
    if not isinstance(body, dict):
        raise TopError("network", "marketplace answered with a non-object")
    err = body.get("error_response")
    if isinstance(err, dict):
        raise TopError(err.get("code", 0), str(err.get("msg", "")), err.get("sub_code"), err.get("sub_msg"))
    found = body.get(response_key(method))
    if not isinstance(found, dict):
        raise TopError("network", f"no {response_key(method)} in the answer")
    return found


def offline_send_ok(body: dict[str, Any]) -> bool:
    return bool((body.get("shipping") or {}).get("is_success"))


def yuan_to_cents(value: str | int | float | None) -> int:
    if value is None or value == "":
        return 0
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except InvalidOperation:
        return 0


@dataclass(frozen=True)
class Trade:
    tid: str
    status: str
    seller_nick: str
    buyer_nick: str
    payment_cents: int
    receiver_name: str
    receiver_mobile: str
    receiver_state: str
    receiver_city: str
    receiver_district: str
    receiver_address: str
    receiver_zip: str
    weight_g: int
    items: list[dict[str, Any]] = field(default_factory=list)
    shipped_number: str | None = None
    shipped_company: str | None = None
    shipped_numbers: tuple[str, ...] = ()
    pay_time: datetime | None = None

    @property
    def has_address(self) -> bool:
        return bool(self.receiver_name and self.receiver_state and self.receiver_address)


def parse_seller_nick(body: dict[str, Any]) -> str:
    """The nick of ``taobao.user.seller.get``'s user (the seller the session belongs to)."""
    user = body.get("user")
    nick = user.get("nick") if isinstance(user, dict) else None
    if not isinstance(nick, str) or not nick:
        raise TopError("network", "no user.nick in the answer")
    return nick


def parse_trades_page(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """A ``taobao.trades.sold.increment.get`` page: its trades as TOP wrote them (``{"trades": {"trade":
    [...]}}``; ``parse_trade({"trade": t})`` reads one, only when it is wanted) and whether another page
    follows (``has_next``)."""
    trades = (body.get("trades") or {}).get("trade") or []
    if not isinstance(trades, list):
        raise TopError("network", "trades is not a list")
    return [t for t in trades if isinstance(t, dict)], bool(body.get("has_next"))


def parse_trade(body: dict[str, Any]) -> Trade:
    t = body.get("trade") or {}
    lines = (t.get("orders") or {}).get("order") or []
    items = [
        {
            "oid": str(o.get("oid", "")),
            "title": str(o.get("title", "")),
            "num": int(o.get("num", 1) or 1),
            "price_cents": yuan_to_cents(o.get("price")),
        }
        for o in lines
    ]
    shipped = next((o for o in lines if o.get("invoice_no")), None)
    numbers = dict.fromkeys(n for o in lines for n in _line_numbers(o))
    return Trade(
        tid=str(t.get("tid", "")),
        status=str(t.get("status", "")),
        seller_nick=str(t.get("seller_nick", "")),
        buyer_nick=str(t.get("buyer_nick", "")),
        payment_cents=yuan_to_cents(t.get("payment")),
        receiver_name=str(t.get("receiver_name", "")),
        receiver_mobile=str(t.get("receiver_mobile", "")),
        receiver_state=str(t.get("receiver_state", "")),
        receiver_city=str(t.get("receiver_city", "")),
        receiver_district=str(t.get("receiver_district", "")),
        receiver_address=str(t.get("receiver_address", "")),
        receiver_zip=str(t.get("receiver_zip", "")),
        weight_g=int(t.get("weight_g") or 0),
        items=items,
        shipped_number=str(shipped["invoice_no"]) if shipped else None,
        shipped_company=str(shipped.get("logistics_company") or "") if shipped else None,
        shipped_numbers=tuple(numbers),
        pay_time=beijing_time(t.get("pay_time")),
    )


def _line_numbers(line: dict[str, Any]) -> list[str]:
    """A line's numbers: its invoice_no, then its consignment's packages (``consign_pkgs``, a list or TOP's
    ``{"consign_pkg": [...]}`` wrapping; the sandbox's field, unconfirmed on the real platform)."""
    pkgs = line.get("consign_pkgs")
    if isinstance(pkgs, dict):
        pkgs = pkgs.get("consign_pkg")
    found = [str(line["invoice_no"])] if line.get("invoice_no") else []
    for pkg in pkgs if isinstance(pkgs, list) else []:
        if isinstance(pkg, dict) and pkg.get("out_sid"):
            found.append(str(pkg["out_sid"]))
    return found


@dataclass(frozen=True)
class Message:
    id: str
    topic: str
    content: dict[str, Any]
    user_nick: str
    user_id: str
    pub_time: str
    timestamp: str | None

    @property
    def tid(self) -> str | None:
        tid = self.content.get("tid")
        return str(tid) if tid is not None else None


class BadMessage(ValueError):
    pass


def parse_message(form: Mapping[str, str]) -> Message:
    for name in ("id", "topic", "content", "user_nick"):
        if not form.get(name):
            raise BadMessage(f"missing {name}")
    try:
        content = json.loads(form["content"])
    except ValueError:
        raise BadMessage("content is not JSON") from None
    if not isinstance(content, dict):
        raise BadMessage("content is not an object")
    return Message(
        id=form["id"],
        topic=form["topic"],
        content=content,
        user_nick=form["user_nick"],
        user_id=form.get("user_id", ""),
        pub_time=form.get("pub_time", ""),
        timestamp=form.get("timestamp"),
    )


def message_fresh(form: Mapping[str, str], window_s: float, now: datetime | None = None) -> bool:
    """A message signed more than ``window_s`` from now is refused (replay of a captured push)."""
    if window_s <= 0:
        return True
    stamp = form.get("timestamp")
    if not stamp:
        return False
    try:
        sent = parse_china_time(stamp)
    except ValueError:
        return False
    return abs(((now or datetime.now(UTC)) - sent).total_seconds()) <= window_s
