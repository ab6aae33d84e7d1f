"""The gateway call's common parameters and their checks, and the answer's key.

One URL (real: https://gw-api.pinduoduo.com/api/router, here ``/pinduoduo/api/router``), POST form (a JSON object
body is read too, as the real gateway accepts one). Common parameters (lywzx/pdd-node-sdk
packages/core/src/libs/pdd-client.ts and public callers): ``type`` (the method), ``client_id``,
``access_token`` (only for methods that act for a mall), ``timestamp`` (unix seconds), ``data_type`` (JSON),
``version`` (V1, optional), ``sign``; business parameters beside them. Checked in this order: client_id, sign,
timestamp, data_type, version, type. The window of the timestamp check (``SANDBOX_PINDUODUO_TIMESTAMP_WINDOW_S``)
is unconfirmed.
"""

from __future__ import annotations

import re
import time

from services.sandbox.pinduoduo.errors import SIGN, PddError, parameter_error
from services.sandbox.pinduoduo.faults import METHODS
from services.sandbox.pinduoduo.signing import gateway_verify
from services.sandbox.settings import SandboxSettings

# Which methods answer under which key (each verified in pdd-node-sdk's *_RESPONSE_KEY constants).
RESPONSE_KEYS = {
    "pdd.mall.info.get": "mall_info_get_response",
    "pdd.order.information.get": "order_info_get_response",
    "pdd.logistics.companies.get": "logistics_companies_get_response",
    "pdd.logistics.online.send": "logistics_online_send_response",
    # Not derivable from the method's name either (pdd-node-sdk PDD_ORDER_UPLOAD_EXTRA_LOGISTICS_RESPONSE_KEY).
    "pdd.order.upload.extra.logistics": "upload_extra_logistics_response",
    # Nor this one (niltor/open-pdd-net-sdk GetOrderNumberListIncrementResponseModel).
    "pdd.order.number.list.increment.get": "order_sn_increment_get_response",
}
assert set(RESPONSE_KEYS) == set(METHODS)
# Methods acting for a mall need its access_token; the companies list needs none.
TOKEN_METHODS = frozenset(
    {
        "pdd.mall.info.get",
        "pdd.order.information.get",
        "pdd.logistics.online.send",
        "pdd.order.upload.extra.logistics",
        "pdd.order.number.list.increment.get",
    }
)
ORDER_SN = re.compile(r"\d{6}-\d{15}")
MAX_PARAM_CHARS = 1000


def authenticate(params: dict[str, str], settings: SandboxSettings) -> str:
    """The method (``type``) of a call whose client_id, sign, timestamp, data_type and version are right."""
    client_id = params.get("client_id", "")
    if not client_id:
        raise parameter_error("client_id", "client_id不能为空 (client_id is required)")
    if client_id != settings.pinduoduo_client_id:
        raise parameter_error("client_id", f"client_id不存在 (unknown client_id {client_id[:64]!r})")
    sign = params.get("sign", "")
    if not sign:
        raise parameter_error("sign", "sign不能为空 (sign is required)")
    if not gateway_verify(params, settings.pinduoduo_client_secret, sign):
        raise PddError(SIGN, "签名验证失败 (sign does not match)")
    _check_timestamp(params.get("timestamp", ""), settings.pinduoduo_timestamp_window_s)
    if params.get("data_type", "JSON").upper() != "JSON":
        raise parameter_error("data_type", "只支持JSON (only data_type=JSON)")
    if params.get("version", "V1") != "V1":
        raise parameter_error("version", "只支持V1 (only version=V1)")
    method = params.get("type", "")
    if not method:
        raise parameter_error("type", "type不能为空 (type is required)")
    if method not in RESPONSE_KEYS:
        raise parameter_error("type", f"接口不存在 (unknown type {method[:64]!r})")
    return method


def _check_timestamp(stamp: str, window_s: float) -> None:
    if not stamp:
        raise parameter_error("timestamp", "timestamp不能为空 (timestamp is required)")
    if not stamp.isdigit() or len(stamp) > 12:
        raise parameter_error("timestamp", "timestamp须为秒级时间戳 (unix seconds)")
    if abs(time.time() - int(stamp)) > window_s:
        raise parameter_error("timestamp", "timestamp与服务器时间相差过大 (too far from server time)")


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise parameter_error(name, f"{name}不能为空 ({name} is required)")
    if len(value) > MAX_PARAM_CHARS:
        raise parameter_error(name, f"{name}过长 ({name} is too long)")
    return value


def order_sn(params: dict[str, str]) -> str:
    sn = required(params, "order_sn")
    if not ORDER_SN.fullmatch(sn):
        raise parameter_error("order_sn", "订单号格式错误 (order_sn is yyMMdd-15 digits)")
    return sn
