"""Shops' negotiated package prices (``shop_prices``): adding one (the database refuses an overlap), the
prices in force for a shop, revoking one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from runtime.repository import OwnedRepository
from services.allocation.models import ShopPrice

# The trigger of migration a0006 that refuses two overlapping periods of one shop and package.
NO_OVERLAP = "shop_prices_no_overlap"


@dataclass(frozen=True)
class Overlap:
    """The price already in force for part of the period asked (its id, as the trigger names it)."""

    price_id: int | None


class ShopPriceRepository(OwnedRepository[ShopPrice]):
    model = ShopPrice

    async def add(self, price: ShopPrice) -> Overlap | None:
        """Insert under a savepoint; an Overlap when the trigger refused it (the advisory lock it takes makes a
        concurrent insert of the same shop and package wait, then see this one)."""
        try:
            async with self.session.begin_nested():
                self.session.add(price)
                await self.session.flush()
        except IntegrityError as exc:
            refused = _overlap(exc)
            if refused is None:
                raise
            detail = refused.detail or ""
            return Overlap(int(detail) if detail.isdigit() else None)
        await self.session.refresh(price)  # created_at is the database's
        return None

    async def for_shop(self, shop_id: str) -> list[ShopPrice]:
        """Every price of the shop, revoked ones too (the record of what purchases were charged), newest first."""
        return await self.list_owned(shop_id, order_by=[ShopPrice.valid_from.desc(), ShopPrice.id.desc()])

    async def in_force(
        self, shop_id: str, package_ids: Sequence[str] | None = None, at: datetime | None = None
    ) -> dict[str, ShopPrice]:
        """The shop's price of each package in force at ``at`` (None: the transaction's now, the moment a
        purchase in it is charged); at most one each, as the trigger keeps periods apart."""
        moment = func.now() if at is None else at
        where = [
            ShopPrice.revoked_at.is_(None),
            ShopPrice.valid_from <= moment,
            or_(ShopPrice.valid_to.is_(None), ShopPrice.valid_to > moment),
        ]
        if package_ids is not None:
            where.append(ShopPrice.package_id.in_(list(package_ids)))
        return {p.package_id: p for p in await self.list_owned(shop_id, *where)}

    async def revoke(self, shop_id: str, price_id: int) -> ShopPrice | None:
        """Revoke the shop's price (once: a repeat finds it revoked and returns it as it is)."""
        await self.session.execute(
            update(ShopPrice)
            .where(ShopPrice.id == price_id, ShopPrice.shop_id == shop_id, ShopPrice.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        return await self.get_owned(shop_id, price_id)

    async def get(self, price_id: int) -> ShopPrice | None:
        return await self.session.scalar(select(ShopPrice).where(ShopPrice.id == price_id))


def _overlap(exc: BaseException) -> asyncpg.exceptions.ExclusionViolationError | None:
    """The trigger's refusal behind ``exc`` (SQLAlchemy wraps asyncpg's error), if that is what it is."""
    cur: BaseException | None = exc
    for _ in range(5):
        if cur is None:
            return None
        if isinstance(cur, asyncpg.exceptions.ExclusionViolationError) and cur.constraint_name == NO_OVERLAP:
            return cur
        cur = cur.__cause__ or getattr(cur, "orig", None)
    return None
