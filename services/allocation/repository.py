"""Every allocation query lives here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

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

    async def add_key(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def list_keys(self, shop_id: str) -> list[ApiKey]:
        rows = await self.session.scalars(select(ApiKey).where(ApiKey.shop_id == shop_id).order_by(ApiKey.created_at))
        return list(rows)

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
