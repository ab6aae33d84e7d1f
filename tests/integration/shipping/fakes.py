"""respx side effects: a marketplace that verifies our signatures (written independently of our
code) and answers with recorded TOP payloads, and a recorder for tracking and shop webhooks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
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


@dataclass
class FakeTrade:
    tid: str
    seller_nick: str
    status: str = "WAIT_SELLER_SEND_GOODS"
    receiver_state: str = "广东省"
    receiver_address: str = "科技园南区高新南七道 4 栋 1201 室"
    out_sid: str | None = None
    company: str | None = None

    def top(self) -> dict[str, Any]:
        order: dict[str, Any] = {"oid": str(int(self.tid) + 1), "title": "保温杯", "num": 1, "price": "59.90"}
        if self.out_sid:
            order |= {"invoice_no": self.out_sid, "logistics_company": self.company}
        return {
            "tid": self.tid,
            "status": self.status,
            "seller_nick": self.seller_nick,
            "buyer_nick": "tb12345678",
            "payment": "59.90",
            "receiver_name": "张三",
            "receiver_mobile": "13911112222",
            "receiver_state": self.receiver_state,
            "receiver_city": "深圳市",
            "receiver_district": "南山区",
            "receiver_address": self.receiver_address,
            "receiver_zip": "518000",
            "weight_g": 1250,
            "orders": {"order": [order]},
        }


@dataclass
class FakeMarketplace:
    sessions: dict[str, str] = field(default_factory=dict)
    trades: dict[str, FakeTrade] = field(default_factory=dict)
    script: dict[str, list[Any]] = field(default_factory=dict)  # tid -> answers for offline.send
    fullinfo_failures: int = 0
    seller_check_failures: int = 0  # taobao.user.seller.get answers a remote-service error this many times
    calls: list[dict[str, str]] = field(default_factory=list)
    bad_signatures: int = 0

    def add_seller(self, nick: str) -> str:
        session = f"6100{secrets.token_hex(8)}"
        self.sessions[session] = nick
        return session

    def new_trade(self, nick: str, **kw: Any) -> FakeTrade:
        trade = FakeTrade(str(next(_tids)), nick, **kw)
        self.trades[trade.tid] = trade
        return trade

    def message(self, trade: FakeTrade, topic: str = "taobao_trade_TradeBuyerPay", **over: str) -> dict[str, str]:
        content = {"tid": trade.tid, "oid": str(int(trade.tid) + 1), "payment": "59.90", "buyer_nick": "tb1",
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
                return httpx.Response(
                    200,
                    json={"error_response": {"code": 15, "msg": "Remote service error",
                                             "sub_code": "isp.top-remote-service-unavailable"}},
                )  # fmt: skip
            trade = self.trades.get(params["tid"])
            if trade is None or trade.seller_nick != nick:
                return httpx.Response(
                    200,
                    json={"error_response": {"code": 15, "msg": "Remote service error",
                                             "sub_code": "isv.trade-not-exist"}},
                )  # fmt: skip
            return httpx.Response(200, json={"trade_fullinfo_get_response": {"trade": trade.top(), "request_id": "x"}})
        if method == "taobao.user.seller.get":
            if self.seller_check_failures > 0:
                self.seller_check_failures -= 1
                return httpx.Response(
                    200,
                    json={"error_response": {"code": 15, "msg": "Remote service error",
                                             "sub_code": "isp.top-remote-service-unavailable"}},
                )  # fmt: skip
            if nick is None:
                return httpx.Response(
                    200,
                    json={"error_response": {"code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey"}},
                )
            user = {"nick": nick, "user_id": "2200000001"}
            return httpx.Response(200, json={"user_seller_get_response": {"user": user, "request_id": "u"}})
        if method == "taobao.logistics.offline.send":
            tid = params["tid"]
            answers = self.script.get(tid) or []
            if answers:
                answer = answers.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                if answer == "sent-earlier":
                    # An earlier attempt of ours got through (its answer lost, or its worker killed): the trade
                    # carries our number and this call is refused as already shipped.
                    trade = self.trades[tid]
                    trade.status, trade.out_sid, trade.company = (
                        "WAIT_BUYER_CONFIRM_GOODS",
                        params["out_sid"],
                        params["company_code"],
                    )
                    return httpx.Response(200, json=offline_error("B04", "trade is WAIT_BUYER_CONFIRM_GOODS"))
                if answer != "ok":
                    return httpx.Response(200, json=offline_error(answer))
            trade = self.trades.get(tid)
            if trade is None:
                return httpx.Response(200, json=offline_error("B01"))
            if trade.status != "WAIT_SELLER_SEND_GOODS":
                return httpx.Response(200, json=offline_error("B04", f"trade is {trade.status}"))
            trade.status, trade.out_sid, trade.company = (
                "WAIT_BUYER_CONFIRM_GOODS",
                params["out_sid"],
                params["company_code"],
            )
            return httpx.Response(
                200, json={"logistics_offline_send_response": {"shipping": {"is_success": True}, "request_id": "y"}}
            )
        return httpx.Response(200, json={"error_response": {"code": 22, "msg": "Invalid method"}})

    def sends(self, tid: str | None = None) -> list[dict[str, str]]:
        return [
            c
            for c in self.calls
            if c.get("method") == "taobao.logistics.offline.send" and (tid is None or c["tid"] == tid)
        ]


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
