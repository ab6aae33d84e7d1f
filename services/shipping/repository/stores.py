"""A shop's marketplace stores, and which store a channel's seller is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text, update

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository
from services.shipping.models import Store

NEWEST_FIRST = Keyset([Store.created_at, Store.id])


class StoreRepository(OwnedRepository[Store]):
    model = Store

    async def get(self, store_id: str) -> Store | None:
        """A store by id whoever's it is: for the workers, which reach it through an order of that shop."""
        return await self.session.get(Store, store_id)

    async def by_ids(self, store_ids: Sequence[str]) -> dict[str, Store]:
        if not store_ids:
            return {}
        return {s.id: s for s in await self.session.scalars(select(Store).where(Store.id.in_(store_ids)))}

    async def by_seller(self, channel: str, seller_id: str) -> Store | None:
        """The store of a channel's seller, bound to whichever shop (at most one: the unique index)."""
        return await self.session.scalar(select(Store).where(Store.channel == channel, Store.seller_id == seller_id))

    async def lock_seller(self, channel: str, seller_id: str) -> None:
        """Serialise bindings of one seller (transaction-scoped advisory lock): of two shops racing for it, the
        second sees the first's binding once it has committed, instead of failing on the unique index."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('shipping.stores'), hashtext(:key))"),
            {"key": f"{channel}:{seller_id}"},
        )

    async def of_shop(self, shop_id: str, channel: str | None = None, *, active_only: bool = False) -> list[Store]:
        """The shop's stores, oldest first (the first Taobao one is what the settings call its binding)."""
        where = [Store.channel == channel] if channel else []
        if active_only:
            where.append(Store.active.is_(True))
        return list(await self.list_owned(shop_id, *where, order_by=[Store.created_at, Store.id]))

    async def page(self, shop_id: str, channel: str | None, page: PageRequest) -> Slice[Store]:
        where = [Store.channel == channel] if channel else []
        return await self.page_owned(shop_id, *where, keyset=NEWEST_FIRST, page=page)

    def add(self, values: dict[str, Any]) -> Store:
        store = Store(**values)
        self.session.add(store)
        return store

    async def set_fields(self, store_id: str, **values: Any) -> None:
        await self.session.execute(update(Store).where(Store.id == store_id).values(updated_at=func.now(), **values))
