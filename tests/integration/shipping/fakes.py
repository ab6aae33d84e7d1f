"""respx side effects: a marketplace that verifies our signatures (written independently of our
code) and answers with recorded TOP payloads, and a recorder for tracking and shop webhooks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import httpx

APP_SECRET = "sandbox-secret"
UTC8 = timezone(timedelta(hours=8))
_tids = itertools.count(3_100_000_000_000_000_000 + secrets.randbelow(10**15) * 1000)
_msg_ids = itertools.count(5_000_000_000 + secrets.randbelow(10**9) * 100)


def sign(params: dict[str, str], method: str = "hmac", secret: str = APP_SECRET) -> str:
    s = "".join(k + v for k, v in sorted(params.items()) if k != "sign")
    if method == "md5":
        return hashlib.md5((secret + s + secret).encode()).hexdigest().upper()
    return hmac.new(secret.encode(), s.encode(), hashlib.md5).hexdigest().upper()


def now8() -> str:
    return datetime.now(UTC8).strftime("%Y-%m-%d %H:%M:%S")


def offline_error(code: str, msg: str = "") -> dict[str, Any]:
    return {
        "error_response": {
            "code": 15,
            "msg": "Remote service error",
            "sub_code": f"isv.logistics-offline-service-error:{code}",
            "sub_msg": msg or f"error {code}",
            "request_id": "r1",
        }
    }


def resend_error(code: str, msg: str) -> dict[str, Any]:
    """A resend's refusal: its own prefix (the same XX means something else than a send's)."""
    return {
        "error_response": {
            "code": 15,
            "msg": "Remote service error",
            "sub_code": f"isv.logistics-update-company-or-mailno-error:{code}",
            "sub_msg": msg,
            "request_id": "r2",
        }
    }


OFFLINE_SEND = "taobao.logistics.offline.send"
ASCP_SEND = "alibaba.ascp.logistics.offline.send"
RESEND = "taobao.logistics.consign.resend"
ASCP_RESEND = "alibaba.ascp.logistics.consign.resend"
SHIPPING_METHODS = (OFFLINE_SEND, ASCP_SEND, RESEND, ASCP_RESEND)
SHIPPABLE = frozenset({"WAIT_SELLER_SEND_GOODS", "SELLER_CONSIGNED_PART"})
RESENDABLE = frozenset({"SELLER_CONSIGNED_PART", "WAIT_BUYER_CONFIRM_GOODS"})
_TITLES = ("保温杯", "茶叶", "茶盘", "茶杯", "杯垫")


def _remote_error(sub_code: str) -> httpx.Response:
    """TOP's answer to a call the platform could not serve (code 15), with its sub_code."""
    return httpx.Response(
        200, json={"error_response": {"code": 15, "msg": "Remote service error", "sub_code": sub_code}}
    )


class _Refused(Exception):
    """A refusal, raised by a method's checks: its error_response body."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["error_response"]["sub_code"])
        self.body = body


Refuse = Callable[[str, str], _Refused]


def _send_refused(code: str, msg: str) -> _Refused:
    return _Refused(offline_error(code, msg))


def _resend_refused(code: str, msg: str) -> _Refused:
    return _Refused(resend_error(code, msg))


@dataclass(frozen=True)
class FakeLine:
    """One line (子订单) of a trade: its oid is what a split send's sub_tid names."""

    oid: str
    title: str = "保温杯"
    num: int = 1
    price: str = "59.90"


@dataclass(frozen=True)
class FakePackage:
    company_code: str
    out_sid: str


@dataclass
class FakeConsignment:
    """One accepted send: the lines it shipped and its packages, the first the main one (as the sandbox's)."""

    oids: tuple[str, ...]
    packages: list[FakePackage]

    @property
    def numbers(self) -> list[str]:
        return [p.out_sid for p in self.packages]


