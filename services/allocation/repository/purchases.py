"""Purchases of waybill numbers: a shop's reads filtered by shop in the query (``get_owned``), the worker's by
id (a job carries the purchase id alone)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository
from services.allocation.models import Purchase, PurchaseStatus

NEWEST_FIRST = Keyset([Purchase.created_at, Purchase.id])


class PurchaseRepository(OwnedRepository[Purchase]):
    model = Purchase

    async def add_if_new(self, purchase: Purchase) -> bool:
        """Insert under a savepoint; False when a concurrent request already used the key (the
        unique constraint waits for that transaction, so the winner is readable afterwards)."""
        try:
            async with self.session.begin_nested():
                self.session.add(purchase)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def get(self, purchase_id: str, *, for_update: bool = False) -> Purchase | None:
        """Any shop's purchase: for the worker, whose jobs name a purchase by id."""
        query = select(Purchase).where(Purchase.id == purchase_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def by_key(self, shop_id: str, key: str) -> Purchase | None:
        found = await self.list_owned(shop_id, Purchase.idempotency_key == key)
        return found[0] if found else None

    async def recent(self, shop_id: str, page: PageRequest) -> Slice[Purchase]:
        return await self.page_owned(shop_id, keyset=NEWEST_FIRST, page=page)

    async def pending_for_pool(self, pool_id: int) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(Purchase)
            .where(Purchase.pool_id == pool_id, Purchase.status == PurchaseStatus.PENDING)
        )
        return int(value or 0)
