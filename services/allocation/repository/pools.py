"""Pools (a shop's stock of one carrier's numbers), their counts, and the stock events feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository
from services.allocation.models import Pool, Purchase, StockEvent, Waybill, WaybillStatus


@dataclass
class PoolTally:
    """One pool's numbers: how many in each status, and the available ones expiring soon."""

    by_status: dict[WaybillStatus, int] = field(default_factory=dict)
    expiring_soon: int = 0


@dataclass(frozen=True)
class CarrierStock:
    """Available unexpired numbers per carrier across shops, and those of them expiring soon."""

    available: dict[str, int]
    expiring: dict[str, int]


class PoolRepository(OwnedRepository[Pool]):
    model = Pool

    async def get_or_create(self, shop_id: str, carrier: str) -> Pool:
        await self.session.execute(pg_insert(Pool).values(shop_id=shop_id, carrier=carrier).on_conflict_do_nothing())
        pool = await self.get(shop_id, carrier)
        assert pool is not None
        return pool

    async def get(self, shop_id: str, carrier: str) -> Pool | None:
        found = await self.list_owned(shop_id, Pool.carrier == carrier)
        return found[0] if found else None

    async def by_id(self, pool_id: int) -> Pool | None:
        return await self.session.get(Pool, pool_id)

    async def for_shop(self, shop_id: str) -> Sequence[Pool]:
        return await self.list_owned(shop_id, order_by=[Pool.carrier])

    async def all_with_threshold(self) -> Sequence[Pool]:
        return (await self.session.scalars(select(Pool).where(Pool.low_stock_threshold > 0).order_by(Pool.id))).all()

    async def counts(self, pool_ids: Sequence[int], soon: datetime) -> dict[int, PoolTally]:
        """Per pool: count by status, plus available numbers expiring before ``soon``."""
        if not pool_ids:
            return {}
        rows = await self.session.execute(
            select(
                Waybill.pool_id,
                Waybill.status,
                func.count(),
                func.count().filter(Waybill.expires_at < soon),
            )
            .where(Waybill.pool_id.in_(pool_ids))
            .group_by(Waybill.pool_id, Waybill.status)
        )
        out = {pid: PoolTally() for pid in pool_ids}
        for pool_id, status, count, expiring in rows:
            out[pool_id].by_status[WaybillStatus(status)] = int(count)
            if status == WaybillStatus.AVAILABLE:
                out[pool_id].expiring_soon = int(expiring)
        return out

    async def unit_costs(self, pool_ids: Sequence[int]) -> dict[int, float]:
        """Per pool: the price paid per number, averaged over its available unexpired numbers (each at its
        purchase's ``price_cents / quantity``). Pools with none priced are left out."""
        if not pool_ids:
            return {}
        rows = await self.session.execute(
            select(Waybill.pool_id, Purchase.price_cents, Purchase.quantity, func.count())
            .join(Purchase, Purchase.id == Waybill.purchase_id)
            .where(
                Waybill.pool_id.in_(pool_ids),
                Waybill.status == WaybillStatus.AVAILABLE,
                Waybill.expires_at > func.now(),
            )
            .group_by(Waybill.pool_id, Purchase.id)
        )
        paid: dict[int, float] = {}
        counted: dict[int, int] = {}
        for pool_id, price, quantity, count in rows:
            paid[pool_id] = paid.get(pool_id, 0.0) + price * count / quantity
            counted[pool_id] = counted.get(pool_id, 0) + count
        return {pool_id: round(paid[pool_id] / counted[pool_id], 2) for pool_id in paid}

    async def available(self, pool_id: int) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(Waybill)
            .where(
                Waybill.pool_id == pool_id, Waybill.status == WaybillStatus.AVAILABLE, Waybill.expires_at > func.now()
            )
        )
        return int(value or 0)

    async def stock_by_carrier(self, soon: datetime) -> CarrierStock:
        """Available unexpired numbers per carrier across shops, and those expiring before ``soon``."""
        rows = await self.session.execute(
            select(Waybill.carrier, func.count(), func.count().filter(Waybill.expires_at < soon))
            .where(Waybill.status == WaybillStatus.AVAILABLE, Waybill.expires_at > func.now())
            .group_by(Waybill.carrier)
        )
        stock = CarrierStock({}, {})
        for carrier, count, soon_count in rows:
            stock.available[carrier] = int(count)
            stock.expiring[carrier] = int(soon_count)
        return stock

    async def set_low_stock_since(self, pool_id: int, since: datetime | None) -> None:
        await self.session.execute(update(Pool).where(Pool.id == pool_id).values(low_stock_since=since))


class StockEventRepository(OwnedRepository[StockEvent]):
    model = StockEvent

    async def add(self, event: StockEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def recent(self, shop_id: str, page: PageRequest) -> Slice[StockEvent]:
        return await self.page_owned(shop_id, keyset=Keyset([StockEvent.id]), page=page)
