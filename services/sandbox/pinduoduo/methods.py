"""The gateway's methods: who may call, which faults strike, and each method's answer or refusal.

Answer shapes (lywzx/pdd-node-sdk packages/pdd-origin-api/src): ``mall_info_get_response`` {mall_id,
mall_name, mall_desc, logo, merchant_type} (dianPu/PddMallInfoGet.ts); ``order_info_get_response``
{order_info} (dingDan/PddOrderInformationGet.ts); ``logistics_companies_get_response``
{logistics_companies: [...]} (wuLiu/PddLogisticsCompaniesGet.ts); ``logistics_online_send_response``
{is_success} for ``order_sn``, ``logistics_id``, ``tracking_number`` (wuLiu/PddLogisticsOnlineSend.ts).
Every answer also carries ``request_id`` inside its object (unconfirmed). ``pdd.logistics.online.send`` checks,
in this order: parameters, carrier (known and available), order (the mall's), already shipped (a repeat with
the same number included), refund/cancel state, number pattern, number used by another order. With
``redelivery_type`` 2 (修改发货) it replaces a shipped order's number instead (50007 for an order not shipped or
signed for). ``pdd.order.upload.extra.logistics`` (``order_sn``, ``extra_track_type`` 1/2/3,
``extra_track_list`` JSON ``[{shipping_id, tracking_number}]``) → ``upload_extra_logistics_response``
{success}: extra numbers for a shipped order, each checked as a tracking number is. A refusal about a number
names it in sub_msg.

``pdd.order.number.list.increment.get`` (查询订单增量; parameters and limits from the public SDKs' request
models, e.g. niltor/open-pdd-net-sdk GetOrderNumberListIncrementRequestModel.cs, the pop SDK's
PddOrderNumberListIncrementGetResponse): the mall's orders whose ``updated_at`` is within
[``start_updated_at``, ``end_updated_at``] (unix seconds, at most 30 minutes apart), of ``order_status`` (1, 2, 3,
5 全部) and ``refund_status`` (1-4, 5 全部), oldest update first, ``page`` (from 1) of ``page_size`` (1-100,
default 100) → ``order_sn_increment_get_response`` {order_sn_list: [order_info...], total_count} or, with
``use_has_next`` true, {order_sn_list, has_next}. Unconfirmed: both statuses required; an order not yet
confirmed (未成交) is not listed as 待发货; the sandbox has no lucky (抽奖) or deposit (定金) orders, so
``is_lucky_flag`` 2 and ``trade_type`` 1 list none; the span refusal is 10000 naming end_updated_at.
"""

from __future__ import annotations

import json
from typing import Any

from services.sandbox.pinduoduo import errors
from services.sandbox.pinduoduo.carriers import BY_ID, COMPANIES, Company
from services.sandbox.pinduoduo.errors import PddError, parameter_error
from services.sandbox.pinduoduo.orders import ConfirmStatus, ExtraTrack, Mall, Order, OrderStatus, RefundStatus
from services.sandbox.pinduoduo.protocol import TOKEN_METHODS, authenticate, order_sn, required
from services.sandbox.pinduoduo.store import Pinduoduo

MAX_TRACKING_CHARS = 40
MAX_EXTRA_TRACKS = 20  # unconfirmed: the platform publishes no limit
MAX_LIST_CHARS = 10_000
FIRST_SEND, CHANGE = "1", "2"  # redelivery_type 首次发货, 修改发货
EXTRA_TYPES = frozenset({1, 2, 3})  # extra_track_type 分包发货, 补发商品, 发放赠品
MAX_INCREMENT_SPAN_S = 30 * 60
MAX_PAGE_SIZE = 100
ALL = 5  # order_status / refund_status 全部
ORDER_STATUSES = frozenset({1, 2, 3, ALL})
REFUND_STATUSES = frozenset({1, 2, 3, 4, ALL})


def call(pdd: Pinduoduo, params: dict[str, str]) -> dict[str, Any]:
    """The body of a successful call (without request_id); a refusal raises PddError."""
    method = authenticate(params, pdd.settings)
    if not pdd.bucket.take(params["client_id"]):
        raise PddError(errors.TOO_FREQUENT, "调用过于频繁 (over the app's call rate)")
    mall = _mall(pdd, params) if method in TOKEN_METHODS else None
    _injected_faults(pdd, method)
    if method == "pdd.logistics.companies.get":
        return {"logistics_companies": [company.view() for company in COMPANIES]}
    assert mall is not None
    if method == "pdd.mall.info.get":
        return {"mall_id": mall.mall_id, "mall_name": mall.mall_name, "mall_desc": "", "logo": "", "merchant_type": 6}
    if method == "pdd.order.information.get":
        return {"order_info": _own_order(pdd, mall, order_sn(params)).order_info()}
    if method == "pdd.order.upload.extra.logistics":
        return _upload_extra(pdd, mall, params)
    if method == "pdd.order.number.list.increment.get":
        return _increment(pdd, mall, params)
    return _online_send(pdd, mall, params)


