"""Tracking provider (Kuaidi100 style): subscriptions, simulated parcel journeys, signed pushes and polling.

Each subscribed number gets a whole journey planned up front, deterministically from the seed and the
number, and its events happen on the simulated clock. Every time something happens, the full history so far
is pushed to the subscriber's callback; a push that does not get the documented answer is repeated later
with the newest history.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.sandbox import addresses
from services.sandbox.addresses import City
from services.sandbox.clock import Scheduler, SimClock, china_time, utc_iso
from services.sandbox.faults import FaultInjector
from services.sandbox.numbers import BY_KUAIDI100, NumberRegistry
from services.sandbox.settings import SandboxSettings
from services.sandbox.signing import kuaidi100_push_sign, kuaidi100_query_sign

log = logging.getLogger("sandbox.tracking")

KINDS = ("normal", "problem", "refused", "never_collected", "stall")
# Codes Kuaidi100 knows but this sandbox's couriers do not serve: the carrier refuses (701), not unknown (702).
UNSERVED = frozenset({"dhl", "fedex", "ups", "tnt"})
HOUR = 3600.0
# billstatus of a push, by the basic state of the newest event (the sandbox's choice; nothing should rely on it).
BILLSTATUS = {
    "1": "got",
    "0": "polling",
    "5": "sending",
    "3": "check",
    "2": "polling",
    "14": "back",
    "6": "back",
    "4": "check",
}


def result(code: str, message: str, ok: bool = False) -> dict[str, Any]:
    return {"result": ok, "returnCode": code, "message": message}


@dataclass(slots=True)
class Event:
    at: float  # simulated epoch seconds
    context: str
    status: str  # the state's Chinese name, as resultv2 adds it
    state: str  # basic state code
    code: str  # fine (resultv2) state code
    city: City

    def view(self) -> dict[str, str]:
        stamp = china_time(self.at)
        return {
            "time": stamp,
            "ftime": stamp,
            "context": self.context,
            "status": self.status,
            "areaCode": self.city.area_code,
            "areaName": self.city.area_name,
            "statusCode": self.code,
        }


@dataclass(slots=True)
class PushStats:
    attempts: int = 0
    acked: int = 0
    failed: int = 0
    dropped: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    bad_sign: int = 0

    def add(self, other: PushStats) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def view(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Parcel:
    number: str
    com: str
    callback: str
    salt: str
    resultv2: str
    kind: str
    subscribed_at: float  # simulated
    events: list[Event]
    abort_at: float | None  # simulated time of the abort push, for parcels that are never collected
    revealed: int = 0  # events that have happened
    aborted: bool = False
    delivered_version: int = 0  # newest version pushed successfully (or dropped on purpose)
    queued: bool = False
    retry_pending: bool = False
    failures_in_row: int = 0
    last_push_result: str | None = None
    stats: PushStats = field(default_factory=PushStats)

    @property
    def version(self) -> int:
        return self.revealed + (1 if self.aborted else 0)

    @property
    def terminal(self) -> bool:
        return bool(self.events) and self.events[-1].state in {"3", "4"}

    @property
    def finished(self) -> bool:
        return self.aborted or (self.terminal and self.revealed == len(self.events))

    def last_result(self, upto: int) -> dict[str, Any]:
        shown = self.events[:upto]
        newest = shown[-1] if shown else None
        final = self.terminal and upto == len(self.events)
        state = "0" if newest is None else newest.code if self.resultv2 == "4" else newest.state
        return {
            "message": "ok",
            "state": state,
            "status": "200",
            "condition": "00",
            "ischeck": "1" if final else "0",
            "com": self.com,
            "nu": self.number,
            "data": [e.view() for e in reversed(shown)],
        }

    def push_param(self, upto: int, aborted: bool) -> str:
        last = self.last_result(upto)
        final = last["ischeck"] == "1"
        newest_state = self.events[upto - 1].state if upto else "0"
        body = {
            "status": "abort" if aborted else "shutdown" if final else "polling",
            "billstatus": BILLSTATUS.get(newest_state, "polling"),
            "message": "3天查询无记录" if aborted else "",
            "autoCheck": "0",
            "comOld": "",
            "comNew": "",
            "lastResult": last,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    def truth(self) -> dict[str, Any]:
        final = self.events[-1] if self.events else None
        current = self.events[self.revealed - 1] if self.revealed else None
        return {
            "number": self.number,
            "com": self.com,
            "subscribed": True,
            "kind": self.kind,
            "subscribed_at": utc_iso(self.subscribed_at),
            "final_state": None if final is None else final.state,
            "final_status_code": None if final is None else final.code,
            "final_push_status": "abort" if self.abort_at is not None else "shutdown",
            "current_state": None if current is None else current.state,
            "current_status_code": None if current is None else current.code,
            "events_total": len(self.events),
            "events_happened": self.revealed,
            "aborted": self.aborted,
            "finished": self.finished,
            "all_pushed": self.delivered_version >= self.version,
            "last_push_result": self.last_push_result,
            "pushes": self.stats.view(),
            "events": [e.view() for e in reversed(self.events[: self.revealed])],  # newest first, as pushed
        }


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _hours(rng: random.Random, low: float, high: float) -> float:
    return rng.uniform(low, high) * HOUR


def _courier_name(rng: random.Random) -> str:
    return f"{rng.choice(addresses.SURNAMES)}师傅（{addresses.mobile(rng)}）"


def _outlet(city: City, rng: random.Random) -> str:
    return f"{city.name.removesuffix('市')}{rng.choice(city.districts)}营业部"


def plan_journey(kind: str, origin: City, dest: City, start: float, rng: random.Random, stall_s: float) -> list[Event]:
    """The whole journey of one parcel, newest last; empty for a parcel that is never collected."""
    if kind == "never_collected":
        return []
    events: list[Event] = []
    t = start

    def step(low: float, high: float, context: str, status: str, state: str, code: str, city: City) -> None:
        nonlocal t
        t += _hours(rng, low, high)
        events.append(Event(t, context, status, state, code, city))

    o, d = origin, dest
    o_outlet, d_outlet = _outlet(o, rng), _outlet(d, rng)
    step(0.5, 6, f"【{o.name}】 【{o_outlet}】 的 {_courier_name(rng)} 已揽收", "揽收", "1", "103", o)
    step(1, 3, f"【{o.name}】 快件离开 【{o_outlet}】 已发往 【{o.hub}】", "在途", "0", "1002", o)
    step(1, 4, f"【{o.name}】 快件已到达 【{o.hub}】", "在途", "0", "1002", o)
    if kind == "stall":
        t += stall_s
    hops = [o]
    if o.province != d.province and rng.random() < 0.5:
        middle = [c for c in addresses.CITIES if c.province not in {o.province, d.province}]
        hops.append(rng.choice(middle))
    hops.append(d)
    for here, there in itertools.pairwise(hops):
        step(0.5, 3, f"【{here.name}】 快件已在 【{here.hub}】 发出，下一站 【{there.hub}】", "在途", "0", "1002", here)
        step(4, 20, f"【{there.name}】 快件已到达 【{there.hub}】", "在途", "0", "1002", there)
    step(1, 4, f"【{d.name}】 快件已在 【{d.hub}】 发出，下一站 【{d_outlet}】", "在途", "0", "1002", d)
    step(1, 5, f"【{d.name}】 快件已到达 【{d_outlet}】", "在途", "0", "1001", d)
    courier = _courier_name(rng)
    step(1, 10, f"【{d.name}】 【{d_outlet}】 的派件员 {courier} 正在为您派件", "派件", "5", "5", d)
    if kind == "problem":
        step(1, 4, f"【{d.name}】 快件派送不成功，原因：收件人电话无法接通，将再次派送", "疑难", "2", "2", d)
        step(12, 24, f"【{d.name}】 【{d_outlet}】 的派件员 {courier} 正在为您派件", "派件", "5", "5", d)
        step(1, 3, f"【{d.name}】 快件已签收（异常后签收），签收人：本人", "签收", "3", "302", d)
    elif kind == "refused":
        step(0.5, 3, f"【{d.name}】 收件人拒收，原因：不想要了，快件将退回寄件人", "拒签", "14", "14", d)
        step(2, 8, f"【{d.name}】 快件已退回，正在返回寄件人所在地 【{o.name}】", "退回", "6", "6", d)
        step(1, 4, f"【{d.name}】 退回件已在 【{d.hub}】 发出，下一站 【{o.hub}】", "退回", "6", "6", d)
        step(8, 30, f"【{o.name}】 退回件已到达 【{o.hub}】", "退回", "6", "6", o)
        step(4, 12, f"【{o.name}】 退回件已签收，签收人：寄件人", "退签", "4", "4", o)
    else:
        ending = rng.random()
        if ending < 0.6:
            step(
                0.5, 4, f"【{d.name}】 快件已签收，签收人：本人，如有疑问请联系派件员 {courier}", "签收", "3", "301", d
            )
        elif ending < 0.75:
            step(0.5, 4, f"【{d.name}】 快件已签收，签收人：门卫代收", "签收", "3", "303", d)
        else:
            pickup = f"{rng.randrange(10**6):06d}"
            step(0.5, 3, f"【{d.name}】 快件已送达 【丰巢智能柜】，请凭取件码 {pickup} 及时取件", "派件", "5", "501", d)
            step(1, 20, f"【{d.name}】 快件已从 【丰巢智能柜】 取出，已签收", "签收", "3", "304", d)
    return events


@dataclass
class TrackingProvider:
    settings: SandboxSettings
    faults: FaultInjector
    registry: NumberRegistry
    clock: SimClock
    scheduler: Scheduler
    new_client: Callable[[], httpx.AsyncClient]
    destination_of: Callable[[str], City | None]
    on_signed: Callable[[str], None]
    parcels: dict[str, Parcel] = field(default_factory=dict)
    kind_overrides: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    _queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _timers: set[asyncio.TimerHandle] = field(default_factory=set)

    # -- the simulation ---------------------------------------------------------------------------------

    def kind_of(self, number: str) -> str:
        if number in self.kind_overrides:
            return self.kind_overrides[number]
        s = self.settings
        # A hash of seed and number, not the shared generator: the kind must not depend on subscription order.
        u = random.Random(f"{s.seed}:kind:{number}").random()
        for kind, rate in (
            ("problem", s.tracking_problem_rate),
            ("refused", s.tracking_refused_rate),
            ("never_collected", s.tracking_never_collected_rate),
            ("stall", s.tracking_stall_rate),
        ):
            if u < rate:
                return kind
            u -= rate
        return "normal"

    def _origin(self, number: str, rng: random.Random) -> City:
        issued = self.registry.numbers.get(number)
        if issued is not None:
            # One shop ships from one city, as real shops do.
            return addresses.ORIGIN_CITIES[zlib.crc32(issued.seller_id.encode()) % len(addresses.ORIGIN_CITIES)]
        return rng.choice(addresses.ORIGIN_CITIES)

    def subscribe(self, com: str, number: str, callback: str, salt: str, resultv2: str) -> Parcel:
        rng = random.Random(f"{self.settings.seed}:journey:{number}")
        kind = self.kind_of(number)
        origin = self._origin(number, rng)
        dest = self.destination_of(number) or addresses.city_for(rng)
        start = self.clock.now()
        events = plan_journey(kind, origin, dest, start, rng, self.settings.tracking_stall_hours * HOUR)
        abort_at = start + self.settings.tracking_abort_hours * HOUR if not events else None
        parcel = Parcel(number, com, callback, salt, resultv2, kind, start, events, abort_at)
        self.parcels[number] = parcel
        delay = self.settings.tracking_push_delay_s
        for index, event in enumerate(events):
            self.scheduler.at(event.at, self._reveal(parcel, index + 1))
            if delay > 0:
                self.scheduler.at(event.at + delay, self._want_push_cb(parcel))
        if abort_at is not None:
            self.scheduler.at(abort_at, self._abort(parcel))
            if delay > 0:
                self.scheduler.at(abort_at + delay, self._want_push_cb(parcel))
        return parcel

    def _reveal(self, parcel: Parcel, count: int) -> Callable[[], None]:
        def reveal() -> None:
            parcel.revealed = max(parcel.revealed, count)
            event = parcel.events[count - 1]
            if event.state == "1":
                self.registry.collect(parcel.number)
            if event.state == "3":
                self.on_signed(parcel.number)
            if self.settings.tracking_push_delay_s <= 0:
                self._want_push(parcel)

        return reveal

    def _abort(self, parcel: Parcel) -> Callable[[], None]:
        def abort() -> None:
            parcel.aborted = True
            if self.settings.tracking_push_delay_s <= 0:
                self._want_push(parcel)

        return abort

    def _want_push_cb(self, parcel: Parcel) -> Callable[[], None]:
        return lambda: self._want_push(parcel)

    def _want_push(self, parcel: Parcel) -> None:
        # While a failed push waits for its retry, new events just ride along with that retry.
        if parcel.queued or parcel.retry_pending or parcel.delivered_version >= parcel.version:
            return
        parcel.queued = True
        self._queue.put_nowait(parcel.number)

    # -- pushes -----------------------------------------------------------------------------------------

    async def _send(self, http: httpx.AsyncClient, parcel: Parcel, param: str, sign: str) -> bool:
        parcel.stats.attempts += 1
        try:
            response = await http.post(
                parcel.callback, data={"param": param, "sign": sign}, timeout=self.settings.tracking_push_timeout_s
            )
        except httpx.HTTPError as exc:
            parcel.last_push_result = f"{type(exc).__name__}: {exc}"[:200]
            return False
        parcel.last_push_result = f"HTTP {response.status_code}: {response.text[:120]}"
        if response.status_code != 200:
            return False
        try:
            answer = response.json()
        except ValueError:
            return False
        # The documented answer, exactly: JSON true and the string "200".
        return isinstance(answer, dict) and answer.get("result") is True and answer.get("returnCode") == "200"

    async def _push(self, http: httpx.AsyncClient, parcel: Parcel) -> None:
        version, upto, aborted = parcel.version, parcel.revealed, parcel.aborted
        if version <= parcel.delivered_version:
            return
        faults = self.faults
        if faults.chance(faults.config.push_drop_rate):
            parcel.stats.dropped += 1
            parcel.delivered_version = version  # lost for good: only a query can tell what happened
            return
        param = parcel.push_param(upto, aborted)
        sign = kuaidi100_push_sign(param, parcel.salt)
        if faults.chance(faults.config.push_bad_sign_rate):
            parcel.stats.bad_sign += 1
            sign = kuaidi100_push_sign(param, parcel.salt + "#")
        if await self._send(http, parcel, param, sign):
            parcel.stats.acked += 1
            parcel.failures_in_row = 0
            parcel.delivered_version = max(parcel.delivered_version, version)
            if faults.chance(faults.config.push_duplicate_rate):
                parcel.stats.duplicates += 1
                await self._send(http, parcel, param, sign)
            if upto > 1 and faults.chance(faults.config.push_out_of_order_rate):
                parcel.stats.out_of_order += 1
                older = parcel.push_param(faults.rng.randint(1, upto - 1), aborted=False)
                await self._send(http, parcel, older, kuaidi100_push_sign(older, parcel.salt))
            self._want_push(parcel)  # events that happened while this push was in flight
            return
        parcel.stats.failed += 1
        parcel.failures_in_row += 1
        schedule = self.settings.tracking_push_retry_s
        delay = schedule[min(parcel.failures_in_row - 1, len(schedule) - 1)]
        parcel.retry_pending = True

        def retry() -> None:
            self._timers.discard(handle)
            parcel.retry_pending = False
            self._want_push(parcel)

        handle = asyncio.get_running_loop().call_later(delay, retry)
        self._timers.add(handle)

    async def pusher(self) -> None:
        async def worker() -> None:
            async with self.new_client() as http:  # one per worker, as for order messages
                while True:
                    number = await self._queue.get()
                    parcel = self.parcels.get(number)
                    if parcel is None:
                        continue
                    parcel.queued = False
                    try:
                        await self._push(http, parcel)
                    except Exception:  # a broken push must not take the worker down
                        log.exception("push failed for %s", number)

        async with asyncio.TaskGroup() as group:
            for _ in range(self.settings.tracking_push_concurrency):
                group.create_task(worker())

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    # -- control views ----------------------------------------------------------------------------------

    def truth(self, number: str) -> dict[str, Any]:
        parcel = self.parcels.get(number)
        if parcel is not None:
            return parcel.truth()
        return {"number": number, "subscribed": False, "kind": self.kind_of(number)}

    def stats(self) -> dict[str, Any]:
        totals = PushStats()
        kinds = dict.fromkeys(KINDS, 0)
        finished = pending = 0
        for parcel in self.parcels.values():
            totals.add(parcel.stats)
            kinds[parcel.kind] += 1
            finished += parcel.finished
            pending += parcel.delivered_version < parcel.version
        return {
            "parcels": len(self.parcels),
            "finished": finished,
            "pushes_pending": pending,
            "kinds": kinds,
            "pushes": totals.view(),
        }


router = APIRouter(prefix="/kuaidi100", tags=["tracking provider"])


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@router.post("/poll", summary="Subscribe a waybill number (callback pushes)")
async def poll(request: Request) -> JSONResponse:
    provider: TrackingProvider = request.app.state.world.tracking
    faults = provider.faults
    await faults.delay("kuaidi100.poll")
    if faults.error("kuaidi100.poll"):
        return JSONResponse(result("500", "服务器错误 (provider error)"))
    form = await request.form()
    param = _json_object(form.get("param"))
    if form.get("schema", "json") != "json" or param is None:
        return JSONResponse(result("700", "订阅参数错误：param 必须是 JSON (bad data)"))
    if param.get("key") != provider.settings.kuaidi100_key:
        return JSONResponse(result("700", "授权 key 错误 (bad key)"))
    parameters = param.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    company, number = param.get("company"), param.get("number")
    callback, salt = parameters.get("callbackurl"), parameters.get("salt", "")
    if not isinstance(number, str) or not number.strip() or not isinstance(company, str) or not company:
        return JSONResponse(result("700", "订阅参数错误：缺少 company 或 number (bad data)"))
    if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
        return JSONResponse(result("700", "订阅参数错误：缺少 callbackurl (bad data)"))
    if not isinstance(salt, str):
        return JSONResponse(result("700", "订阅参数错误：salt 必须是字符串 (bad data)"))
    number = number.strip()
    if company in UNSERVED:
        return JSONResponse(result("701", f"快递公司 {company} 不支持订阅 (carrier refused)"))
    carrier = BY_KUAIDI100.get(company)
    if carrier is None:
        return JSONResponse(result("702", f"无法识别的快递公司编码 {company} (unknown company)"))
    if not carrier.matches(number):
        return JSONResponse(result("700", f"单号 {number} 不符合 {company} 的规则 (bad number)"))
    if faults.chance(faults.config.tracking_refuse_rate):
        return JSONResponse(result("701", "快递公司拒绝订阅，请稍后重试 (carrier refused)"))
    if number in provider.parcels:
        return JSONResponse(result("501", "重复订阅"))
    provider.subscribe(company, number, callback, salt, str(parameters.get("resultv2", "0")))
    return JSONResponse(result("200", "提交成功", ok=True))


@router.post("/query", summary="Query a number's tracking now (polling, rate limited)")
async def query(request: Request) -> JSONResponse:
    provider: TrackingProvider = request.app.state.world.tracking
    faults = provider.faults
    settings = provider.settings
    await faults.delay("kuaidi100.query")
    form = await request.form()
    customer, sign, raw = form.get("customer"), form.get("sign"), form.get("param")
    if not isinstance(customer, str) or customer != settings.kuaidi100_customer:
        return JSONResponse(result("400", "customer 错误 (unknown customer)"))
    bucket = provider.buckets.setdefault(customer, TokenBucket(settings.tracking_query_rate_per_s))
    if not bucket.take():
        return JSONResponse(result("503", "查询太频繁"))
    expected = kuaidi100_query_sign(raw, settings.kuaidi100_key, customer) if isinstance(raw, str) else ""
    if not isinstance(sign, str) or sign.upper() != expected:
        return JSONResponse(result("400", "验证签名失败 (sign check failed)"))
    param = _json_object(raw)
    if param is None or not isinstance(param.get("num"), str) or not isinstance(param.get("com"), str):
        return JSONResponse(result("400", "参数错误：需要 com 和 num (bad data)"))
    if faults.error("kuaidi100.query"):
        return JSONResponse(result("502", "服务器繁忙 (provider busy)"))
    if param["com"] not in BY_KUAIDI100:
        return JSONResponse(result("400", f"找不到对应公司 {param['com']} (unknown company)"))
    parcel = provider.parcels.get(param["num"].strip())
    if parcel is None or parcel.com != param["com"] or parcel.revealed == 0:
        return JSONResponse(result("500", "查询无结果，请隔段时间再查"))
    return JSONResponse(parcel.last_result(parcel.revealed))
