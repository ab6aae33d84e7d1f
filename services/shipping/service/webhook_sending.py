"""Sending one event to a shop's URL: signed as shops verify it, through runtime.egress (the name resolved
again and the address checked, pinned, no redirects); the answer's body is never read."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import orjson

from runtime import egress
from services.shipping.service.webhook_deliveries import Attempt, ToSend
from services.shipping.service.webhooks import policy
from services.shipping.settings import ShippingSettings

SIGNATURE_HEADER = "X-Waybill-Signature"
TIMESTAMP_HEADER = "X-Waybill-Timestamp"
EVENT_ID_HEADER = "X-Waybill-Event-Id"
EVENT_TYPE_HEADER = "X-Waybill-Event-Type"


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp + "." + raw body``, hex: what shops verify."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def send_event(client: httpx.AsyncClient, settings: ShippingSettings, delivery: ToSend) -> Attempt:
    body = orjson.dumps(delivery.payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: delivery.event_id,
        EVENT_TYPE_HEADER: delivery.event_type,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: f"v1={sign_webhook(delivery.secret, timestamp, body)}",
    }
    # Checked again here (the name resolved now, the address pinned): what was public when saved may not be.
    return await send(client, settings, delivery.url, body, headers)


async def send(
    client: httpx.AsyncClient, settings: ShippingSettings, url: str, body: bytes, headers: dict[str, str]
) -> Attempt:
    """POST one event. The answer's body is never read: only its status is kept."""
    try:
        async with egress.stream(
            client, "POST", url, policy(settings), content=body, headers=headers, timeout_s=settings.webhook_timeout_s
        ) as resp:
            code = resp.status_code
    except egress.EgressRefused as exc:
        return Attempt(None, exc.reason, final=exc.permanent)
    except httpx.HTTPError as exc:
        return Attempt(None, egress.failure_reason(exc))
    if 300 <= code < 400:
        return Attempt(code, f"HTTP {code} (redirects are not followed)")
    if code >= 400:
        return Attempt(code, f"HTTP {code}")
    return Attempt(code, None)
