"""TOP on the wire: the error shape, the checks of a signed call, parameter reading and the answer's key.

Answers follow TOP: HTTP 200 always, ``<method>_response`` on success, ``error_response`` on failure. Platform
errors (bad signature, stale timestamp, ...) carry code and msg but no sub_code, as TOP's do; business errors
are code 15 with a sub_code.

The sign is the official SDK's (``TopUtils.signTopRequest`` in the Java SDK, top-sdk-java; the same steps in
the .NET SDK's ``TopUtils.SignTopRequest``): parameter names sorted, ``name + value`` concatenated for every
parameter whose name and value are both non-empty (``StringUtils.areNotEmpty``), ``sign`` itself left out;
``md5`` = MD5(secret + s + secret), ``hmac`` = HMAC-MD5 keyed by the secret, ``hmac-sha256`` = HMAC-SHA256
keyed by the secret (``Constants.SIGN_METHOD_HMAC_SHA256 = "hmac-sha256"``); uppercase hex. UTF-8 throughout.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from services.sandbox.clock import parse_china_time
from services.sandbox.faults import MARKETPLACE_ENDPOINTS

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


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


def resend_error(xx: str, sub_msg: str) -> TopError:
    """A resend's business refusal: its own prefix (the same XX may mean something else than a send's)."""
    return TopError(15, "Remote service error", f"isv.logistics-update-company-or-mailno-error:{xx}", sub_msg)


def top_sign(params: Mapping[str, str], secret: str, sign_method: str) -> str:
    """The TOP sign of ``params`` (see the module docstring); empty values are not signed, as in the SDK."""
    s = "".join(f"{name}{params[name]}" for name in sorted(params) if name and params[name] and name != "sign")
    key, data = secret.encode(), s.encode()
    if sign_method == "md5":
        digest = hashlib.md5(key + data + key).hexdigest()
    elif sign_method == "hmac":
        digest = hmac.new(key, data, hashlib.md5).hexdigest()
    elif sign_method == "hmac-sha256":
        digest = hmac.new(key, data, hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unsupported sign_method {sign_method!r}")
    return digest.upper()


def top_verify(params: Mapping[str, str], secret: str, sign_method: str, sign: str) -> bool:
    return hmac.compare_digest(top_sign(params, secret, sign_method).encode(), sign.upper().encode())


def response_key(method: str) -> str:
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


def select_fields(record: dict[str, Any], fields: str) -> dict[str, Any]:
    """Only the asked-for fields, as TOP does; any ``orders.x`` asks for the whole orders list."""
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    if any(f.startswith("orders.") for f in wanted):
        wanted.add("orders")
    return {k: v for k, v in record.items() if k in wanted}


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise TopError(40, "Missing required arguments", f"isv.missing-parameter:{name}", f"{name} is required")
    return value


def trade_id(params: dict[str, str]) -> str:
    tid = required(params, "tid")
    if not tid.isdigit():
        raise TopError(41, "Invalid arguments", "isv.invalid-parameter:tid", "tid must be a number")
    return tid


def authenticate(params: dict[str, str], app_key: str, app_secret: str, window_s: float) -> str:
    """The method name, once app key, signature, timestamp, version and format are right (checked in that order)."""
    _check_signed(params, app_key, app_secret)
    _check_timestamp(params, window_s)
    return _method(params)


def _check_signed(params: dict[str, str], app_key: str, app_secret: str) -> None:
    given_key = params.get("app_key")
    if not given_key:
        raise TopError(28, "Missing app key")
    if given_key != app_key:
        raise TopError(29, "Invalid app Key", sub_msg=f"unknown app_key {given_key!r}")
    sign_method = params.get("sign_method", "md5")
    if sign_method not in SIGN_METHODS:
        raise TopError(
            41, "Invalid arguments", "isv.invalid-parameter:sign_method", "sign_method: md5, hmac or hmac-sha256"
        )
    sign = params.get("sign")
    if not sign:
        raise TopError(24, "Missing signature")
    if not top_verify(params, app_secret, sign_method, sign):
        raise TopError(25, "Invalid signature")


def _check_timestamp(params: dict[str, str], window_s: float) -> None:
    stamp = params.get("timestamp")
    if not stamp:
        raise TopError(30, "Missing timestamp")
    try:
        sent = parse_china_time(stamp)
    except ValueError:
        raise TopError(31, "Invalid timestamp", sub_msg="timestamp must be yyyy-MM-dd HH:mm:ss (UTC+8)") from None
    if abs(time.time() - sent) > window_s:
        raise TopError(31, "Invalid timestamp", sub_msg="timestamp is more than 10 minutes from server time")


def _method(params: dict[str, str]) -> str:
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
