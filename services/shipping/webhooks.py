"""Shops' outgoing webhook endpoints: registering one (its URL checked by runtime.egress), disabling one,
resending a delivery, and sending one delivery through the same check, pinned to the address checked."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import httpx

from runtime import egress
from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from services.shipping.models import WebhookEndpoint
from services.shipping.repository import WebhookRepository
from services.shipping.schemas import (
    MAX_WEBHOOK_ENDPOINTS,
    WebhookDeliveryOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from services.shipping.service import new_id
from services.shipping.settings import ShippingSettings
from shared.errors import ErrorCode

# What a delivery of a disabled endpoint is kept with: it was never sent.
DISABLED_REASON = "refused: endpoint disabled"


def policy(settings: ShippingSettings) -> egress.EgressPolicy:
    """Read at each use, so an operator's change (and a test's) applies without a restart of the caller."""
    return egress.EgressPolicy.build(
        allow_http=settings.webhook_allow_http, allowed_internal_hosts=settings.webhook_allowed_internal_hosts
    )


class WebhookUrlRefused(AppError):
    status_code = 422
    code = ErrorCode.WEBHOOK_URL_REFUSED


async def add_endpoint(
    uow: UnitOfWork, shop_id: str, body: WebhookEndpointIn, settings: ShippingSettings
) -> WebhookEndpointOut:
    url = str(body.url)
    try:
        # Before any statement: the lookup (up to a few seconds) holds no database connection.
        await egress.check_url_resolved(url, policy(settings))
    except egress.EgressRefused as exc:
        raise WebhookUrlRefused(f"webhook URL {exc.reason}", details={"field": "url", "reason": exc.reason}) from exc
    repo = WebhookRepository(uow.session)
    await repo.lock_shop_endpoints(shop_id)
    if await repo.count_active(shop_id) >= MAX_WEBHOOK_ENDPOINTS:
        raise Conflict(
            f"a shop has at most {MAX_WEBHOOK_ENDPOINTS} active webhook endpoints; disable one first",
            code=ErrorCode.WEBHOOK_LIMIT_REACHED,
            details={"limit": MAX_WEBHOOK_ENDPOINTS},
        )
    endpoint = WebhookEndpoint(
        id=new_id("whe"),
        shop_id=shop_id,
        url=url,
        secret=f"whsec_{secrets.token_hex(24)}",
        events=body.events,
        active=True,
    )
    uow.session.add(endpoint)
    await uow.session.flush()
    await uow.session.refresh(endpoint)
    return WebhookEndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        active=endpoint.active,
        created_at=endpoint.created_at,
        secret=endpoint.secret,
    )


async def disable_endpoint(uow: UnitOfWork, shop_id: str, endpoint_id: str) -> None:
    endpoint = await WebhookRepository(uow.session).endpoint(endpoint_id)
    if endpoint is None or endpoint.shop_id != shop_id:
        raise NotFound(f"endpoint {endpoint_id} not found")
    endpoint.active = False


async def resend(uow: UnitOfWork, shop_id: str, delivery_id: uuid.UUID) -> WebhookDeliveryOut:
    repo = WebhookRepository(uow.session)
    delivery = await repo.delivery(delivery_id, for_update=True)
    if delivery is None or delivery.shop_id != shop_id:
        raise NotFound(f"delivery {delivery_id} not found")
    endpoint = await repo.endpoint(delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise Conflict(
            f"the endpoint of delivery {delivery_id} is disabled: nothing is sent to it",
            code=ErrorCode.WEBHOOK_ENDPOINT_DISABLED,
            details={"endpoint_id": delivery.endpoint_id},
        )
    delivery.status, delivery.attempts = "pending", 0
    uow.enqueue("deliver_webhook", delivery_id=str(delivery.id))
    await uow.session.flush()
    return WebhookDeliveryOut.model_validate(delivery)


@dataclass(frozen=True)
class Outcome:
    """One delivery attempt as recorded: the status code (when an answer came) and a short reason of ours
    (None: delivered). ``final``: trying again cannot help (the URL itself is refused)."""

    status_code: int | None
    error: str | None
    final: bool = False


async def send(
    client: httpx.AsyncClient,
    settings: ShippingSettings,
    url: str,
    body: bytes,
    headers: dict[str, str],
) -> Outcome:
    """POST one event. The answer's body is never read: only its status is kept."""
    try:
        async with egress.stream(
            client, "POST", url, policy(settings), content=body, headers=headers, timeout_s=settings.webhook_timeout_s
        ) as resp:
            code = resp.status_code
    except egress.EgressRefused as exc:
        return Outcome(None, exc.reason, final=exc.permanent)
    except httpx.HTTPError as exc:
        return Outcome(None, egress.failure_reason(exc))
    if 300 <= code < 400:
        return Outcome(code, f"HTTP {code} (redirects are not followed)")
    if code >= 400:
        return Outcome(code, f"HTTP {code}")
    return Outcome(code, None)
