"""Courier gateway wire format, as pure functions (no I/O), tested against recorded payloads.

A call is a form POST with ``msg_type``, ``logistic_provider_id`` (our app key), ``logistics_interface``
(a JSON string) and ``data_digest`` = base64(md5(logistics_interface + secret)). Answers are JSON
``{"success": true, ...}`` or ``{"success": false, "errorCode": ..., "errorMsg": ...}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_OBJECTS_PER_REQUEST = 10
# Error codes that mean "try again later"; everything else is a definite answer.
RETRYABLE_CODES = frozenset({"S01", "isp.system-busy", "isp.timeout"})


@dataclass(frozen=True)
class IssueRequest:
    object_id: str
    quantity: int


@dataclass(frozen=True)
class IssuedNumbers:
    object_id: str
    numbers: list[str]
    expires_at: datetime


@dataclass(frozen=True)
class SubscriptionCounters:
    carrier: str
    quantity: int
    allocated_quantity: int
    cancel_quantity: int
    print_quantity: int
    segment_code: str | None


class CourierError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.http_status = http_status


def digest(payload: str, secret: str) -> str:
    return base64.b64encode(hashlib.md5((payload + secret).encode()).digest()).decode()


def build_form(msg_type: str, body: dict[str, Any], app_key: str, secret: str) -> dict[str, str]:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return {
        "msg_type": msg_type,
        "logistic_provider_id": app_key,
        "logistics_interface": payload,
        "data_digest": digest(payload, secret),
    }


def issue_body(carrier: str, seller_id: str, validity_days: int, requests: list[IssueRequest]) -> dict[str, Any]:
    if not 1 <= len(requests) <= MAX_OBJECTS_PER_REQUEST:
        raise ValueError(f"1..{MAX_OBJECTS_PER_REQUEST} objects per request, got {len(requests)}")
    return {
        "cp_code": carrier,
        "seller_id": seller_id,
        "validity_days": validity_days,
        "trade_order_info_dtos": [{"object_id": r.object_id, "quantity": r.quantity} for r in requests],
    }


def parse_envelope(status_code: int, raw: bytes) -> dict[str, Any]:
    """The JSON body of a successful answer, or a CourierError saying whether to retry."""
    if status_code >= 500:
        try:
            body = json.loads(raw)
            code = str(body.get("errorCode") or f"http_{status_code}")
            message = str(body.get("errorMsg") or "courier unavailable")
        except (ValueError, AttributeError):
            code, message = f"http_{status_code}", raw[:200].decode(errors="replace") or "courier unavailable"
        raise CourierError(code, message, retryable=True, http_status=status_code)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise CourierError("bad_response", "courier answered with invalid JSON", retryable=True) from exc
    if not isinstance(body, dict):
        raise CourierError("bad_response", "courier answered with a non-object", retryable=True)
    if status_code >= 400 or body.get("success") is not True:
        code = str(body.get("errorCode") or f"http_{status_code}")
        raise CourierError(
            code,
            str(body.get("errorMsg") or "courier refused"),
            retryable=code in RETRYABLE_CODES,
            http_status=status_code,
        )
    return body


def parse_issue(body: dict[str, Any]) -> list[IssuedNumbers]:
    out = []
    for col in body.get("waybill_apply_new_cols") or []:
        out.append(
            IssuedNumbers(
                object_id=str(col["object_id"]),
                numbers=[str(n).strip().upper() for n in col.get("waybill_codes") or []],
                expires_at=datetime.fromisoformat(col["expire_time"]),
            )
        )
    return out


def parse_subscription(body: dict[str, Any]) -> list[SubscriptionCounters]:
    return [
        SubscriptionCounters(
            carrier=str(c["cp_code"]),
            quantity=int(c.get("quantity", 0)),
            allocated_quantity=int(c.get("allocated_quantity", 0)),
            cancel_quantity=int(c.get("cancel_quantity", 0)),
            print_quantity=int(c.get("print_quantity", 0)),
            segment_code=c.get("segment_code"),
        )
        for c in body.get("waybill_apply_subscription_cols") or []
    ]
