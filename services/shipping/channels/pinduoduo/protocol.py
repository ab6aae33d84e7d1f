"""Pinduoduo's open-platform wire format as pure functions (no I/O).

Facts and where each was checked:

- Gateway: one URL (https://gw-api.pinduoduo.com/api/router), POST, the method in ``type``; common
  parameters ``type``, ``client_id``, ``access_token`` (only for methods that act for a seller),
  ``timestamp`` (unix seconds), ``data_type`` (JSON), ``version`` (V1), ``sign``; business parameters beside
  them. Official Java SDK (com.pdd.pop.sdk, public decompiled copies: ``http.PopBaseHttpRequest.getParamsMap``
  puts version, data_type, type, timestamp = currentTimeMillis/1000; ``http.client.AbstractPopClient``
  adds client_id, access_token when not empty, then sign); lywzx/pdd-node-sdk packages/core/src/libs/pdd-client.ts.
  The Java SDK posts the parameters as a JSON body; form bodies are what the Node SDK and public callers
  (e.g. differentname123/Shop-Fusion get_pid.py) send. We send a form.
- Sign: every parameter except ``sign`` sorted by name, name + value concatenated with no separator,
  the client secret on both sides, MD5, uppercase hex (``common.util.SignUtils.buildSignSource`` / ``sign``;
  pdd-client.ts ``sign()``). Empty values are NOT left out: the SDK signs every entry of the map; a null
  business parameter never enters it (``PopBaseHttpRequest.setUserParam``), which ``build_params`` mirrors
  by dropping None.
- Answers: ``{"<key>": {...}}`` with method-specific keys (lywzx/pdd-node-sdk packages/pdd-origin-api/src:
  dingDan/PddOrderInformationGet.ts ``order_info_get_response.order_info``, wuLiu/PddLogisticsOnlineSend.ts
  ``logistics_online_send_response.is_success``, wuLiu/PddLogisticsCompaniesGet.ts
  ``logistics_companies_get_response.logistics_companies[{id, logistics_company, code, available}]`` and an
  empty request (no seller parameter), dianPu/PddMallInfoGet.ts ``mall_info_get_response.mall_id``).
  Errors ``{"error_response": {"error_code", "error_msg", "sub_code", "sub_msg", "request_id"}}``
  (SDK ``http.PopBaseHttpResponse``; pdd-response.exception.ts ``PddErrorResponse``; a real one quoted in
  justmd5/pinduoduo-sdk issue #19). Codes and their refusals: ``errors``.
- order_info fields (PddOrderInformationGet.ts): order_sn; order_status 1 待发货 2 已发货待签收 3 已签收;
  refund_status 1 无售后或售后关闭 2 售后处理中 3 退款中 4 退款成功; confirm_status 0 未成交 1 已成交
  2 已取消; receiver_name, receiver_phone, receiver_address (without province/city/town), address (the full
  one), province, city, town; pay_amount (yuan, a string); item_list [{goods_id, sku_id, goods_name,
  goods_count, goods_price (yuan)}]; tracking_number, logistics_id; created_time, confirm_time,
  shipping_time. The real platform returns receiver_* encrypted (密文); decrypting them is not done here.
  ``mall_id`` is not an order_info field: read when present (unconfirmed), else the store's.
  ``last_ship_time`` (承诺发货时间, "yyyy-MM-dd HH:mm:ss" Beijing time); ``extra_delivery_list`` (分包发货额外运单)
  and ``gift_delivery_list`` (赠品额外运单), each ``[{logistics_id, tracking_number}]`` (the pop SDK's
  OrderInfoGetResponse, as public copies of it give it: find_string "extra_delivery_list").
- Several parcels (no per-line split on Pinduoduo): ``pdd.logistics.online.send`` ships the order with one
  number; ``redelivery_type`` 1 首次发货 (the default, only for an order awaiting shipment), 2 修改发货 (replaces
  the shipped number, only for a shipped order) (pdd crate / pop SDK PddLogisticsOnlineSendRequest). The other
  numbers go by ``pdd.order.upload.extra.logistics``: ``order_sn``, ``extra_track_type`` (1 分包发货, 2 补发商品,
  3 发放赠品), ``extra_track_list`` = JSON ``[{shipping_id, tracking_number}]``; answers
  ``upload_extra_logistics_response.success`` (docs.rs pdd src/requests/pdd_order_upload_extra_logistics.rs;
  the pop SDK's PddOrderUploadRelationLogisticsResponse has the same key and ``success``).
- Orders updated in a window: ``pdd.order.number.list.increment.get`` (查询订单增量): ``start_updated_at``,
  ``end_updated_at`` (unix seconds, required, at most 30 minutes apart), ``order_status`` (1 待发货 ... 5 全部),
  ``refund_status`` (1 无售后或售后关闭 ... 5 全部), ``page`` (from 1), ``page_size`` (default and max 100),
  ``use_has_next`` (true: ``has_next`` instead of the total); answers ``order_sn_increment_get_response``
  {``order_sn_list`` (order_info objects, ``updated_at`` among them), ``total_count``, ``has_next``}. The docs
  advise paging from the last page backwards and an end no earlier than 3 minutes before Pinduoduo's clock to
  miss no order (docs.rs pdd src/requests/pdd_order_number_list_increment_get.rs; niltor/open-pdd-net-sdk
  GetOrderNumberListIncrementRequestModel.cs; the pop SDK's PddOrderNumberListIncrementGetResponse).
- Carriers: ``carriers``. Messages: ``messages``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from services.shipping.channels.base import ChannelOrder, OrderState, beijing_time
from services.shipping.channels.pinduoduo.carriers import CARRIER_OF_ID
from services.shipping.channels.pinduoduo.errors import PddError, network_error
from services.shipping.channels.pinduoduo.messages import BadMessage, BadSignature, verify_message

__all__ = [
    "BadMessage",
    "BadSignature",
    "PddError",
    "build_params",
    "network_error",
    "parse_companies",
    "parse_mall_id",
    "parse_order",
    "parse_response",
    "sign",
    "verify_message",
]

ORDER_INFO = "pdd.order.information.get"
ONLINE_SEND = "pdd.logistics.online.send"
COMPANIES = "pdd.logistics.companies.get"
MALL_INFO = "pdd.mall.info.get"
UPLOAD_EXTRA = "pdd.order.upload.extra.logistics"
ORDER_INCREMENT = "pdd.order.number.list.increment.get"
RESPONSE_KEYS = {
    ORDER_INCREMENT: "order_sn_increment_get_response",  # not derivable from the method name
    UPLOAD_EXTRA: "upload_extra_logistics_response",
    ORDER_INFO: "order_info_get_response",  # not derivable from the method name
    ONLINE_SEND: "logistics_online_send_response",
    COMPANIES: "logistics_companies_get_response",
    MALL_INFO: "mall_info_get_response",
}
AWAITING_SHIPMENT = 1  # order_status 待发货
NO_AFTER_SALES = 1  # refund_status 无售后或售后关闭
REFUNDED = 4  # refund_status 退款成功
SHIPPED_STATUSES = frozenset({2, 3})
NOT_CONFIRMED, CANCELLED = 0, 2  # confirm_status 未成交, 已取消
ORDER_STATUS_TEXT = {1: "待发货", 2: "已发货待签收", 3: "已签收"}
REFUND_STATUS_TEXT = {1: "无售后或售后关闭", 2: "售后处理中", 3: "退款中", 4: "退款成功"}
ALL_STATUSES = 5  # order_status / refund_status 全部 (the list call's filters)
INCREMENT_SPAN_S = 30 * 60  # end_updated_at - start_updated_at at most
INCREMENT_PAGE_SIZE = 100  # the most a page holds
REDELIVERY_CHANGE = 2  # redelivery_type 修改发货: replaces a shipped order's number
EXTRA_SPLIT = 1  # extra_track_type 分包发货: the order's other parcels
CHINA = timezone(timedelta(hours=8))
_MAX_CENTS = 10**12  # ten billion yuan: anything larger is not an order's amount
_MAX_COUNT = 10**9


def sign(params: Mapping[str, str], secret: str) -> str:
    joined = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    return hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()


def build_params(
    type: str,  # Pinduoduo's own name for the method parameter
    client_id: str,
    secret: str,
    access_token: str | None,
    now: datetime,
    **business: str | int | None,
) -> dict[str, str]:
    params = {
        "type": type,
        "client_id": client_id,
        "timestamp": str(int(now.timestamp())),
        "data_type": "JSON",
        "version": "V1",
    }
    params.update({k: str(v) for k, v in business.items() if v is not None})
    if access_token:
        params["access_token"] = access_token
    params["sign"] = sign(params, secret)
    return params


def response_key(type: str) -> str:
    return RESPONSE_KEYS.get(type) or type.removeprefix("pdd.").replace(".", "_") + "_response"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def parse_response(type: str, status_code: int, raw: bytes) -> dict[str, Any]:
    """The body under the method's response key, or PddError."""
    if status_code >= 500:
        raise network_error(f"HTTP {status_code}")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise network_error("Pinduoduo answered with invalid JSON") from None
    if not isinstance(body, dict):
        raise network_error("Pinduoduo answered with a non-object")
    err = body.get("error_response")
    if isinstance(err, dict):
        msg, sub_code, sub_msg = str(err.get("error_msg", "")), _text(err.get("sub_code")), _text(err.get("sub_msg"))
        raise PddError(err.get("error_code", 0), msg, sub_code, sub_msg)
    found = body.get(response_key(type))
    if not isinstance(found, dict):
        raise network_error(f"no {response_key(type)} in the answer")
    return found


