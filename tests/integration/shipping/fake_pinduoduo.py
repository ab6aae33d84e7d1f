"""A Pinduoduo gateway for respx, written from the platform's documentation (not from our adapter): form
POSTs to /api/router, ``type`` naming the method, ``sign`` = uppercase MD5(secret + sorted name+value pairs +
secret); answers ``{"<key>_response": {...}}`` or ``{"error_response": {"error_code", "error_msg", ...}}``.
The codes it answers are the ones the sandbox and the adapter use (see services/sandbox/pinduoduo/errors.py)."""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

CLIENT_ID, CLIENT_SECRET = "sandbox-pdd-client", "sandbox-pdd-secret"
_sns = itertools.count(10**14 + secrets.randbelow(10**13) * 10)
_ids = itertools.count(7_000_000_000 + secrets.randbelow(10**8) * 10)
ZTO = 115


def pdd_sign(params: dict[str, str]) -> str:
    joined = "".join(k + v for k, v in sorted(params.items()) if k != "sign")
    return hashlib.md5(f"{CLIENT_SECRET}{joined}{CLIENT_SECRET}".encode()).hexdigest().upper()


def _error(code: int, msg: str) -> httpx.Response:
    body = {"error_code": code, "error_msg": msg, "sub_code": str(code), "sub_msg": msg, "request_id": "r"}
    return httpx.Response(200, json={"error_response": body})


@dataclass
class PddOrder:
    order_sn: str
    mall_id: int
    order_status: int = 1
    refund_status: int = 1
    tracking_number: str = ""
    logistics_id: int = 0
    last_ship_time: str = ""  # "YYYY-MM-DD HH:MM:SS", Beijing time; empty: the order gives none

    def info(self) -> dict[str, Any]:
        return {
            **({"last_ship_time": self.last_ship_time} if self.last_ship_time else {}),
            "order_sn": self.order_sn,
            "order_status": self.order_status,
            "refund_status": self.refund_status,
            "confirm_status": 1,
            "receiver_name": "王小二",
            "receiver_phone": "13800138000",
            "province": "广东省",
            "city": "深圳市",
            "town": "南山区",
            "address": "科技园南区 8 栋 1201",
            "item_list": [{"goods_name": "保温杯", "goods_count": 1, "goods_price": 59.9}],
            "pay_amount": 59.9,
            "tracking_number": self.tracking_number,
            "logistics_id": self.logistics_id,
        }


@dataclass
class FakePinduoduo:
    tokens: dict[str, int] = field(default_factory=dict)  # access_token -> mall_id
    orders: dict[str, PddOrder] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)  # order_sn -> error codes to answer first

    def add_mall(self) -> tuple[int, str]:
        mall_id, token = next(_ids), secrets.token_hex(16)
        self.tokens[token] = mall_id
        return mall_id, token

    def new_order(self, mall_id: int) -> PddOrder:
        sn = f"{time.strftime('%y%m%d')}-{next(_sns):015d}"
        self.orders[sn] = PddOrder(sn, mall_id)
        return self.orders[sn]

    def message(self, order: PddOrder, kind: str = "pdd_trade_TradeConfirmed") -> tuple[bytes, dict[str, str]]:
        """A message frame as the message service delivers it, signed for our HTTP receiver."""
        frame = {
            "id": next(_ids),
            "commandType": "Common",
            "time": int(time.time() * 1000),
            "sendTime": int(time.time() * 1000),
            "message": {
                "type": kind,
                "mallID": order.mall_id,
                "content": json.dumps({"mall_id": order.mall_id, "tid": order.order_sn}),
            },
        }
        body = json.dumps(frame).encode()
        stamp = str(int(time.time()))
        digest = hashlib.md5(CLIENT_SECRET.encode() + stamp.encode() + body + CLIENT_SECRET.encode()).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Pdd-Client-Id": CLIENT_ID,
            "X-Pdd-Timestamp": stamp,
            "X-Pdd-Sign": digest.upper(),
        }
        return body, headers

    def sends(self, order_sn: str) -> list[dict[str, str]]:
        return [c for c in self.calls if c.get("type") == "pdd.logistics.online.send" and c.get("order_sn") == order_sn]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        self.calls.append(params)
        if params.get("client_id") != CLIENT_ID or pdd_sign(params) != params.get("sign"):
            return _error(20004, "sign check failed")
        method = params.get("type")
        if method == "pdd.logistics.companies.get":
            companies = [{"id": ZTO, "logistics_company": "中通快递", "code": "ZTO", "available": 1}]
            return httpx.Response(200, json={"logistics_companies_get_response": {"logistics_companies": companies}})
        mall_id = self.tokens.get(params.get("access_token", ""))
        if mall_id is None:
            return _error(10019, "access_token expired")
        if method == "pdd.mall.info.get":
            return httpx.Response(200, json={"mall_info_get_response": {"mall_id": mall_id, "mall_name": "拼多多小店"}})
        order = self.orders.get(params.get("order_sn", ""))
        if order is None or order.mall_id != mall_id:
            return _error(50001, "order not found")
        if method == "pdd.order.information.get":
            return httpx.Response(200, json={"order_info_get_response": {"order_info": order.info()}})
        if method == "pdd.logistics.online.send":
            scripted = self.script.get(order.order_sn) or []
            if scripted:
                code = scripted.pop(0)
                return _error(code, f"error {code}")
            if order.refund_status != 1:
                return _error(50003, "order refunded")
            if order.order_status != 1:
                return _error(50002, "order already shipped")
            order.order_status, order.tracking_number = 2, params["tracking_number"]
            order.logistics_id = int(params["logistics_id"])
            return httpx.Response(200, json={"logistics_online_send_response": {"is_success": True}})
        return _error(10000, "unknown type")
