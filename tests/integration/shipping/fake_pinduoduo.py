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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

CLIENT_ID, CLIENT_SECRET = "sandbox-pdd-client", "sandbox-pdd-secret"
_sns = itertools.count(10**14 + secrets.randbelow(10**13) * 10)
_ids = itertools.count(7_000_000_000 + secrets.randbelow(10**8) * 10)
ZTO = 115
ONLINE_SEND = "pdd.logistics.online.send"
UPLOAD_EXTRA = "pdd.order.upload.extra.logistics"
ORDER_INFO = "pdd.order.information.get"
INCREMENT = "pdd.order.number.list.increment.get"
BEIJING = 8 * 3600


def pdd_sign(params: dict[str, str]) -> str:
    joined = "".join(k + v for k, v in sorted(params.items()) if k != "sign")
    return hashlib.md5(f"{CLIENT_SECRET}{joined}{CLIENT_SECRET}".encode()).hexdigest().upper()


def _error(code: int, msg: str) -> httpx.Response:
    body = {"error_code": code, "error_msg": msg, "sub_code": str(code), "sub_msg": msg, "request_id": "r"}
    return httpx.Response(200, json={"error_response": body})


UNCHANGEABLE = 50007  # 修改发货 or an extra number on an order not shipped (or signed for)
USED = 50005  # the number already shipped another order (or is this order's main/extra one already)
EXTRA_TYPES = frozenset({"1", "2", "3"})  # extra_track_type 分包发货, 补发商品, 发放赠品


