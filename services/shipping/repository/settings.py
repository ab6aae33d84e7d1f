"""Shops' shipping settings (keyed by the shop itself, so every read is already the shop's own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.shipping.models import ShopSettings


class SettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, shop_id: str) -> ShopSettings | None:
        return await self.session.get(ShopSettings, shop_id)

    async def upsert(self, shop_id: str, values: dict[str, Any]) -> ShopSettings:
        stmt = pg_insert(ShopSettings).values(shop_id=shop_id, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ShopSettings.shop_id], set_={**values, "updated_at": func.now()}
        )
        await self.session.execute(stmt)
        found = await self.session.get(ShopSettings, shop_id, populate_existing=True)
        assert found is not None
        return found
