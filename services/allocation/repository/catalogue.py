"""The carrier catalogue: carriers, their number rules and the packages on sale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.allocation.models import Carrier, CarrierPackage


class CatalogueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def carriers(self) -> Sequence[Carrier]:
        return (await self.session.scalars(select(Carrier).order_by(Carrier.code))).all()

    async def carrier(self, code: str) -> Carrier | None:
        return await self.session.get(Carrier, code)

    async def packages(self, carrier: str | None = None) -> Sequence[CarrierPackage]:
        query = select(CarrierPackage).order_by(CarrierPackage.carrier, CarrierPackage.quantity)
        if carrier is not None:
            query = query.where(CarrierPackage.carrier == carrier)
        return (await self.session.scalars(query)).all()

    async def package(self, package_id: str) -> CarrierPackage | None:
        return await self.session.get(CarrierPackage, package_id)

    async def add_package(self, package: CarrierPackage) -> bool:
        result = await self.session.execute(
            pg_insert(CarrierPackage)
            .values(
                id=package.id,
                carrier=package.carrier,
                quantity=package.quantity,
                price_cents=package.price_cents,
                validity_days=package.validity_days,
                extension_fee_cents_per_30_days=package.extension_fee_cents_per_30_days,
                active=package.active,
                void_credit_percent=package.void_credit_percent,
                void_fee_cents=package.void_fee_cents,
            )
            .on_conflict_do_nothing()
            .returning(CarrierPackage.id)
        )
        return result.first() is not None

    async def update_carrier(self, code: str, values: dict[str, Any]) -> None:
        await self.session.execute(update(Carrier).where(Carrier.code == code).values(**values, updated_at=func.now()))
