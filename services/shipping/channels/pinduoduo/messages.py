"""Pinduoduo's order messages as they reach us over HTTP: the frame verified, then parsed.

The frame is the message service's (WebSocket wss://message-api.pinduoduo.com):
``{"id", "commandType": "Common", "time", "sendTime", "message": {"type", "mallID", "content"}}`` with
``content`` a JSON string holding ``mall_id`` and ``tid`` (the order_sn); shapes as in public code that
consumes it (find_string "pdd_trade_TradeConfirmed": a stored frame with content
``{"mall_id":171504183,...,"tid":"210707-339507978993455"}`` and ``"mallID"``, ``"type"``). The type names
are those public consumers switch on (pdd_trade_TradeConfirmed 交易确认, pdd_trade_TradeSellerShip,
pdd_trade_TradeSuccess, pdd_refund_RefundCreated, pdd_refund_RefundAgreeAgreement,
pdd_trade_TradeLogisticsAddressChanged). The HTTP delivery and its headers (X-Pdd-Client-Id,
X-Pdd-Timestamp, X-Pdd-Sign = upper hex MD5(secret + timestamp + raw body + secret)) are ours and the
sandbox's, not Pinduoduo's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.shipping.channels import base
from services.shipping.channels.base import ChannelMessage, ChannelName, MessageKind

HEADER_CLIENT_ID = "x-pdd-client-id"
HEADER_TIMESTAMP = "x-pdd-timestamp"
HEADER_SIGN = "x-pdd-sign"

TYPE_CONFIRMED = "pdd_trade_TradeConfirmed"
TYPE_ADDRESS_CHANGED = "pdd_trade_TradeLogisticsAddressChanged"
TYPE_REFUND_CREATED = "pdd_refund_RefundCreated"
TYPE_REFUND_AGREED = "pdd_refund_RefundAgreeAgreement"
KINDS = {
    TYPE_CONFIRMED: MessageKind.PAID,
    TYPE_ADDRESS_CHANGED: MessageKind.ADDRESS_CHANGED,
    # A refund may end in the order closing or not: the order read back decides.
    TYPE_REFUND_CREATED: MessageKind.CLOSED,
    TYPE_REFUND_AGREED: MessageKind.CLOSED,
}
_MAX_STAMP_DIGITS = 12  # unix seconds for the next 30 000 years; longer is not a timestamp


class BadSignature(base.MessageRefused):
    """Not signed by the platform for us: bad or missing sign, another client id, a stale timestamp."""


class BadMessage(base.BadMessage):
    """Signed, but not a message frame we can read."""


def message_sign(secret: str, timestamp: str, body: bytes) -> str:
    return hashlib.md5(secret.encode() + timestamp.encode() + body + secret.encode()).hexdigest().upper()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # HTTP header names are case-insensitive; a plain dict is not.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _check_signature(
    headers: Mapping[str, str], body: bytes, client_id: str, secret: str, window_s: float, now: datetime
) -> None:
    if _header(headers, HEADER_CLIENT_ID) != client_id:
        raise BadSignature("another client id")
    stamp = _header(headers, HEADER_TIMESTAMP)
    if not stamp or not stamp.isascii() or not stamp.isdigit() or len(stamp) > _MAX_STAMP_DIGITS:
        raise BadSignature("missing or malformed timestamp")
    sign = _header(headers, HEADER_SIGN)
    if not sign:
        raise BadSignature("missing sign")
    # As bytes: compare_digest refuses str with non-ASCII characters, and a forged sign may have them.
    if not hmac.compare_digest(message_sign(secret, stamp, body).encode(), sign.strip().upper().encode()):
        raise BadSignature("bad sign")
    if window_s > 0 and abs(now.timestamp() - int(stamp)) > window_s:
        raise BadSignature("stale timestamp")


def _int_id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadMessage(f"{what} is not an integer")
    return value


def _loads_object(raw: str | bytes, what: str) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadMessage(f"{what} is not JSON") from None
    if not isinstance(found, dict):
        raise BadMessage(f"{what} is not an object")
    return found


def verify_message(
    headers: Mapping[str, str], body: bytes, client_id: str, secret: str, window_s: float, now: datetime
) -> ChannelMessage:
    """The message in ``body``, once its headers prove the platform signed it for us (BadSignature) and
    its frame reads (BadMessage)."""
    _check_signature(headers, body, client_id, secret, window_s, now)
    frame = _loads_object(body, "the frame")
    frame_id = _int_id(frame.get("id"), "id")
    message = frame.get("message")
    if not isinstance(message, dict):
        raise BadMessage("no message object")
    kind_name = message.get("type")
    if not isinstance(kind_name, str) or not kind_name:
        raise BadMessage("no message type")
    mall_id = _int_id(message.get("mallID"), "mallID")
    raw_content = message.get("content")
    if not isinstance(raw_content, str):
        raise BadMessage("content is not a JSON string")
    content = _loads_object(raw_content, "content")
    if "mall_id" in content and content["mall_id"] != mall_id:
        raise BadMessage("content.mall_id is not the message's mallID")
    tid = content.get("tid")
    if tid is not None and (isinstance(tid, bool) or not isinstance(tid, str | int)):
        raise BadMessage("tid is not an order number")
    return ChannelMessage(
        channel=ChannelName.PINDUODUO,
        id=str(frame_id),
        topic=kind_name,
        kind=KINDS.get(kind_name, MessageKind.OTHER),
        seller_id=str(mall_id),
        external_id=str(tid) if tid not in (None, "") else None,
        content=content,
        # The frame says nothing we take as its publication time: when we received (verified) it stands in for
        # it. A grouped read lists orders updated from a little before the earliest one (``channel``): an order
        # is updated before its message is sent, so before we receive it.
        published=now,
    )