@dataclass
class FakeTrade:
    tid: str
    seller_nick: str
    status: str = "WAIT_SELLER_SEND_GOODS"
    receiver_state: str = "广东省"
    receiver_address: str = "科技园南区高新南七道 4 栋 1201 室"
    pay_time: str = ""  # "YYYY-MM-DD HH:MM:SS", Beijing time; empty: the trade gives none
    lines: list[FakeLine] = field(default_factory=list)  # none given: one line, oid tid + 1
    consignments: list[FakeConsignment] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.lines:
            self.lines = [FakeLine(str(int(self.tid) + 1))]

    @property
    def oids(self) -> list[str]:
        return [line.oid for line in self.lines]

    def consignment_of(self, oid: str) -> FakeConsignment | None:
        return next((c for c in self.consignments if oid in c.oids), None)

    @property
    def unshipped(self) -> list[str]:
        return [oid for oid in self.oids if self.consignment_of(oid) is None]

    @property
    def out_sid(self) -> str | None:
        """The trade's main number (its first consignment's first package), as one number."""
        return self.consignments[0].packages[0].out_sid if self.consignments else None

    @out_sid.setter
    def out_sid(self, number: str | None) -> None:
        """A test's shortcut: the whole trade shipped with ``number`` alone (None: shipped with nothing)."""
        company = self.company or ""
        self.consignments = [FakeConsignment(tuple(self.oids), [FakePackage(company, number)])] if number else []

    @property
    def company(self) -> str | None:
        return self.consignments[0].packages[0].company_code if self.consignments else None

    @company.setter
    def company(self, code: str | None) -> None:
        if self.consignments:
            first = self.consignments[0]
            first.packages[0] = FakePackage(code or "", first.packages[0].out_sid)

    @property
    def numbers(self) -> list[str]:
        """Every number the trade holds, consignment by consignment, main ones first."""
        return [n for c in self.consignments for n in c.numbers]

    def shipped(self) -> list[tuple[tuple[str, ...], list[str]]]:
        """Each consignment as (its lines' oids, its numbers)."""
        return [(c.oids, c.numbers) for c in self.consignments]

    def _line_status(self, oid: str) -> str:
        if self.status == "SELLER_CONSIGNED_PART":
            return "WAIT_BUYER_CONFIRM_GOODS" if self.consignment_of(oid) else "WAIT_SELLER_SEND_GOODS"
        return self.status

    def _order_view(self, line: FakeLine) -> dict[str, Any]:
        order: dict[str, Any] = {
            "oid": line.oid,
            "title": line.title,
            "num": line.num,
            "price": line.price,
            "status": self._line_status(line.oid),
        }
        shipped = self.consignment_of(line.oid)
        if shipped is not None:
            main = shipped.packages[0]
            order |= {
                "invoice_no": main.out_sid,
                "logistics_company": main.company_code,
                "consign_pkgs": [{"company_code": p.company_code, "out_sid": p.out_sid} for p in shipped.packages],
            }
        return order

    def top(self) -> dict[str, Any]:
        cents = sum(round(float(line.price) * 100) * line.num for line in self.lines)
        return {
            "tid": self.tid,
            "status": self.status,
            "seller_nick": self.seller_nick,
            "buyer_nick": "tb12345678",
            "payment": f"{cents // 100}.{cents % 100:02d}",
            "receiver_name": "张三",
            "receiver_mobile": "13911112222",
            "receiver_state": self.receiver_state,
            "receiver_city": "深圳市",
            "receiver_district": "南山区",
            "receiver_address": self.receiver_address,
            "receiver_zip": "518000",
            "weight_g": 1250,
            "orders": {"order": [self._order_view(line) for line in self.lines]},
            **({"pay_time": self.pay_time} if self.pay_time else {}),
        }


