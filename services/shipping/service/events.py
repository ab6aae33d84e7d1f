"""Events for shops' systems: one delivery row per endpoint that wants the event, each sent by the
``deliver_webhook`` job after the commit."""

from __future__ import annotations

import uuid
from typing import Any

from runtime.db import UnitOfWork
from services.shipping.models import DeliveryStatus, WebhookEndpoint
from services.shipping.repository.webhooks import WebhookEndpointRepository, WebhookRepository
from shared.events import Event, new_event


class Endpoints:
    """Shops' active endpoints, read once per shop for a run of events (a batch confirms hundreds at once)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._repo = WebhookEndpointRepository(uow.session)
        self._by_shop: dict[str, list[WebhookEndpoint]] = {}

    async def of(self, shop_id: str) -> list[WebhookEndpoint]:
        if shop_id not in self._by_shop:
            self._by_shop[shop_id] = await self._repo.endpoints(shop_id, active_only=True)
        return self._by_shop[shop_id]


async def active_endpoints(uow: UnitOfWork, shop_id: str) -> list[WebhookEndpoint]:
    return await WebhookEndpointRepository(uow.session).endpoints(shop_id, active_only=True)


async def emit(
    uow: UnitOfWork,
    shop_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    endpoints: list[WebhookEndpoint] | None = None,
) -> None:
    """One event, one delivery per endpoint that wants it (``endpoints``: the shop's active ones, when the
    caller has them already)."""
    if endpoints is None:
        endpoints = await active_endpoints(uow, shop_id)
    if any(not e.events or event_type in e.events for e in endpoints):
        await deliver(uow, new_event(event_type, shop_id, data), endpoints)


async def deliver(uow: UnitOfWork, event: Event, endpoints: list[WebhookEndpoint]) -> int:
    """A delivery of ``event`` (its id kept: another service's, relayed) to each endpoint that wants it.
    Returns how many."""
    shop_id, event_type = event.shop_id, event.type
    wanted = [e for e in endpoints if not e.events or event_type in e.events]
    if not wanted:
        return 0
    rows = []
    for endpoint in wanted:
        delivery_id = uuid.uuid4()
        rows.append(
            {
                "id": delivery_id,
                "event_id": event.id,
                "endpoint_id": endpoint.id,
                "shop_id": shop_id,
                "event_type": event_type,
                "payload": event.model_dump(mode="json"),
                "status": DeliveryStatus.PENDING,
            }
        )
        uow.enqueue("deliver_webhook", delivery_id=str(delivery_id))
    await WebhookRepository(uow.session).add_deliveries(rows)
    return len(rows)
