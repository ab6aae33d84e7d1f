"""Shops' outgoing webhook endpoints: registering one (its URL checked by runtime.egress), listing them,
disabling one."""

from __future__ import annotations

import secrets

from runtime import egress
from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from services.shipping.models import WebhookEndpoint
from services.shipping.repository.webhooks import WebhookEndpointRepository
from services.shipping.schemas.webhooks import (
    MAX_WEBHOOK_ENDPOINTS,
    WebhookEndpointIn,
    WebhookEndpointOut,
)
from services.shipping.service.ids import new_id
from services.shipping.settings import ShippingSettings
from shared.errors import ErrorCode


def policy(settings: ShippingSettings) -> egress.EgressPolicy:
    """Read at each use, so an operator's change (and a test's) applies without a restart of the caller."""
    return egress.EgressPolicy.build(
        allow_http=settings.webhook_allow_http, allowed_internal_hosts=settings.webhook_allowed_internal_hosts
    )


class WebhookUrlRefused(AppError):
    status_code = 422
    code = ErrorCode.WEBHOOK_URL_REFUSED


def _endpoint_out(e: WebhookEndpoint, *, with_secret: bool = False) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=e.id,
        url=e.url,
        events=e.events,
        active=e.active,
        created_at=e.created_at,
        secret=e.secret if with_secret else None,
    )


async def add_endpoint(
    uow: UnitOfWork, shop_id: str, body: WebhookEndpointIn, settings: ShippingSettings
) -> WebhookEndpointOut:
    url = str(body.url)
    try:
        # Before any statement: the lookup (up to a few seconds) holds no database connection.
        await egress.check_url_resolved(url, policy(settings))
    except egress.EgressRefused as exc:
        raise WebhookUrlRefused(f"webhook URL {exc.reason}", details={"field": "url", "reason": exc.reason}) from exc
    repo = WebhookEndpointRepository(uow.session)
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
    # The secret is shown here only.
    return _endpoint_out(endpoint, with_secret=True)


async def endpoints(uow: UnitOfWork, shop_id: str) -> list[WebhookEndpointOut]:
    return [_endpoint_out(e) for e in await WebhookEndpointRepository(uow.session).endpoints(shop_id)]


async def disable_endpoint(uow: UnitOfWork, shop_id: str, endpoint_id: str) -> None:
    endpoint = await WebhookEndpointRepository(uow.session).get_owned(shop_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"endpoint {endpoint_id} not found")
    endpoint.active = False