def _mall(pdd: Pinduoduo, params: dict[str, str]) -> Mall:
    token = params.get("access_token", "")
    if not token:
        raise parameter_error("access_token", "access_token不能为空 (access_token is required)")
    mall = pdd.malls.get(pdd.tokens.get(token, -1))
    if mall is None:
        raise PddError(errors.ACCESS_TOKEN, "access_token无效 (no mall has this access_token)")
    if token != mall.access_token:
        raise PddError(errors.ACCESS_TOKEN, "access_token已过期 (the token was replaced)")
    return mall


def _injected_faults(pdd: Pinduoduo, method: str) -> None:
    faults = pdd.faults
    if faults.chance(faults.config.rate_limit_rate):
        raise PddError(errors.LIMITED, "当前接口被限流，请稍后重试 (interface limited)")
    if faults.error(method):
        raise PddError(errors.UNAVAILABLE, "服务暂时不可用，请稍后重试 (service unavailable)")


def _own_order(pdd: Pinduoduo, mall: Mall, sn: str) -> Order:
    """The mall's order; another mall's is as unknown as one that does not exist."""
    order = pdd.orders.get(sn)
    if order is None or order.mall_id != mall.mall_id:
        raise PddError(errors.ORDER_NOT_FOUND, f"订单不存在 (no order {sn})")
    return order


def _online_send(pdd: Pinduoduo, mall: Mall, params: dict[str, str]) -> dict[str, Any]:
    sn = order_sn(params)
    company = _company(required(params, "logistics_id"))
    number = _tracking_number(required(params, "tracking_number"))
    redelivery = params.get("redelivery_type", "").strip() or FIRST_SEND
    if redelivery not in (FIRST_SEND, CHANGE):
        raise parameter_error("redelivery_type", "redelivery_type须为1或2 (1 first send, 2 change)")
    order = _own_order(pdd, mall, sn)
    if redelivery == CHANGE:
        _changeable(order, "修改发货")
        _check_number(pdd, order, company, number)
        pdd.redeliver(order, company, number)
        return {"is_success": True}
    if order.order_status is not OrderStatus.AWAITING_SHIPMENT:
        raise PddError(errors.ALREADY_SHIPPED, f"订单已发货 (shipped with {order.tracking_number})")
    if order.refund_status is not RefundStatus.NONE:
        raise PddError(errors.NOT_SHIPPABLE, f"订单售后中或已退款，不能发货 (refund_status {order.refund_status})")
    if order.confirm_status is not ConfirmStatus.CONFIRMED:
        raise PddError(errors.NOT_SHIPPABLE, f"订单未成交或已取消，不能发货 (confirm_status {order.confirm_status})")
    _check_number(pdd, order, company, number)
    pdd.ship(order, company, number)
    return {"is_success": True}


def _tracking_number(number: str) -> str:
    if len(number) > MAX_TRACKING_CHARS:
        raise parameter_error("tracking_number", "运单号过长 (tracking_number is too long)")
    return number


def _changeable(order: Order, what: str) -> None:
    """A shipped order (not yet signed for, for a change of its number), not refunded."""
    if order.order_status is OrderStatus.AWAITING_SHIPMENT:
        raise PddError(errors.SHIPMENT_UNCHANGEABLE, f"订单未发货，不能{what} (the order has not shipped)")
    if what == "修改发货" and order.order_status is OrderStatus.RECEIVED:
        raise PddError(errors.SHIPMENT_UNCHANGEABLE, f"订单已签收，不能{what} (the order was signed for)")
    if order.refund_status is RefundStatus.REFUNDED:
        raise PddError(errors.NOT_SHIPPABLE, f"订单已退款，不能{what} (refund_status {order.refund_status})")


def _check_number(pdd: Pinduoduo, order: Order, company: Company, number: str, extra: bool = False) -> None:
    """The number fits the carrier and no other order holds it; a main number is not an extra one too."""
    if not company.matches(number):
        rule = f"运单号 {number} 不符合{company.name}的规则 (does not fit {company.code})"
        raise PddError(errors.TRACKING_INVALID, rule)
    used_by = pdd.used_numbers.get(number)
    if used_by is not None and used_by != order.order_sn:
        raise PddError(errors.TRACKING_USED, f"运单号 {number} 已被其他订单使用 (already shipped order {used_by})")
    extras = {t.tracking_number for t in order.extra_tracks}
    if (extra and number == order.tracking_number) or (not extra and number in extras):
        raise PddError(errors.TRACKING_USED, f"运单号 {number} 已用于本订单的{'主' if extra else '额外'}运单")


