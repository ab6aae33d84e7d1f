"""The marketplace (Taobao Open Platform style): the signed gateway, trades, offline send and order messages.

Answers follow TOP: HTTP 200 always, ``<method>_response`` on success, ``error_response`` on failure. Platform
errors (bad signature, stale timestamp, ...) carry code and msg but no sub_code, as TOP's do; business errors
are code 15 with a sub_code.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from services.sandbox import addresses
from services.sandbox.addresses import City, Receiver
from services.sandbox.clock import china_time, parse_china_time
from services.sandbox.faults import MARKETPLACE_ENDPOINTS, FaultInjector
from services.sandbox.numbers import CARRIERS, NumberRegistry, NumberState
from services.sandbox.settings import SandboxSettings
from services.sandbox.signing import top_sign, top_verify

log = logging.getLogger("sandbox.marketplace")

TRADE_STATES = (
    "WAIT_BUYER_PAY",
    "WAIT_SELLER_SEND_GOODS",
    "SELLER_CONSIGNED_PART",
    "WAIT_BUYER_CONFIRM_GOODS",
    "TRADE_BUYER_SIGNED",
    "TRADE_FINISHED",
    "TRADE_CLOSED",
    "TRADE_CLOSED_BY_TAOBAO",
    "PAID_FORBID_CONSIGN",
)
SHIPPABLE = frozenset({"WAIT_SELLER_SEND_GOODS", "SELLER_CONSIGNED_PART"})
CLOSABLE = frozenset({"WAIT_BUYER_PAY", "WAIT_SELLER_SEND_GOODS", "PAID_FORBID_CONSIGN"})
# Carriers the marketplace knows but does not take for a domestic offline send: B57, not B56.
UNSUPPORTED_CARRIERS = frozenset({"DHL", "FEDEX", "UPS", "TNT", "OTHER"})
SESSION_METHODS = frozenset({"taobao.trade.fullinfo.get", "taobao.logistics.offline.send", "taobao.user.seller.get"})

TOPIC_PAID = "taobao_trade_TradeBuyerPay"
TOPIC_CLOSE = "taobao_trade_TradeClose"
TOPIC_ADDRESS = "taobao_trade_TradeLogisticsAddressChanged"


class TopError(Exception):
    def __init__(self, code: int, msg: str, sub_code: str | None = None, sub_msg: str | None = None) -> None:
        super().__init__(f"{code} {msg} {sub_code or ''} {sub_msg or ''}")
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.sub_code is not None:
            error["sub_code"] = self.sub_code
        if self.sub_msg is not None:
            error["sub_msg"] = self.sub_msg
        error["request_id"] = request_id
        return {"error_response": error}


def offline_error(xx: str, sub_msg: str) -> TopError:
    return TopError(15, "Remote service error", f"isv.logistics-offline-service-error:{xx}", sub_msg)


def yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def response_key(method: str) -> str:
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


@dataclass
class Seller:
    nick: str
    user_id: str
    session: str


@dataclass(slots=True)
class OrderLine:
    oid: str
    title: str
    num: int
    price_cents: int


@dataclass(slots=True)
class Trade:
    tid: str
    seller_nick: str
    buyer_nick: str
    status: str
    created: float
    modified: float
    pay_time: float | None
    receiver: Receiver
    orders: list[OrderLine]
    weight_g: int
    company_code: str | None = None
    out_sid: str | None = None
    consign_time: float | None = None

    @property
    def payment_cents(self) -> int:
        return sum(line.price_cents * line.num for line in self.orders)

    def to_top(self) -> dict[str, Any]:
        payment = yuan(self.payment_cents)
        orders: list[dict[str, Any]] = []
        for line in self.orders:
            order: dict[str, Any] = {
                "oid": line.oid,
                "title": line.title,
                "num": line.num,
                "price": yuan(line.price_cents),
                "total_fee": yuan(line.price_cents * line.num),
                "payment": yuan(line.price_cents * line.num),
                "status": self.status,
            }
            if self.out_sid is not None:
                order["logistics_company"] = self.company_code
                order["invoice_no"] = self.out_sid
            orders.append(order)
        trade: dict[str, Any] = {
            "tid": self.tid,
            "type": "fixed",
            "status": self.status,
            "seller_nick": self.seller_nick,
            "buyer_nick": self.buyer_nick,
            "payment": payment,
            "total_fee": payment,
            "post_fee": "0.00",
            "num": sum(line.num for line in self.orders),
            "created": china_time(self.created),
            "modified": china_time(self.modified),
            "receiver_name": self.receiver.name,
            "receiver_mobile": self.receiver.mobile,
            "receiver_state": self.receiver.state,
            "receiver_city": self.receiver.city,
            "receiver_district": self.receiver.district,
            "receiver_address": self.receiver.address,
            "receiver_zip": self.receiver.zip,
            "weight_g": self.weight_g,
            "orders": {"order": orders},
        }
        if self.pay_time is not None:
            trade["pay_time"] = china_time(self.pay_time)
        if self.consign_time is not None:
            trade["consign_time"] = china_time(self.consign_time)
        return trade

    def control_view(self) -> dict[str, Any]:
        view = self.to_top()
        view["shipping"] = (
            {"company_code": self.company_code, "out_sid": self.out_sid, "consign_time": view.get("consign_time")}
            if self.out_sid is not None
            else None
        )
        return view


def select_fields(trade: dict[str, Any], fields: str) -> dict[str, Any]:
    """Only the asked-for fields, as TOP does; any ``orders.x`` asks for the whole orders list."""
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    if any(f.startswith("orders.") for f in wanted):
        wanted.add("orders")
    return {k: v for k, v in trade.items() if k in wanted}


@dataclass(slots=True)
class Message:
    id: str
    tid: str
    topic: str
    content: str
    pub_time: float
    user_id: str
    user_nick: str
    attempts: int = 0
    delivered_at: float | None = None
    last_result: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tid": self.tid,
            "topic": self.topic,
            "content": self.content,
            "pub_time": china_time(self.pub_time),
            "attempts": self.attempts,
            "delivered": self.delivered_at is not None,
            "last_result": self.last_result,
        }


@dataclass
class MessageStats:
    published: int = 0
    delivered: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    duplicates: int = 0

    def view(self) -> dict[str, int]:
        return {
            "published": self.published,
            "delivered": self.delivered,
            "pending": self.published - self.delivered,
            "attempts": self.attempts,
            "failed_attempts": self.failed_attempts,
            "duplicates": self.duplicates,
        }


@dataclass
class Marketplace:
    settings: SandboxSettings
    faults: FaultInjector
    registry: NumberRegistry
    new_client: Callable[[], httpx.AsyncClient]
    rng: random.Random = field(init=False)
    sellers: dict[str, Seller] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    trades: dict[str, Trade] = field(default_factory=dict)
    used_numbers: dict[str, str] = field(default_factory=dict)  # out_sid -> tid it shipped
    messages: dict[str, Message] = field(default_factory=dict)
    stats: MessageStats = field(default_factory=MessageStats)
    _pending: dict[str, deque[Message]] = field(default_factory=dict)  # per trade, delivered in order
    _ready: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _timers: set[asyncio.TimerHandle] = field(default_factory=set)
    _ids: itertools.count[int] = field(init=False)
    _tids: int = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.settings.seed)
        # 19-digit ids like real Taobao tids: past 2^53, which is why every id goes on the wire as a string.
        self._tids = 3_000_000_000_000_000_000 + random.SystemRandom().randrange(10**17)
        self._ids = itertools.count(1_000_000_000_000 + random.SystemRandom().randrange(10**12))

    # -- sellers and trades (driven by the control endpoints) -------------------------------------------

    def create_seller(self, nick: str | None = None) -> Seller:
        if nick is not None and nick in self.sellers:
            return self.sellers[nick]
        n = len(self.sellers) + 1
        seller = Seller(
            nick=nick or f"沙箱店铺{n:03d}",
            user_id=str(2_200_000_000_000 + self.rng.randrange(10**11)),
            session=f"6100{secrets.token_hex(20)}",
        )
        self.sellers[seller.nick] = seller
        self.sessions[seller.session] = seller.nick
        return seller

    def _next_tid(self) -> str:
        self._tids += self.rng.randint(1, 997)
        return str(self._tids)

    def _buyer_nick(self) -> str:
        return f"tb{self.rng.randrange(10**8, 10**11)}"

    def _order_lines(self) -> tuple[list[OrderLine], int]:
        lines: list[OrderLine] = []
        weight = 0
        for _ in range(self.rng.choices((1, 2, 3), weights=(70, 22, 8))[0]):
            title, (pmin, pmax), (wmin, wmax) = self.rng.choice(addresses.ITEMS)
            num = self.rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            price = self.rng.randrange(pmin, pmax + 1, 10)  # prices end in a 0 cent, like shop prices do
            lines.append(OrderLine(self._next_tid(), title, num, price))
            weight += self.rng.randint(wmin, wmax) * num
        return lines, min(20_000, max(100, weight))

    def create_trades(self, seller_nick: str, count: int, paid: bool) -> list[str]:
        now = time.time()
        tids: list[str] = []
        for _ in range(count):
            lines, weight = self._order_lines()
            created = now - self.rng.uniform(60, 3600)
            trade = Trade(
                tid=self._next_tid(),
                seller_nick=seller_nick,
                buyer_nick=self._buyer_nick(),
                status="WAIT_SELLER_SEND_GOODS" if paid else "WAIT_BUYER_PAY",
                created=created,
                modified=now if paid else created,
                pay_time=now if paid else None,
                receiver=addresses.receiver(self.rng),
                orders=lines,
                weight_g=weight,
            )
            self.trades[trade.tid] = trade
            tids.append(trade.tid)
            if paid:
                self._publish_paid(trade)
        return tids

    def pay(self, trade: Trade) -> None:
        if trade.status != "WAIT_BUYER_PAY":
            raise ValueError(f"trade is {trade.status}, not WAIT_BUYER_PAY")
        trade.status = "WAIT_SELLER_SEND_GOODS"
        trade.pay_time = trade.modified = time.time()
        self._publish_paid(trade)

    def close(self, trade: Trade) -> None:
        if trade.status not in CLOSABLE:
            raise ValueError(f"a {trade.status} trade cannot be closed")
        trade.status = "TRADE_CLOSED"
        trade.modified = time.time()
        content = {
            "tid": trade.tid,
            "oid": trade.orders[0].oid,
            "seller_nick": trade.seller_nick,
            "buyer_nick": trade.buyer_nick,
            "payment": yuan(trade.payment_cents),
            "status": "TRADE_CLOSED",
            "type": "fixed",
        }
        self.publish(trade, TOPIC_CLOSE, content)

    def change_address(self, trade: Trade, changes: dict[str, str]) -> None:
        if trade.status not in {"WAIT_BUYER_PAY", "WAIT_SELLER_SEND_GOODS", "PAID_FORBID_CONSIGN"}:
            raise ValueError(f"the address of a {trade.status} trade cannot change")
        base = addresses.receiver(self.rng) if not changes else trade.receiver
        trade.receiver = replace(base, **changes)
        trade.modified = time.time()
        self.publish(
            trade, TOPIC_ADDRESS, {"tid": trade.tid, "seller_nick": trade.seller_nick, "buyer_nick": trade.buyer_nick}
        )

    def set_status(self, trade: Trade, status: str) -> None:
        if status not in TRADE_STATES:
            raise ValueError(f"unknown trade status {status!r}")
        trade.status = status
        trade.modified = time.time()

    def destination_of(self, number: str) -> City | None:
        tid = self.used_numbers.get(number)
        if tid is None:
            return None
        receiver = self.trades[tid].receiver
        return addresses.city_of(receiver.state, receiver.city)

    def parcel_signed(self, number: str) -> None:
        """The tracking simulation saw the buyer sign: the trade follows, as on the real marketplace."""
        tid = self.used_numbers.get(number)
        if tid is not None and self.trades[tid].status == "WAIT_BUYER_CONFIRM_GOODS":
            self.trades[tid].status = "TRADE_BUYER_SIGNED"
            self.trades[tid].modified = time.time()

    # -- the gateway ------------------------------------------------------------------------------------

    def _authenticate(self, params: dict[str, str]) -> str:
        """The method name, once app key, signature, timestamp, version and format are right."""
        app_key = params.get("app_key")
        if not app_key:
            raise TopError(28, "Missing app key")
        if app_key != self.settings.marketplace_app_key:
            raise TopError(29, "Invalid app Key", sub_msg=f"unknown app_key {app_key!r}")
        sign_method = params.get("sign_method", "md5")
        if sign_method not in {"md5", "hmac"}:
            raise TopError(41, "Invalid arguments", "isv.invalid-parameter:sign_method", "sign_method: md5 or hmac")
        sign = params.get("sign")
        if not sign:
            raise TopError(24, "Missing signature")
        if not top_verify(params, self.settings.marketplace_app_secret, sign_method, sign):
            raise TopError(25, "Invalid signature")
        stamp = params.get("timestamp")
        if not stamp:
            raise TopError(30, "Missing timestamp")
        try:
            sent = parse_china_time(stamp)
        except ValueError:
            raise TopError(31, "Invalid timestamp", sub_msg="timestamp must be yyyy-MM-dd HH:mm:ss (UTC+8)") from None
        if abs(time.time() - sent) > self.settings.marketplace_timestamp_window_s:
            raise TopError(31, "Invalid timestamp", sub_msg="timestamp is more than 10 minutes from server time")
        version = params.get("v")
        if not version:
            raise TopError(32, "Missing version")
        if version != "2.0":
            raise TopError(34, "Unsupported version", sub_msg="only v=2.0")
        if params.get("format", "json") != "json":
            raise TopError(23, "Invalid format", sub_msg="only format=json")
        method = params.get("method")
        if not method:
            raise TopError(21, "Missing method")
        if method not in MARKETPLACE_ENDPOINTS:
            raise TopError(22, "Invalid method", sub_msg=f"unknown method {method!r}")
        return method

    def _seller(self, params: dict[str, str]) -> str:
        session = params.get("session")
        if not session:
            raise TopError(26, "Missing session")
        nick = self.sessions.get(session)
        if nick is None:
            raise TopError(27, "Invalid session", "invalid-sessionkey", "session does not belong to any seller")
        return nick

    async def call(self, params: dict[str, str]) -> dict[str, Any]:
        method = self._authenticate(params)
        seller = self._seller(params) if method in SESSION_METHODS else None
        if self.faults.chance(self.faults.config.marketplace_rate_limit_rate):
            raise TopError(
                7,
                "App Call Limited",
                "accesscontrol.limited-by-app-access-count",
                "This ban will last for 1 more seconds",
            )
        if self.faults.error(method):
            if method == "taobao.logistics.offline.send":
                xx = self.faults.rng.choice(("B150", "S01"))
                raise offline_error(xx, "系统繁忙，请稍后重试 (system busy, try again later)")
            raise TopError(15, "Remote service error", "isp.top-remote-service-unavailable", "service unavailable")
        if method == "taobao.logistics.companies.get":
            return self._companies()
        assert seller is not None
        if method == "taobao.trade.fullinfo.get":
            return self._fullinfo(seller, params)
        if method == "taobao.user.seller.get":
            return self._user_seller(seller, params)
        return self._offline_send(seller, params)

    def _companies(self) -> dict[str, Any]:
        rows = [{"id": c.id, "code": c.code, "name": c.name, "reg_mail_no": c.reg_mail_no} for c in CARRIERS.values()]
        return {"logistic_companies": {"logistics_company": rows}}

    def _trade_param(self, params: dict[str, str]) -> str:
        tid = params.get("tid", "").strip()
        if not tid:
            raise TopError(40, "Missing required arguments", "isv.missing-parameter:tid", "tid is required")
        if not tid.isdigit():
            raise TopError(41, "Invalid arguments", "isv.invalid-parameter:tid", "tid must be a number")
        return tid

    def _fullinfo(self, seller: str, params: dict[str, str]) -> dict[str, Any]:
        tid = self._trade_param(params)
        fields = params.get("fields", "").strip()
        if not fields:
            raise TopError(40, "Missing required arguments", "isv.missing-parameter:fields", "fields is required")
        trade = self.trades.get(tid)
        if trade is None or trade.seller_nick != seller:
            raise TopError(
                15, "Remote service error", "isv.trade-not-exist", f"交易不存在 (trade {tid} does not exist)"
            )
        return {"trade": select_fields(trade.to_top(), fields)}

    def _user_seller(self, nick: str, params: dict[str, str]) -> dict[str, Any]:
        """The seller the session belongs to (what a platform binds a shop by)."""
        fields = params.get("fields", "").strip()
        if not fields:
            raise TopError(40, "Missing required arguments", "isv.missing-parameter:fields", "fields is required")
        seller = self.sellers[nick]
        user = {"nick": seller.nick, "user_id": seller.user_id, "type": "C", "has_shop": True}
        return {"user": select_fields(user, fields)}

    def _offline_send(self, seller: str, params: dict[str, str]) -> dict[str, Any]:
        tid = self._trade_param(params)
        out_sid = params.get("out_sid", "").strip()
        company = params.get("company_code", "").strip()
        if not out_sid:
            raise offline_error("B59", "运单号不能为空 (out_sid is empty)")
        if company in UNSUPPORTED_CARRIERS:
            raise offline_error("B57", f"该物流公司不支持线下发货 (carrier {company} is not supported)")
        carrier = CARRIERS.get(company)
        if carrier is None:
            raise offline_error("B56", f"物流公司不存在 (no carrier {company!r})")
        trade = self.trades.get(tid)
        if trade is None or trade.seller_nick != seller:
            raise offline_error("B01", f"订单不存在 (trade {tid} does not exist)")
        if trade.status not in SHIPPABLE:
            # PAID_FORBID_CONSIGN is refused with B04 too: the trade cannot ship, whatever the number.
            raise offline_error("B04", f"订单状态为 {trade.status}，不能发货 (trade is {trade.status}, cannot ship)")
        if not carrier.matches(out_sid):
            raise offline_error("B60", f"运单号不符合 {company} 的规则 (does not match {carrier.reg_mail_no})")
        issued = self.registry.numbers.get(out_sid)
        if issued is not None and issued.cp_code != company:
            raise offline_error("B60", f"运单号不属于 {company} (issued by {issued.cp_code})")
        if issued is not None and issued.state is NumberState.DISCARDED:
            raise offline_error("F04", "运单号已作废 (the number was cancelled at the courier)")
        used_by = self.used_numbers.get(out_sid)
        if used_by is not None:
            if self.trades[used_by].seller_nick != seller:
                raise offline_error("F05", "运单号已被其他卖家使用 (number used by another seller)")
            raise offline_error("B60", f"运单号已被使用 (number already used on trade {used_by})")
        if issued is not None and issued.expire_at <= time.time():
            raise offline_error("F01", "运单号已过期 (number expired)")
        now = time.time()
        trade.status = "WAIT_BUYER_CONFIRM_GOODS"
        trade.company_code, trade.out_sid, trade.consign_time, trade.modified = company, out_sid, now, now
        self.used_numbers[out_sid] = tid
        self.registry.collect(out_sid)
        return {"shipping": {"is_success": True}}

    # -- order messages ---------------------------------------------------------------------------------

    def _publish_paid(self, trade: Trade) -> None:
        content = {
            "tid": trade.tid,
            "oid": trade.orders[0].oid,
            "payment": yuan(trade.payment_cents),
            "buyer_nick": trade.buyer_nick,
            "seller_nick": trade.seller_nick,
            "type": "fixed",
        }
        self.publish(trade, TOPIC_PAID, content)

    def publish(self, trade: Trade, topic: str, content: dict[str, Any]) -> Message:
        seller = self.sellers[trade.seller_nick]
        message = Message(
            id=str(next(self._ids)),
            tid=trade.tid,
            topic=topic,
            content=json.dumps(content, ensure_ascii=False, separators=(",", ":")),
            pub_time=time.time(),
            user_id=seller.user_id,
            user_nick=seller.nick,
        )
        self.messages[message.id] = message
        self.stats.published += 1
        queue = self._pending.get(trade.tid)
        if queue is None:
            # Nothing of this trade is waiting: it becomes ready. Otherwise it follows the earlier messages.
            self._pending[trade.tid] = deque([message])
            self._ready.put_nowait(trade.tid)
        else:
            queue.append(message)
        return message

    def push_form(self, message: Message) -> dict[str, str]:
        form = {
            "id": message.id,
            "topic": message.topic,
            "content": message.content,
            "pub_time": china_time(message.pub_time),
            "user_id": message.user_id,
            "user_nick": message.user_nick,
            "app_key": self.settings.marketplace_app_key,
            "timestamp": china_time(time.time()),
            "sign_method": "hmac",
        }
        form["sign"] = top_sign(form, self.settings.marketplace_app_secret, "hmac")
        return form

    async def _push(self, http: httpx.AsyncClient, message: Message) -> bool:
        message.attempts += 1
        self.stats.attempts += 1
        try:
            response = await http.post(
                self.settings.marketplace_webhook_url,
                data=self.push_form(message),
                timeout=self.settings.message_timeout_s,
            )
        except httpx.HTTPError as exc:
            message.last_result = f"{type(exc).__name__}: {exc}"[:200]
            return False
        message.last_result = f"HTTP {response.status_code}"
        return 200 <= response.status_code < 300

    async def _deliver(self, http: httpx.AsyncClient, tid: str) -> None:
        queue = self._pending.get(tid)
        if not queue:
            return
        message = queue[0]
        if await self._push(http, message):
            queue.popleft()
            message.delivered_at = time.time()
            self.stats.delivered += 1
            if self.faults.chance(self.faults.config.message_duplicate_rate):
                self.stats.duplicates += 1
                await self._push(http, message)
                message.attempts -= 1  # the duplicate is counted under duplicates, not as a retry
                self.stats.attempts -= 1
            if queue:
                self._ready.put_nowait(tid)
            else:
                del self._pending[tid]
            return
        self.stats.failed_attempts += 1
        schedule = self.settings.message_redelivery_s
        delay = schedule[min(message.attempts - 1, len(schedule) - 1)]
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self._timers.discard(handle)
            self._ready.put_nowait(tid)

        handle = loop.call_later(delay, requeue)
        self._timers.add(handle)

    async def dispatcher(self) -> None:
        async def worker() -> None:
            # A client per worker: one httpx pool shared by dozens of concurrent requests slows to a crawl.
            async with self.new_client() as http:
                while True:
                    tid = await self._ready.get()
                    try:
                        await self._deliver(http, tid)
                    except Exception:  # keep the worker alive; the trade's message stays pending
                        log.exception("message delivery failed for trade %s", tid)

        async with asyncio.TaskGroup() as group:
            for _ in range(self.settings.message_concurrency):
                group.create_task(worker())

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()


router = APIRouter(tags=["marketplace"])


async def gateway_params(request: Request) -> dict[str, str]:
    """Query and form parameters together (form wins), file parameters left out as TOP leaves them unsigned."""
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        for name, value in form.multi_items():
            if not isinstance(value, UploadFile):
                params[name] = value
    return params


@router.post("/router/rest", summary="TOP-style signed gateway", operation_id="router_rest_post")
@router.get("/router/rest", summary="TOP-style signed gateway (query parameters)", operation_id="router_rest_get")
async def router_rest(request: Request) -> JSONResponse:
    market: Marketplace = request.app.state.world.marketplace
    params = await gateway_params(request)
    request_id = secrets.token_hex(6)
    method = params.get("method", "")
    await market.faults.delay(method if method in MARKETPLACE_ENDPOINTS else "marketplace")
    try:
        body = await market.call(params)
    except TopError as exc:
        return JSONResponse(exc.body(request_id))
    body["request_id"] = request_id
    return JSONResponse({response_key(method): body})