@dataclass
class FakeMarketplace:
    """Taobao's gateway as the sandbox (services/sandbox/marketplace/consign.py) answers it: sends of the whole
    trade or of some lines (is_split + sub_tid, or the ascp call's sub_tid), one package or several
    (alibaba.ascp.logistics.offline.send's consign_pkgs), and resends that replace a consignment's numbers.
    Numbers are checked for use on another trade (B60, F05 another seller's; P10 and F05 on a resend), each
    refusal naming its number; carriers and number rules are not checked (a test scripts those refusals)."""

    sessions: dict[str, str] = field(default_factory=dict)
    trades: dict[str, FakeTrade] = field(default_factory=dict)
    # tid -> answers for its sends (either send method), in order: "ok", an error code (answered as is),
    # "sent-earlier" (an earlier attempt of ours got through: the send is applied, B04 answered), "lost" (the
    # send is applied and its answer lost: a read timeout), or an exception to raise.
    script: dict[str, list[Any]] = field(default_factory=dict)
    fullinfo_failures: int = 0
    # taobao.trades.sold.increment.get: tids it leaves out (modified since, say), and how many calls fail.
    unlisted: set[str] = field(default_factory=set)
    list_failures: int = 0
    seller_check_failures: int = 0  # taobao.user.seller.get answers a remote-service error this many times
    calls: list[dict[str, str]] = field(default_factory=list)
    bad_signatures: int = 0
    used_numbers: dict[str, str] = field(default_factory=dict)  # out_sid -> the tid it shipped (every package)

    def add_seller(self, nick: str) -> str:
        session = f"6100{secrets.token_hex(8)}"
        self.sessions[session] = nick
        return session

    def new_trade(self, nick: str, *, lines: int = 1, **kw: Any) -> FakeTrade:
        """A paid trade of ``lines`` lines, oids tid + 1, tid + 2..."""
        tid = str(next(_tids))
        items = [FakeLine(str(int(tid) + n), _TITLES[(n - 1) % len(_TITLES)]) for n in range(1, lines + 1)]
        trade = FakeTrade(tid, nick, lines=items, **kw)
        self.trades[trade.tid] = trade
        return trade

    def message(self, trade: FakeTrade, topic: str = "taobao_trade_TradeBuyerPay", **over: str) -> dict[str, str]:
        content = {"tid": trade.tid, "oid": trade.oids[0], "payment": "59.90", "buyer_nick": "tb1",
                   "seller_nick": trade.seller_nick, "type": "fixed"}  # fmt: skip
        form = {
            "id": str(next(_msg_ids)),
            "topic": topic,
            "content": json.dumps(content, ensure_ascii=False),
            "pub_time": now8(),
            "user_id": "2200000001",
            "user_nick": trade.seller_nick,
            "app_key": "sandbox-app",
            "timestamp": now8(),
            "sign_method": "hmac",
            **over,
        }
        form["sign"] = sign(form)
        return form

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode()))
        self.calls.append(params)
        if sign(params, params.get("sign_method", "md5")) != params.get("sign"):
            self.bad_signatures += 1
            return httpx.Response(200, json={"error_response": {"code": 25, "msg": "Invalid signature"}})
        nick = self.sessions.get(params.get("session", ""))
        method = params["method"]
        if method == "taobao.trade.fullinfo.get":
            if self.fullinfo_failures > 0:
                self.fullinfo_failures -= 1
                return _remote_error("isp.top-remote-service-unavailable")
            trade = self.trades.get(params["tid"])
            if trade is None or trade.seller_nick != nick:
                return _remote_error("isv.trade-not-exist")
            return httpx.Response(200, json={"trade_fullinfo_get_response": {"trade": trade.top(), "request_id": "x"}})
        if method == "taobao.trades.sold.increment.get":
            return self._sold_increment(nick, params)
        if method == "taobao.user.seller.get":
            if self.seller_check_failures > 0:
                self.seller_check_failures -= 1
                return _remote_error("isp.top-remote-service-unavailable")
            if nick is None:
                return httpx.Response(
                    200,
                    json={"error_response": {"code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey"}},
                )
            user = {"nick": nick, "user_id": "2200000001"}
            return httpx.Response(200, json={"user_seller_get_response": {"user": user, "request_id": "u"}})
        if method in SHIPPING_METHODS and nick is None:
            return httpx.Response(200, json={"error_response": {"code": 27, "msg": "Invalid session"}})
        try:
            if method in (OFFLINE_SEND, ASCP_SEND):
                return self._scripted_send(nick or "", params, ascp=method == ASCP_SEND)
            if method in (RESEND, ASCP_RESEND):
                self._resend(nick or "", params, ascp=method == ASCP_RESEND)
                return self._success(method)
        except _Refused as refused:
            return httpx.Response(200, json=refused.body)
        return httpx.Response(200, json={"error_response": {"code": 22, "msg": "Invalid method"}})

    def _sold_increment(self, nick: str | None, params: dict[str, str]) -> httpx.Response:
        """The seller's trades in ``status`` (every one: the fake keeps no modification times), a page of them."""
        if self.list_failures > 0:
            self.list_failures -= 1
            return _remote_error("isp.top-remote-service-unavailable")
        if nick is None:
            return httpx.Response(200, json={"error_response": {"code": 27, "msg": "Invalid session"}})
        found = [
            t
            for t in self.trades.values()
            if t.seller_nick == nick and t.status == params.get("status", t.status) and t.tid not in self.unlisted
        ]
        size, page = int(params.get("page_size", "40")), int(params.get("page_no", "1"))
        chosen = found[(page - 1) * size : page * size]
        body = {"trades": {"trade": [t.top() for t in chosen]}, "has_next": len(found) > page * size}
        return httpx.Response(200, json={"trades_sold_increment_get_response": {**body, "request_id": "l"}})

    @staticmethod
    def _success(method: str) -> httpx.Response:
        key = method.removeprefix("taobao.").replace(".", "_") + "_response"
        ascp = method in (ASCP_SEND, ASCP_RESEND)
        body = {"result": {"success": True}} if ascp else {"shipping": {"is_success": True}}
        return httpx.Response(200, json={key: {**body, "request_id": "y"}})

    def _scripted_send(self, nick: str, params: dict[str, str], *, ascp: bool) -> httpx.Response:
        answers = self.script.get(params.get("tid", "")) or []
        answer = answers.pop(0) if answers else "ok"
        if isinstance(answer, Exception):
            raise answer
        if answer not in ("ok", "sent-earlier", "lost"):
            return httpx.Response(200, json=offline_error(answer))
        trade = self._send(nick, params, ascp=ascp)
        if answer == "sent-earlier":
            # An earlier attempt of ours got through (its answer lost, or its worker killed): the trade carries
            # our numbers and this call is refused as already shipped.
            raise _send_refused("B04", f"订单状态为 {trade.status}，不能发货 (trade is {trade.status}, cannot ship)")
        if answer == "lost":
            raise httpx.ReadTimeout("the marketplace took the send; its answer was lost")
        return self._success(params["method"])

    def _trade(self, nick: str, params: dict[str, str], refuse: Refuse, code: str) -> FakeTrade:
        trade = self.trades.get(params.get("tid", ""))
        if trade is None or trade.seller_nick != nick:
            raise refuse(code, f"订单不存在 (trade {params.get('tid')} does not exist)")
        return trade

    def _send(self, nick: str, params: dict[str, str], *, ascp: bool) -> FakeTrade:
        """An offline send's checks, in the sandbox's order, then the consignment recorded."""
        packages = self._packages(params, ascp, _send_refused, no_number="B59", rule="B60")
        trade = self._trade(nick, params, _send_refused, "B01")
        if trade.status not in SHIPPABLE:
            status = trade.status
            raise _send_refused("B04", f"订单状态为 {status}，不能发货 (trade is {status}, cannot ship)")
        oids = self._sub_tids(params, ascp, "sub_tid", _send_refused)
        if oids is None:
            if trade.consignments:
                raise _send_refused("CD23", "订单已拆单，必须传入子交易号列表和拆单标记 (split: name the lines)")
            oids = trade.oids
        else:
            unknown = next((o for o in oids if o not in trade.oids), None)
            if unknown is not None:
                raise _send_refused("B06", f"子订单 {unknown} 不属于该交易 (sub_tid {unknown} is not the trade's)")
            shipped = next((o for o in oids if trade.consignment_of(o) is not None), None)
            if shipped is not None:
                raise _send_refused("B04", f"子订单 {shipped} 已发货，不能再发货 (line {shipped} has shipped)")
        self._check_numbers(nick, trade, packages, None, _send_refused, rule="B60")
        trade.consignments.append(FakeConsignment(tuple(oids), packages))
        for package in packages:
            self.used_numbers[package.out_sid] = trade.tid
        trade.status = "SELLER_CONSIGNED_PART" if trade.unshipped else "WAIT_BUYER_CONFIRM_GOODS"
        return trade

    def _resend(self, nick: str, params: dict[str, str], *, ascp: bool) -> None:
        """A resend: the consignment of the lines named (or the trade's only one) holds the numbers given."""
        packages = self._packages(params, ascp, _resend_refused, no_number="P01", rule="P10")
        trade = self._trade(nick, params, _resend_refused, "CD30")
        if not trade.consignments:
            raise _resend_refused("CD19", f"订单未发货，请先发货后再修改 (trade is {trade.status}, not shipped)")
        if trade.status not in RESENDABLE:
            raise _resend_refused("P06", f"当前订单状态不支持修改 (trade is {trade.status})")
        oids = self._sub_tids(params, ascp, "sub_tids" if ascp else "sub_tid", _resend_refused)
        if oids is None:
            whole = trade.consignments[0]
            if len(trade.consignments) > 1 or set(whole.oids) != set(trade.oids):
                raise _resend_refused("CD22", "订单已拆单，必须传入子交易号列表 (split: name the lines to change)")
            consignment = whole
        else:
            found = trade.consignment_of(oids[0])
            if found is None or set(found.oids) != set(oids):
                raise _resend_refused("B06", f"子订单号没有精确匹配 ({','.join(oids)} is not one consignment's lines)")
            consignment = found
        self._check_numbers(nick, trade, packages, consignment, _resend_refused, rule="P10")
        if packages == consignment.packages:
            raise _resend_refused("P07", "未作修改 (the trade holds these numbers already)")
        kept = {p.out_sid for p in packages}
        for number in consignment.numbers:
            if number not in kept:
                self.used_numbers.pop(number, None)
        consignment.packages = packages
        for number in kept:
            self.used_numbers[number] = trade.tid

    @staticmethod
    def _packages(
        params: dict[str, str], ascp: bool, refuse: Refuse, *, no_number: str, rule: str
    ) -> list[FakePackage]:
        if not ascp:
            rows: Any = [{"company_code": params.get("company_code", ""), "out_sid": params.get("out_sid", "")}]
        else:
            try:
                rows = json.loads(params.get("consign_pkgs") or "null")
            except ValueError:
                rows = None
            if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
                raise refuse("P01", "consign_pkgs 数据为空或格式不对 (a JSON list of {company_code, out_sid})")
        found = [FakePackage(str(r.get("company_code") or "").strip(), str(r.get("out_sid") or "").strip())
                 for r in rows]  # fmt: skip
        if any(not p.out_sid for p in found):
            raise refuse(no_number, "运单号不能为空 (out_sid is empty)")
        numbers = [p.out_sid for p in found]
        twice = next((n for n in numbers if numbers.count(n) > 1), None)
        if twice is not None:
            raise refuse(rule, f"运单号 {twice} 重复 (the same number in two packages)")
        return found

    @staticmethod
    def _sub_tids(params: dict[str, str], ascp: bool, name: str, refuse: Refuse) -> list[str] | None:
        oids = [o.strip() for o in params.get(name, "").split(",") if o.strip()]
        if not ascp:
            split = params.get("is_split", "0").strip() == "1"
            if split and not oids:
                raise refuse("CD26", "拆分的子订单没有传子订单号 (is_split=1 needs sub_tid)")
            if oids and not split:
                raise refuse("CD25", "拆单标记和子订单列表两者必须都填或者都不填 (sub_tid needs is_split=1)")
        if len(set(oids)) != len(oids):
            raise refuse("CD24", f"{name} 重复 (an oid is given twice)")
        return oids or None

    def _check_numbers(
        self,
        nick: str,
        trade: FakeTrade,
        packages: list[FakePackage],
        own: FakeConsignment | None,
        refuse: Refuse,
        *,
        rule: str,
    ) -> None:
        """No number another trade holds (another seller's: F05); none another of this trade's consignments
        holds (``own``: the one a resend replaces, whose numbers it may keep)."""
        for package in packages:
            n = package.out_sid
            used_by = self.used_numbers.get(n)
            if used_by is not None and used_by != trade.tid:
                other = self.trades.get(used_by)
                if other is not None and other.seller_nick != nick:
                    raise refuse("F05", f"运单号 {n} 已被其他卖家使用 (number used by another seller)")
                raise refuse(rule, f"运单号 {n} 已被使用 (number already used on trade {used_by})")
        numbers = [p.out_sid for p in packages]
        for c in trade.consignments:
            held = next((n for n in numbers if n in c.numbers), None)
            if held is not None and c is not own:
                raise refuse(rule, f"运单号 {held} 已被使用 (already on this trade's lines {','.join(c.oids)})")

    def sends(self, tid: str | None = None) -> list[dict[str, str]]:
        """The taobao.logistics.offline.send calls (one number each), of ``tid`` or all."""
        return self.calls_for(tid, OFFLINE_SEND)

    def calls_for(self, tid: str | None, *methods: str) -> list[dict[str, str]]:
        """The calls of ``methods`` (every shipping method when none), of ``tid`` or all, in order."""
        wanted = methods or SHIPPING_METHODS
        return [c for c in self.calls if c.get("method") in wanted and (tid is None or c.get("tid") == tid)]