def _upload_extra(pdd: Pinduoduo, mall: Mall, params: dict[str, str]) -> dict[str, Any]:
    sn = order_sn(params)
    track_type = required(params, "extra_track_type")
    if not track_type.isdigit() or int(track_type) not in EXTRA_TYPES:
        raise parameter_error("extra_track_type", "extra_track_type须为1、2或3 (1 split, 2 resend, 3 gift)")
    rows = _track_rows(params.get("extra_track_list", ""))
    tracks = [
        ExtraTrack(int(track_type), company.id, number)
        for company, number in ((_company(str(r.get("shipping_id", ""))), _row_number(r)) for r in rows)
    ]
    order = _own_order(pdd, mall, sn)
    _changeable(order, "上传额外运单")
    for track in tracks:
        _check_number(pdd, order, BY_ID[track.logistics_id], track.tracking_number, extra=True)
    pdd.add_extras(order, tracks)
    return {"success": True}


def _track_rows(raw: str) -> list[dict[str, Any]]:
    if not raw.strip() or len(raw) > MAX_LIST_CHARS:
        raise parameter_error("extra_track_list", "extra_track_list不能为空或过长 (empty or too long)")
    try:
        rows = json.loads(raw)
    except ValueError:
        rows = None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise parameter_error("extra_track_list", "extra_track_list须为JSON数组 ([{shipping_id, tracking_number}])")
    if len(rows) > MAX_EXTRA_TRACKS:
        raise parameter_error("extra_track_list", f"最多{MAX_EXTRA_TRACKS}个额外运单 (at most {MAX_EXTRA_TRACKS})")
    return rows


def _row_number(row: dict[str, Any]) -> str:
    number = row.get("tracking_number")
    if not isinstance(number, str) or not number.strip():
        raise parameter_error("extra_track_list", "tracking_number不能为空 (tracking_number is required)")
    return _tracking_number(number.strip())


def _company(logistics_id: str) -> Company:
    if not logistics_id.isdigit() or len(logistics_id) > 10:
        raise parameter_error("logistics_id", "logistics_id须为数字 (logistics_id is a number)")
    company = BY_ID.get(int(logistics_id))
    if company is None:
        raise PddError(errors.LOGISTICS_UNKNOWN, f"快递公司不存在 (no logistics_id {logistics_id})")
    if not company.available:
        raise PddError(errors.LOGISTICS_UNKNOWN, f"{company.name}当前不支持发货 (logistics_id not available)")
    return company


def _int_param(params: dict[str, str], name: str, default: int | None, allowed: range | frozenset[int]) -> int:
    """An integer parameter in ``allowed``; absent: ``default`` (None: required)."""
    raw = params.get(name, "").strip()
    if not raw:
        if default is None:
            raise parameter_error(name, f"{name}不能为空 ({name} is required)")
        return default
    if not raw.isdigit() or len(raw) > 12 or int(raw) not in allowed:
        raise parameter_error(name, f"{name}取值错误 ({name} is out of range)")
    return int(raw)


def _increment(pdd: Pinduoduo, mall: Mall, params: dict[str, str]) -> dict[str, Any]:
    seconds = range(0, 10**12)
    start = _int_param(params, "start_updated_at", None, seconds)
    end = _int_param(params, "end_updated_at", None, seconds)
    if end < start:
        raise parameter_error("end_updated_at", "结束时间不能早于开始时间 (end_updated_at is before start_updated_at)")
    if end - start > MAX_INCREMENT_SPAN_S:
        raise parameter_error("end_updated_at", "开始时间结束时间间距不超过30分钟 (at most 30 minutes apart)")
    order_status = _int_param(params, "order_status", None, ORDER_STATUSES)
    refund_status = _int_param(params, "refund_status", None, REFUND_STATUSES)
    page = _int_param(params, "page", 1, range(1, 10**6))
    page_size = _int_param(params, "page_size", MAX_PAGE_SIZE, range(1, MAX_PAGE_SIZE + 1))
    lucky = _int_param(params, "is_lucky_flag", 0, range(0, 3))
    trade_type = _int_param(params, "trade_type", 0, range(0, 2))
    use_has_next = params.get("use_has_next", "").strip().lower() == "true"
    matched: list[Order] = []
    if lucky != 2 and trade_type == 0:  # no lucky or deposit orders here
        for order in pdd.orders.values():
            updated = int(order.updated or order.created)  # updated_at is to the second
            if order.mall_id != mall.mall_id or not start <= updated <= end:
                continue
            if order_status != ALL and (
                order.order_status != order_status
                or (
                    order.order_status is OrderStatus.AWAITING_SHIPMENT
                    and order.confirm_status is not ConfirmStatus.CONFIRMED
                )
            ):
                continue
            if refund_status != ALL and order.refund_status != refund_status:
                continue
            matched.append(order)
    matched.sort(key=lambda o: (o.updated or o.created, o.order_sn))
    shown = matched[(page - 1) * page_size : page * page_size]
    body: dict[str, Any] = {"order_sn_list": [o.order_info() for o in shown]}
    if use_has_next:
        body["has_next"] = page * page_size < len(matched)
    else:
        body["total_count"] = len(matched)
    return body
