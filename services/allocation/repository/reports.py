"""The spend report's reads: each figure counted per (shop, bucket, group) in one grouped query, the buckets
cut in the report's zone by PostgreSQL (``date_trunc`` of the time as seen in that zone), so the edges of a day
are the zone's midnights whatever the server's zone is.

Where each figure is read from and at what moment (the service documents the semantics):

- bought: ``purchases.numbers_received`` of completed purchases, at ``completed_at``;
- used: waybills first marked shipped, at ``shipped_at`` (rows shipped before a0005: still shipped, at
  ``updated_at``), with the price paid for each (its purchase's ``price_cents / quantity``; typed: 0);
- voided: ``waybill_voids``, at ``created_at``;
- expired: expired waybills, at the earlier of ``expires_at`` and their last change (a number the marketplace
  refused as expired goes out of use that day, before its expiry);
- refunded: voided waybills that never belonged to an order, the ones a refund voids (a release voids
  an order's number, with a ``waybill_voids`` row), at ``updated_at`` (the refund's transaction);
- money: ``ledger_entries`` by kind, at ``created_at``, with the carrier of the purchase they reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Numeric,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from services.allocation.models import (
    LedgerEntry,
    Pool,
    Purchase,
    PurchaseStatus,
    Shop,
    Waybill,
    WaybillStatus,
    WaybillVoid,
)

# A column of a model, or an expression over columns.
Expr = ColumnElement[Any] | QueryableAttribute[Any]

# GROUP BY the first three output columns (shop, bucket, group): the group may be a NULL literal.
_BY_SHOP_BUCKET_GROUP: tuple[ColumnElement[Any], ...] = (literal_column("1"), literal_column("2"), literal_column("3"))


@dataclass(frozen=True)
class Period:
    """``start`` to ``end`` (exclusive) as dates in ``tz``; ``interval`` a date_trunc field (day, week, month)."""

    start: date
    end: date
    tz: str
    interval: str
    by: str  # carrier, store or channel
    shop_id: str | None  # None: every shop

    @property
    def by_carrier(self) -> bool:
        """Only used numbers have a store and channel: the other figures split by carrier or not at all."""
        return self.by == "carrier"

    def edge(self, day: date) -> ColumnElement[Any]:
        """Midnight of ``day`` in the zone, as a moment (timestamptz)."""
        return func.timezone(self.tz, literal(datetime(day.year, day.month, day.day), DateTime()))

    def contains(self, at: Expr) -> ColumnElement[bool]:
        return and_(at >= self.edge(self.start), at < self.edge(self.end))

    def bucket(self, at: Expr) -> ColumnElement[Any]:
        return cast(func.date_trunc(self.interval, func.timezone(self.tz, at)), Date).label("bucket")


@dataclass(frozen=True)
class Counted:
    shop_id: str
    bucket: date
    group: str | None
    count: int


@dataclass(frozen=True)
class Used(Counted):
    cost_cents: Decimal  # exact to PostgreSQL's numeric division


@dataclass(frozen=True)
class Money:
    shop_id: str
    bucket: date
    group: str | None
    kind: str
    amount_cents: int


def _group(column: Any) -> ColumnElement[Any]:
    return (column if column is not None else null()).label("grp")


# What used numbers are split by, per grouping.
_USE_COLUMNS: dict[str, Any] = {"carrier": Waybill.carrier, "store": Waybill.store_id, "channel": Waybill.channel}


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _counted(self, stmt: Executable) -> list[Counted]:
        return [Counted(r[0], r[1], r[2], int(r[3])) for r in await self.session.execute(stmt)]

    async def bought(self, period: Period) -> list[Counted]:
        stmt = (
            select(
                Purchase.shop_id,
                period.bucket(Purchase.completed_at),
                _group(Purchase.carrier if period.by_carrier else None),
                func.sum(Purchase.numbers_received),
            )
            .where(Purchase.status == PurchaseStatus.COMPLETED, period.contains(Purchase.completed_at))
            .group_by(*_BY_SHOP_BUCKET_GROUP)
        )
        if period.shop_id is not None:
            stmt = stmt.where(Purchase.shop_id == period.shop_id)
        return await self._counted(stmt)

    async def used(self, period: Period) -> list[Used]:
        shipped = or_(
            period.contains(Waybill.shipped_at),
            and_(
                Waybill.shipped_at.is_(None),
                Waybill.status == WaybillStatus.SHIPPED,
                period.contains(Waybill.updated_at),
            ),
        )
        price = func.coalesce(cast(Purchase.price_cents, Numeric) / Purchase.quantity, 0)
        stmt = (
            select(
                Pool.shop_id,
                period.bucket(func.coalesce(Waybill.shipped_at, Waybill.updated_at)),
                _group(_USE_COLUMNS[period.by]),
                func.count(),
                func.coalesce(func.sum(price), 0),
            )
            .select_from(Waybill)
            .join(Pool, Pool.id == Waybill.pool_id)
            .outerjoin(Purchase, Purchase.id == Waybill.purchase_id)
            .where(shipped)
            .group_by(*_BY_SHOP_BUCKET_GROUP)
        )
        if period.shop_id is not None:
            stmt = stmt.where(Pool.shop_id == period.shop_id)
        return [Used(r[0], r[1], r[2], int(r[3]), Decimal(r[4])) for r in await self.session.execute(stmt)]

    async def voided(self, period: Period) -> list[Counted]:
        stmt = (
            select(
                WaybillVoid.shop_id,
                period.bucket(WaybillVoid.created_at),
                _group(WaybillVoid.carrier if period.by_carrier else None),
                func.count(),
            )
            .where(period.contains(WaybillVoid.created_at))
            .group_by(*_BY_SHOP_BUCKET_GROUP)
        )
        if period.shop_id is not None:
            stmt = stmt.where(WaybillVoid.shop_id == period.shop_id)
        return await self._counted(stmt)

    async def expired(self, period: Period) -> list[Counted]:
        at = func.least(Waybill.expires_at, func.coalesce(Waybill.updated_at, Waybill.expires_at))
        return await self._waybills(period, at, Waybill.status == WaybillStatus.EXPIRED)

    async def refunded(self, period: Period) -> list[Counted]:
        never_an_orders = and_(
            Waybill.status == WaybillStatus.VOIDED,
            Waybill.order_ref.is_(None),
            Waybill.purchase_id.is_not(None),
            ~exists().where(WaybillVoid.waybill_id == Waybill.id),
        )
        return await self._waybills(period, Waybill.updated_at, never_an_orders)

    async def _waybills(self, period: Period, at: Expr, which: ColumnElement[bool]) -> list[Counted]:
        stmt = (
            select(
                Pool.shop_id, period.bucket(at), _group(Waybill.carrier if period.by_carrier else None), func.count()
            )
            .select_from(Waybill)
            .join(Pool, Pool.id == Waybill.pool_id)
            .where(which, period.contains(at))
            .group_by(*_BY_SHOP_BUCKET_GROUP)
        )
        if period.shop_id is not None:
            stmt = stmt.where(Pool.shop_id == period.shop_id)
        return await self._counted(stmt)

    async def money(self, period: Period) -> list[Money]:
        """Every ledger row of the period summed by kind (top-ups too: the service leaves them out), with the
        carrier of the purchase it references (None when it references none)."""
        stmt = (
            select(
                LedgerEntry.shop_id,
                period.bucket(LedgerEntry.created_at),
                _group(Purchase.carrier if period.by_carrier else None),
                LedgerEntry.kind,
                func.sum(LedgerEntry.amount_cents),
            )
            .select_from(LedgerEntry)
            .outerjoin(Purchase, Purchase.id == LedgerEntry.reference)
            .where(period.contains(LedgerEntry.created_at))
            .group_by(*_BY_SHOP_BUCKET_GROUP, literal_column("4"))
        )
        if period.shop_id is not None:
            stmt = stmt.where(LedgerEntry.shop_id == period.shop_id)
        return [Money(r[0], r[1], r[2], r[3], int(r[4])) for r in await self.session.execute(stmt)]

    async def shop_exists(self, shop_id: str) -> bool:
        return await self.session.scalar(select(Shop.id).where(Shop.id == shop_id)) is not None
