"""Orders and their audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository, read_page
from services.shipping.models import Order, OrderEvent
from services.shipping.schemas.orders import OrderFilter
from services.shipping.states import EventRow


class OrderRoute(NamedTuple):
    external_id: str
    channel: str
    store_id: str | None


# Orders list oldest first: a shop works through them in the order they came.
OLDEST_FIRST = Keyset([Order.created_at, Order.id], descending=False)
# ... or the most urgent first (ix_orders_shop_ship_by).
SHIP_BY_FIRST = Keyset([Order.ship_by, Order.id], descending=False)


class OrderRepository(OwnedRepository[Order]):
    model = Order

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        stmt = (
            pg_insert(Order)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Order.shop_id, Order.external_id])
            .returning(Order.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def insert_many_if_absent(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """``insert_if_absent`` for several orders of one shape: the ids inserted. On the table, not the entity,
        with the rows as parameters (SQLAlchemy's insertmanyvalues: one multi-row INSERT, compiled once, not
        per row count as ``.values([...])`` would be)."""
        if not rows:
            return set()
        table = cast(Table, Order.__table__)
        stmt = (
            pg_insert(table)
            .on_conflict_do_nothing(index_elements=[table.c.shop_id, table.c.external_id])
            .returning(table.c.id)
        )
        return set((await self.session.execute(stmt, list(rows))).scalars().all())

    async def owners_by_external(
        self, shop_id: str, external_ids: Iterable[str]
    ) -> dict[str, tuple[str, str, str | None]]:
        """``(id, channel, store_id)`` of the shop's orders of these external ids, by external id: whether a
        message's order exists already, and whose it is, without loading the orders."""
        wanted = list(external_ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Order.external_id, Order.id, Order.channel, Order.store_id).where(
                Order.shop_id == shop_id, Order.external_id.in_(wanted)
            )
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        """An order by id whoever's it is: for the workers, which reach it through a shipment of that shop."""
        stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def by_external(self, shop_id: str, external_id: str, *, for_update: bool = False) -> Order | None:
        stmt = (
            select(Order)
            .where(Order.shop_id == shop_id, Order.external_id == external_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def by_ids(self, order_ids: Iterable[str]) -> dict[str, Order]:
        wanted = list(order_ids)
        if not wanted:
            return {}
        return {o.id: o for o in await self.session.scalars(select(Order).where(Order.id.in_(wanted)))}

    async def lock_many(self, order_ids: Sequence[str], *, shop_id: str | None = None) -> dict[str, Order]:
        """The orders, locked in id order (concurrent lockers never deadlock); with ``shop_id``, only that
        shop's (another shop's id reads as absent)."""
        stmt = select(Order).where(Order.id.in_(order_ids))
        if shop_id is not None:
            stmt = stmt.where(Order.shop_id == shop_id)
        rows = await self.session.scalars(
            stmt.order_by(Order.id).with_for_update().execution_options(populate_existing=True)
        )
        return {o.id: o for o in rows}

    async def search(self, shop_id: str, filters: OrderFilter, page: PageRequest, offset: int = 0) -> Slice[Order]:
        where = []
        if filters.status:
            where.append(Order.status == filters.status)
        if filters.external_id:
            where.append(Order.external_id == filters.external_id)
        if filters.channel:
            where.append(Order.channel == filters.channel)
        if filters.store_id:
            where.append(Order.store_id == filters.store_id)
        if filters.ship_by_before:
            where.append(Order.ship_by < filters.ship_by_before)
        if filters.ship_by_after:
            where.append(Order.ship_by >= filters.ship_by_after)
        if filters.held is not None:
            where.append(Order.held.is_not(None) if filters.held else Order.held.is_(None))
        keyset = SHIP_BY_FIRST if filters.sort == "ship_by" else OLDEST_FIRST
        # The paging of 0.1, until 0.3.0: an offset starts a walk; once a cursor is sent, it alone says where.
        if offset and page.cursor is None:
            stmt = select(Order).where(Order.shop_id == shop_id, *where).offset(offset)
            return await read_page(self.session, stmt, keyset, page)
        return await self.page_owned(shop_id, *where, keyset=keyset, page=page)

    async def routes(self, order_ids: Sequence[str]) -> dict[str, OrderRoute]:
        """Where each order is confirmed: its id on its channel, the channel, and its store (no lock, no row)."""
        stmt = select(Order.id, Order.external_id, Order.channel, Order.store_id).where(Order.id.in_(order_ids))
        return {r.id: OrderRoute(r.external_id, r.channel, r.store_id) for r in await self.session.execute(stmt)}

    async def existing_ids(self, shop_id: str, order_ids: Sequence[str]) -> set[str]:
        rows = await self.session.scalars(select(Order.id).where(Order.shop_id == shop_id, Order.id.in_(order_ids)))
        return set(rows)

    def add_event(self, row: EventRow) -> None:
        self.session.add(OrderEvent(**row.values()))

    async def add_events(self, rows: Sequence[EventRow]) -> None:
        if rows:
            # The table, not the entity: a plain executemany, without the ORM's bulk bookkeeping per row.
            await self.session.execute(insert(cast(Table, OrderEvent.__table__)), [r.values() for r in rows])

    async def events(self, order_id: str) -> list[OrderEvent]:
        return list(
            await self.session.scalars(
                select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
            )
        )
