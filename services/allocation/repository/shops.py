"""Shops and their API keys."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import read_page
from services.allocation.models import ApiKey, Shop


class ShopRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_shop(self, shop: Shop) -> Shop:
        self.session.add(shop)
        await self.session.flush()
        return shop

    async def get_shop(self, shop_id: str) -> Shop | None:
        return await self.session.get(Shop, shop_id)

    async def list_shops(self, page: PageRequest) -> Slice[Shop]:
        """Shops in id order (keyset paging: stable while shops are added)."""
        return await read_page(self.session, select(Shop), Keyset([Shop.id], descending=False), page)

    async def add_key(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def revoke_key(self, shop_id: str, key_id: str) -> bool:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.shop_id == shop_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
            .returning(ApiKey.id)
        )
        return result.first() is not None


class DbKeyResolver:
    """Resolves shop keys straight from the table (allocation owns shops)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(ApiKey.shop_id).where(
                        ApiKey.id == key_id, ApiKey.secret_hash == secret_hash, ApiKey.revoked_at.is_(None)
                    )
                )
            ).first()
        return None if row is None else str(row.shop_id)
