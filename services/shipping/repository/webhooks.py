"""Shops' webhook endpoints and the deliveries of events to them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select, text

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository
from services.shipping.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointRepository(OwnedRepository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def endpoints(self, shop_id: str, *, active_only: bool = False) -> list[WebhookEndpoint]:
        where = [WebhookEndpoint.active.is_(True)] if active_only else []
        return await self.list_owned(shop_id, *where, order_by=[WebhookEndpoint.created_at])

    async def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        """An endpoint by id whoever's it is: for the delivery job, which reaches it through its delivery."""
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def lock_shop_endpoints(self, shop_id: str) -> None:
        """Serialise one shop's endpoint registrations (transaction-scoped advisory lock), so concurrent ones
        cannot pass the per-shop limit together."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('shipping.webhook_endpoints'), hashtext(:shop_id))"),
            {"shop_id": shop_id},
        )

    async def count_active(self, shop_id: str) -> int:
        return await self.count_owned(shop_id, WebhookEndpoint.active.is_(True))


class WebhookRepository(OwnedRepository[WebhookDelivery]):
    """Deliveries: one event for one endpoint."""

    model = WebhookDelivery

    async def add_deliveries(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(WebhookDelivery), rows)

    async def delivery(self, delivery_id: uuid.UUID, *, for_update: bool = False) -> WebhookDelivery | None:
        """A delivery by id whoever's it is: for the delivery job, which holds only its id."""
        stmt = (
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).execution_options(populate_existing=True)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def deliveries(self, shop_id: str, status: str | None, page: PageRequest) -> Slice[WebhookDelivery]:
        where = [WebhookDelivery.status == status] if status else []
        keyset = Keyset([WebhookDelivery.created_at, WebhookDelivery.id])
        return await self.page_owned(shop_id, *where, keyset=keyset, page=page)