class _Refused(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg = code, msg


@dataclass(frozen=True)
class PddItem:
    goods_name: str = "保温杯"
    goods_count: int = 1
    goods_price: float = 59.9


@dataclass(frozen=True)
class ExtraTrack:
    """A number added by pdd.order.upload.extra.logistics (type 1 分包发货, 2 补发商品, 3 发放赠品)."""

    track_type: int
    logistics_id: int
    tracking_number: str


@dataclass
class PddOrder:
    order_sn: str
    mall_id: int
    order_status: int = 1
    refund_status: int = 1
    tracking_number: str = ""
    logistics_id: int = 0
    last_ship_time: str = ""  # "YYYY-MM-DD HH:MM:SS", Beijing time; empty: the order gives none
    pay_time: str = ""  # the same form
    items: list[PddItem] = field(default_factory=lambda: [PddItem()])
    extra_tracks: list[ExtraTrack] = field(default_factory=list)
    confirm_status: int = 1  # 0 未成交 (not paid, or its group not formed), 1 已成交, 2 已取消
    updated_at: float = field(default_factory=time.time)  # unix seconds; shown as Beijing time

    @property
    def numbers(self) -> list[str]:
        """The tracking number, then every extra one, in the order they were added."""
        return [n for n in [self.tracking_number, *(t.tracking_number for t in self.extra_tracks)] if n]

    def info(self) -> dict[str, Any]:
        return {
            **({"last_ship_time": self.last_ship_time} if self.last_ship_time else {}),
            **({"pay_time": self.pay_time} if self.pay_time else {}),
            "order_sn": self.order_sn,
            "order_status": self.order_status,
            "refund_status": self.refund_status,
            "confirm_status": self.confirm_status,
            "updated_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.updated_at + BEIJING)),
            "receiver_name": "王小二",
            "receiver_phone": "13800138000",
            "province": "广东省",
            "city": "深圳市",
            "town": "南山区",
            "address": "科技园南区 8 栋 1201",
            "item_list": [
                {"goods_name": i.goods_name, "goods_count": i.goods_count, "goods_price": i.goods_price}
                for i in self.items
            ],
            "pay_amount": round(sum(i.goods_price * i.goods_count for i in self.items), 2),
            "tracking_number": self.tracking_number,
            "logistics_id": self.logistics_id,
            "extra_delivery_list": [
                {"logistics_id": t.logistics_id, "tracking_number": t.tracking_number}
                for t in self.extra_tracks
                if t.track_type != 3
            ],
            "gift_delivery_list": [
                {"logistics_id": t.logistics_id, "tracking_number": t.tracking_number}
                for t in self.extra_tracks
                if t.track_type == 3
            ],
        }


@dataclass
class FakePinduoduo:
    """The gateway as the sandbox (services/sandbox/pinduoduo/methods.py) answers it: pdd.logistics.online.send
    ships an awaiting order (50002 once shipped, 50003 refunded) or, redelivery_type 2, replaces a shipped
    order's number (50007 unshipped or signed for); pdd.order.upload.extra.logistics adds extra numbers to a
    shipped order (50007 unshipped), each checked, none added unless all pass, one held already not added
    twice. A number another order holds, or the order's main one as an extra (or an extra as the main one), is
    refused with 50005 naming it; number patterns are not checked."""

    tokens: dict[str, int] = field(default_factory=dict)  # access_token -> mall_id
    orders: dict[str, PddOrder] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)
    # order_sn -> answers for its pdd.logistics.online.send calls (``extra_script``: its extra uploads), in
    # order: an error code to answer, "ok", "sent-earlier" (applied, then 50002 answered), "lost" (applied,
    # its answer lost: a read timeout) or an exception to raise.
    script: dict[str, list[Any]] = field(default_factory=dict)
    extra_script: dict[str, list[Any]] = field(default_factory=dict)
    used_numbers: dict[str, str] = field(default_factory=dict)  # tracking number (or extra one) -> order_sn
    # pdd.order.number.list.increment.get: orders it leaves out (updated since, say) and how many of its
    # next calls (pdd.order.information.get's: ``info_failures``) answer 52103 (service unavailable).
    unlisted: set[str] = field(default_factory=set)
    list_failures: int = 0
    info_failures: int = 0

    def add_mall(self) -> tuple[int, str]:
        mall_id, token = next(_ids), secrets.token_hex(16)
        self.tokens[token] = mall_id
        return mall_id, token

    def new_order(self, mall_id: int, *, items: int = 1) -> PddOrder:
        """An order awaiting shipment with ``items`` lines."""
        sn = f"{time.strftime('%y%m%d')}-{next(_sns):015d}"
        names = ("保温杯", "茶叶", "茶盘", "茶杯", "杯垫")
        goods = [PddItem(names[n % len(names)]) for n in range(items)]
        self.orders[sn] = PddOrder(sn, mall_id, items=goods)
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
        """The pdd.logistics.online.send calls of the order (first sends and changes alike)."""
        return self.calls_for(order_sn, ONLINE_SEND)

    def calls_for(self, order_sn: str, *types: str) -> list[dict[str, str]]:
        """The order's calls of ``types`` (its online sends and extra uploads when none), in order."""
        wanted = types or (ONLINE_SEND, UPLOAD_EXTRA)
        return [c for c in self.calls if c.get("type") in wanted and c.get("order_sn") == order_sn]

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
        if method == INCREMENT:
            return self._increment(mall_id, params)
        if method == ORDER_INFO and self.info_failures > 0:
            self.info_failures -= 1
            return _error(52103, "服务暂时不可用，请稍后重试")
        order = self.orders.get(params.get("order_sn", ""))
        if order is None or order.mall_id != mall_id:
            return _error(50001, "order not found")
        if method == ORDER_INFO:
            return httpx.Response(200, json={"order_info_get_response": {"order_info": order.info()}})
        if method == ONLINE_SEND:
            return self._scripted(self.script, order, params, self._online_send, "logistics_online_send_response")
        if method == UPLOAD_EXTRA:
            return self._scripted(
                self.extra_script, order, params, self._upload_extra, "upload_extra_logistics_response"
            )
        return _error(10000, "unknown type")

    def listed(self) -> list[dict[str, str]]:
        """The pdd.order.number.list.increment.get calls, in order."""
        return [c for c in self.calls if c.get("type") == INCREMENT]

    def _increment(self, mall_id: int, params: dict[str, str]) -> httpx.Response:
        """Orders of the mall updated within [start_updated_at, end_updated_at] (at most 30 min apart) of the
        order_status and refund_status asked (5: any), oldest update first, a page of page_size (1-100)."""
        if self.list_failures > 0:
            self.list_failures -= 1
            return _error(52103, "服务暂时不可用，请稍后重试")
        try:
            start, end = int(params["start_updated_at"]), int(params["end_updated_at"])
            order_status, refund_status = int(params["order_status"]), int(params["refund_status"])
            page, size = int(params.get("page", "1")), int(params.get("page_size", "100"))
        except (KeyError, ValueError):
            return _error(10000, "参数错误")
        if not 0 <= end - start <= 1800:
            return _error(10000, "开始时间结束时间间距不超过30分钟")
        if page < 1 or not 1 <= size <= 100:
            return _error(10000, "参数错误:page_size")
        matched = sorted(
            (
                o
                for o in self.orders.values()
                if o.mall_id == mall_id
                and o.order_sn not in self.unlisted
                and start <= int(o.updated_at) <= end
                and order_status in (5, o.order_status)
                and refund_status in (5, o.refund_status)
            ),
            key=lambda o: (o.updated_at, o.order_sn),
        )
        rows = [o.info() for o in matched[(page - 1) * size : page * size]]
        body: dict[str, Any] = {"order_sn_list": rows, "request_id": "r"}
        if params.get("use_has_next") == "true":
            body["has_next"] = page * size < len(matched)
        else:
            body["total_count"] = len(matched)
        return httpx.Response(200, json={"order_sn_increment_get_response": body})

    def _scripted(
        self,
        script: dict[str, list[Any]],
        order: PddOrder,
        params: dict[str, str],
        apply: Callable[[PddOrder, dict[str, str]], dict[str, Any]],
        key: str,
    ) -> httpx.Response:
        answers = script.get(order.order_sn) or []
        answer = answers.pop(0) if answers else "ok"
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return _error(answer, f"error {answer}")
        try:
            body = apply(order, params)
            if answer == "sent-earlier":
                raise _Refused(50002, f"订单已发货 (shipped with {order.tracking_number})")
        except _Refused as refused:
            return _error(refused.code, refused.msg)
        if answer == "lost":
            raise httpx.ReadTimeout("the platform took the call; its answer was lost")
        return httpx.Response(200, json={key: {**body, "request_id": "r"}})

    def _online_send(self, order: PddOrder, params: dict[str, str]) -> dict[str, Any]:
        logistics_id = self._logistics_id(params.get("logistics_id", ""))
        number = params.get("tracking_number", "").strip()
        if not number:
            raise _Refused(10000, "tracking_number不能为空 (tracking_number is required)")
        redelivery = params.get("redelivery_type", "").strip() or "1"
        if redelivery not in ("1", "2"):
            raise _Refused(10000, "redelivery_type须为1或2 (1 first send, 2 change)")
        if redelivery == "2":
            self._changeable(order, "修改发货")
            self._check_number(order, number)
            if order.tracking_number != number:
                self.used_numbers.pop(order.tracking_number, None)
            order.tracking_number, order.logistics_id = number, logistics_id
            self.used_numbers[number] = order.order_sn
            return {"is_success": True}
        if order.order_status != 1:
            raise _Refused(50002, f"订单已发货 (shipped with {order.tracking_number})")
        if order.refund_status != 1:
            raise _Refused(50003, f"订单售后中或已退款，不能发货 (refund_status {order.refund_status})")
        self._check_number(order, number)
        order.order_status, order.tracking_number, order.logistics_id = 2, number, logistics_id
        order.updated_at = time.time()
        self.used_numbers[number] = order.order_sn
        return {"is_success": True}

    def _upload_extra(self, order: PddOrder, params: dict[str, str]) -> dict[str, Any]:
        track_type = params.get("extra_track_type", "")
        if track_type not in EXTRA_TYPES:
            raise _Refused(10000, "extra_track_type须为1、2或3 (1 split, 2 resend, 3 gift)")
        try:
            rows = json.loads(params.get("extra_track_list") or "null")
        except ValueError:
            rows = None
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise _Refused(10000, "extra_track_list须为JSON数组 ([{shipping_id, tracking_number}])")
        tracks = []
        for row in rows:
            number = row.get("tracking_number")
            if not isinstance(number, str) or not number.strip():
                raise _Refused(10000, "tracking_number不能为空 (tracking_number is required)")
            logistics_id = self._logistics_id(str(row.get("shipping_id", "")))
            tracks.append(ExtraTrack(int(track_type), logistics_id, number.strip()))
        self._changeable(order, "上传额外运单")
        for track in tracks:
            self._check_number(order, track.tracking_number, extra=True)
        held = {t.tracking_number for t in order.extra_tracks}
        for track in tracks:
            if track.tracking_number not in held:
                order.extra_tracks.append(track)
                held.add(track.tracking_number)
                self.used_numbers[track.tracking_number] = order.order_sn
        return {"success": True}

    @staticmethod
    def _logistics_id(value: str) -> int:
        if not value.isdigit():
            raise _Refused(10000, "logistics_id须为数字 (logistics_id is a number)")
        if int(value) != ZTO:
            raise _Refused(50006, f"快递公司不存在 (no logistics_id {value})")
        return int(value)

    @staticmethod
    def _changeable(order: PddOrder, what: str) -> None:
        if order.order_status == 1:
            raise _Refused(UNCHANGEABLE, f"订单未发货，不能{what} (the order has not shipped)")
        if what == "修改发货" and order.order_status == 3:
            raise _Refused(UNCHANGEABLE, f"订单已签收，不能{what} (the order was signed for)")
        if order.refund_status == 4:
            raise _Refused(50003, f"订单已退款，不能{what} (refund_status {order.refund_status})")

    def _check_number(self, order: PddOrder, number: str, *, extra: bool = False) -> None:
        used_by = self.used_numbers.get(number)
        if used_by is not None and used_by != order.order_sn:
            raise _Refused(USED, f"运单号 {number} 已被其他订单使用 (already shipped order {used_by})")
        extras = {t.tracking_number for t in order.extra_tracks}
        if (extra and number == order.tracking_number) or (not extra and number in extras):
            raise _Refused(USED, f"运单号 {number} 已用于本订单的{'主' if extra else '额外'}运单")
