"""Parcels: the boxes of a shipment, each with its own number, label prints and tracking status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update

from runtime.repository import OwnedRepository
from services.shipping.models import Parcel, ParcelStatus


class ParcelRepository(OwnedRepository[Parcel]):
    model = Parcel

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(Parcel), rows)

    async def of_shipment(self, shipment_id: str, *, for_update: bool = False) -> list[Parcel]:
        stmt = (
            select(Parcel)
            .where(Parcel.shipment_id == shipment_id)
            .order_by(Parcel.seq)
            .execution_options(populate_existing=True)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list(await self.session.scalars(stmt))

    async def live_of_shipment(self, shipment_id: str, *, for_update: bool = False) -> list[Parcel]:
        return [p for p in await self.of_shipment(shipment_id, for_update=for_update) if p.status == ParcelStatus.LIVE]

    async def of_shipments(self, shipment_ids: Sequence[str]) -> dict[str, list[Parcel]]:
        """Each shipment's parcels in order (one query for a page of shipments)."""
        found: dict[str, list[Parcel]] = defaultdict(list)
        if not shipment_ids:
            return found
        rows = await self.session.scalars(
            select(Parcel).where(Parcel.shipment_id.in_(list(shipment_ids))).order_by(Parcel.shipment_id, Parcel.seq)
        )
        for parcel in rows:
            found[parcel.shipment_id].append(parcel)
        return found

    async def live_of_order(self, order_id: str, *, for_update: bool = False) -> list[Parcel]:
        stmt = (
            select(Parcel)
            .where(Parcel.order_id == order_id, Parcel.status == ParcelStatus.LIVE)
            .order_by(Parcel.ordinal)
            .execution_options(populate_existing=True)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list(await self.session.scalars(stmt))

    async def live_by_number(self, shop_id: str, number: str, *, for_update: bool = False) -> Parcel | None:
        stmt = select(Parcel).where(
            Parcel.shop_id == shop_id, Parcel.number == number, Parcel.status == ParcelStatus.LIVE
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt.execution_options(populate_existing=True))

    async def live_of_shipments(self, shop_id: str, shipment_ids: Sequence[str]) -> list[Parcel]:
        if not shipment_ids:
            return []
        rows = await self.session.scalars(
            select(Parcel)
            .where(
                Parcel.shop_id == shop_id,
                Parcel.shipment_id.in_(list(shipment_ids)),
                Parcel.status == ParcelStatus.LIVE,
            )
            .order_by(Parcel.shipment_id, Parcel.seq)
        )
        return list(rows)

    async def live_by_numbers(self, shop_id: str, numbers: Sequence[str], *, for_update: bool = False) -> list[Parcel]:
        if not numbers:
            return []
        stmt = select(Parcel).where(
            Parcel.shop_id == shop_id, Parcel.number.in_(list(numbers)), Parcel.status == ParcelStatus.LIVE
        )
        if for_update:
            stmt = stmt.order_by(Parcel.id).with_for_update()
        return list(await self.session.scalars(stmt.execution_options(populate_existing=True)))

    async def gave_up(self, order_id: str, number: str) -> bool:
        """Whether one of the order's parcels held ``number`` and gave it up (voided, released), with no live one
        holding it now."""
        rows = await self.session.scalars(
            select(Parcel.status).where(Parcel.order_id == order_id, Parcel.number == number)
        )
        found = set(rows)
        return bool(found) and ParcelStatus.LIVE not in found

    async def set_status_of_shipments(self, shipment_ids: Sequence[str], status: ParcelStatus) -> None:
        if shipment_ids:
            await self.session.execute(
                update(Parcel)
                .where(Parcel.shipment_id.in_(list(shipment_ids)), Parcel.status == ParcelStatus.LIVE)
                .values(status=status, updated_at=func.now())
            )

    async def count_prints(self, parcel_ids: Sequence[str]) -> None:
        if parcel_ids:
            await self.session.execute(
                update(Parcel)
                .where(Parcel.id.in_(list(parcel_ids)))
                .values(label_prints=Parcel.label_prints + 1, updated_at=func.now())
            )