@dataclass
class Recorder:
    requests: list[httpx.Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order (then 200)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        code = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(code, json={"ok": code < 300})

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


@dataclass
class FakeTracking(Recorder):
    """Tracking's subscription endpoints: the single one answers 201, the bulk one each item ``created``
    (or ``conflict`` for the numbers in ``conflicts``), as tracking does; ``statuses`` fail calls first."""

    conflicts: set[str] = field(default_factory=set)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.statuses:
            code = self.statuses.pop(0)
            return httpx.Response(code, json={"error": {"code": "unavailable", "message": "not now"}})
        body = json.loads(request.content)
        if not request.url.path.endswith("/batch"):
            return httpx.Response(201, json={**body, "status": "pending", "subscribed": False})
        results = [
            {
                "carrier": item["carrier"],
                "number": item["number"],
                "outcome": "conflict" if item["number"] in self.conflicts else "created",
                "subscription": None
                if item["number"] in self.conflicts
                else {**item, "status": "pending", "subscribed": False},
                "message": "tracked for another order" if item["number"] in self.conflicts else None,
            }
            for item in body["items"]
        ]
        conflicts = sum(1 for r in results if r["outcome"] == "conflict")
        return httpx.Response(
            200,
            json={"created": len(results) - conflicts, "existing": 0, "conflicts": conflicts, "results": results},
        )

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every shipment handed over, from single and bulk calls alike."""
        out: list[dict[str, Any]] = []
        for body in self.bodies():
            out += body.get("items", [body])
        return out
