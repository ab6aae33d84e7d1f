"""The gateway's four methods: who may call, which faults strike, and each method's answer or refusal.

Answer shapes (lywzx/pdd-node-sdk packages/pdd-origin-api/src): ``mall_info_get_response`` {mall_id,
mall_name, mall_desc, logo, merchant_type} (dianPu/PddMallInfoGet.ts); ``order_info_get_response``
{order_info} (dingDan/PddOrderInformationGet.ts); ``logistics_companies_get_response``
{logistics_companies: [...]} (wuLiu/PddLogisticsCompaniesGet.ts); ``logistics_online_send_response``
{is_success} for ``order_sn``, ``logistics_id``, ``tracking_number`` (wuLiu/PddLogisticsOnlineSend.ts).
Every answer also carries ``request_id`` inside its object (unconfirmed). ``pdd.logistics.online.send`` checks,
in this order: parameters, carrier (known and available), order (the mall's), already shipped (a repeat with
the same number included), refund/cancel state, number pattern, number used by another order.
"""

from __future__ import annotations

from typing import Any

from services.sandbox.pinduoduo import errors
from services.sandbox.pinduoduo.carriers import BY_ID, COMPANIES, Company
from services.sandbox.pinduoduo.errors import PddError, parameter_error
from services.sandbox.pinduoduo.orders import ConfirmStatus, Mall, Order, OrderStatus, RefundStatus
from services.sandbox.pinduoduo.protocol import TOKEN_METHODS, authenticate, order_sn, required
from services.sandbox.pinduoduo.store import Pinduoduo

MAX_TRACKING_CHARS = 40


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
    number = required(params, "tracking_number")
    if len(number) > MAX_TRACKING_CHARS:
        raise parameter_error("tracking_number", "运单号过长 (tracking_number is too long)")
    order = _own_order(pdd, mall, sn)
    if order.order_status is not OrderStatus.AWAITING_SHIPMENT:
        raise PddError(errors.ALREADY_SHIPPED, f"订单已发货 (shipped with {order.tracking_number})")
    if order.refund_status is not RefundStatus.NONE:
        raise PddError(errors.NOT_SHIPPABLE, f"订单售后中或已退款，不能发货 (refund_status {order.refund_status})")
    if order.confirm_status is not ConfirmStatus.CONFIRMED:
        raise PddError(errors.NOT_SHIPPABLE, f"订单未成交或已取消，不能发货 (confirm_status {order.confirm_status})")
    if not company.matches(number):
        raise PddError(errors.TRACKING_INVALID, f"运单号不符合{company.name}的规则 (does not fit {company.code})")
    used_by = pdd.used_numbers.get(number)
    if used_by is not None:
        raise PddError(errors.TRACKING_USED, f"运单号已被其他订单使用 (already shipped order {used_by})")
    pdd.ship(order, company, number)
    return {"is_success": True}


def _company(logistics_id: str) -> Company:
    if not logistics_id.isdigit() or len(logistics_id) > 10:
        raise parameter_error("logistics_id", "logistics_id须为数字 (logistics_id is a number)")
    company = BY_ID.get(int(logistics_id))
    if company is None:
        raise PddError(errors.LOGISTICS_UNKNOWN, f"快递公司不存在 (no logistics_id {logistics_id})")
    if not company.available:
        raise PddError(errors.LOGISTICS_UNKNOWN, f"{company.name}当前不支持发货 (logistics_id not available)")
    return company