def _int(value: object, default: int = 0) -> int:
    """A count or status from outside: an int, or digits; anything else (or absurd) is ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value if abs(value) <= _MAX_COUNT else default
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 10:
        return int(value.strip())
    return default


def yuan_to_cents(value: object) -> int:
    """Yuan (a string or number) as whole cents, exactly; unreadable, negative or absurd amounts are 0."""
    if value is None or value == "" or isinstance(value, bool) or not isinstance(value, str | int | float):
        return 0
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return 0
    # adjusted() first: a huge exponent would overflow the multiplication itself.
    if not amount.is_finite() or amount < 0 or amount.adjusted() > 12 or amount * 100 > _MAX_CENTS:
        return 0
    return int((amount * 100).to_integral_value())


def _str(value: object) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)


def order_state(order_status: int, refund_status: int, confirm_status: int | None) -> OrderState:
    if refund_status == REFUNDED or confirm_status == CANCELLED:
        return OrderState.CLOSED
    if order_status in SHIPPED_STATUSES:
        return OrderState.SHIPPED
    if order_status == AWAITING_SHIPMENT and refund_status == NO_AFTER_SALES and confirm_status != NOT_CONFIRMED:
        return OrderState.AWAITING_SHIPMENT
    return OrderState.OTHER  # in after-sales, not yet 成交, or a status we do not know


def _items(raw: object) -> list[dict[str, Any]]:
    lines = raw if isinstance(raw, list) else []
    return [
        {
            "goods_id": _str(line.get("goods_id")),
            "sku_id": _str(line.get("sku_id")),
            "title": _str(line.get("goods_name")),
            "num": max(_int(line.get("goods_count"), 1), 1),
            "price_cents": yuan_to_cents(line.get("goods_price")),
        }
        for line in lines
        if isinstance(line, dict)
    ]


def parse_order(body: dict[str, Any]) -> ChannelOrder:
    """``order_info_get_response``'s order as a ChannelOrder; missing or mistyped fields read as empty
    (no ``order_info`` object at all is an answer we cannot read: a network PddError)."""
    o = body.get("order_info")
    if not isinstance(o, dict):
        raise network_error("no order_info in the answer")
    order_status = _int(o.get("order_status"), -1)
    refund_status = _int(o.get("refund_status"), -1)
    confirm = _int(o.get("confirm_status"), -1) if "confirm_status" in o else None
    number = _str(o.get("tracking_number")).strip()
    logistics_id = _int(o.get("logistics_id"), -1)
    carrier = CARRIER_OF_ID.get(logistics_id)
    status = " / ".join(
        (
            ORDER_STATUS_TEXT.get(order_status, f"order_status={order_status}"),
            REFUND_STATUS_TEXT.get(refund_status, f"refund_status={refund_status}"),
        )
    )
    return ChannelOrder(
        external_id=_str(o.get("order_sn")),
        state=order_state(order_status, refund_status, confirm),
        status=status,
        seller_id=_str(o.get("mall_id")),
        buyer_nick="",  # Pinduoduo does not give the buyer's name
        receiver_name=_str(o.get("receiver_name")),
        receiver_phone=_str(o.get("receiver_phone")),
        receiver_state=_str(o.get("province")),
        receiver_city=_str(o.get("city")),
        receiver_district=_str(o.get("town")),
        receiver_address=_str(o.get("receiver_address")) or _str(o.get("address")),
        receiver_zip="",
        weight_g=0,
        payment_cents=yuan_to_cents(o.get("pay_amount")),
        items=_items(o.get("item_list")),
        shipped_number=number or None,
        shipped_carrier=carrier.value if number and carrier else None,
        shipped_numbers=_shipped_numbers(number, o),
        ship_by=parse_ship_by(o.get("last_ship_time")),
        paid_at=beijing_time(o.get("pay_time")),
    )


def _shipped_numbers(number: str, o: dict[str, Any]) -> tuple[str, ...]:
    """The tracking number, then every extra one (other parcels, then gifts'), each once."""
    found = [number] if number else []
    for key in ("extra_delivery_list", "gift_delivery_list"):
        rows = o.get(key)
        for row in rows if isinstance(rows, list) else []:
            extra = _str(row.get("tracking_number")).strip() if isinstance(row, dict) else ""
            if extra:
                found.append(extra)
    return tuple(dict.fromkeys(found))


def parse_ship_by(value: object) -> datetime | None:
    """``last_ship_time`` (Beijing time) as an aware datetime; None when absent or unreadable."""
    return beijing_time(value)


def parse_mall_id(body: dict[str, Any]) -> str:
    """The mall ``pdd.mall.info.get`` answers for (whose access_token it was), as a string."""
    mall_id = body.get("mall_id")
    if isinstance(mall_id, bool) or not isinstance(mall_id, int | str) or not str(mall_id).strip().isdigit():
        raise network_error("no mall_id in the answer")
    return str(mall_id).strip()


def parse_companies(body: dict[str, Any]) -> dict[int, str]:
    """``{logistics_id: Pinduoduo code}`` of the companies one may ship with now (available != 0)."""
    rows = body.get("logistics_companies")
    if not isinstance(rows, list):
        raise network_error("no logistics_companies in the answer")
    found: dict[int, str] = {}
    for row in rows:
        if not isinstance(row, dict) or _int(row.get("available"), 1) == 0:
            continue
        company_id, code = _int(row.get("id"), -1), row.get("code")
        if company_id >= 0 and isinstance(code, str) and code:
            found[company_id] = code.strip().upper()
    return found


def online_send_ok(body: dict[str, Any]) -> bool:
    return body.get("is_success") is True


def extra_track_list(logistics_id: int, numbers: Sequence[str]) -> str:
    """``extra_track_list``: each number with the carrier's id (``shipping_id``)."""
    rows = [{"shipping_id": logistics_id, "tracking_number": n} for n in numbers]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def upload_extra_ok(body: dict[str, Any]) -> bool:
    return body.get("success") is True


def parse_order_page(body: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None, bool | None]:
    """One page of ``pdd.order.number.list.increment.get``: its order_info objects as sent (each read with
    ``parse_order({"order_info": row})``), the total (None when asked for has_next) and has_next (None when
    asked for the total). No ``order_sn_list`` at all is an answer we cannot read."""
    rows = body.get("order_sn_list")
    if not isinstance(rows, list):
        raise network_error("no order_sn_list in the answer")
    total = body.get("total_count")
    more = body.get("has_next")
    return (
        [r for r in rows if isinstance(r, dict)],
        _int(total) if total is not None else None,
        more if isinstance(more, bool) else None,
    )
