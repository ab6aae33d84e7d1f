"""Purchases whose numbers are about to expire: those due an ``expiring`` notice under their shop's
expiring_notice_days, those due their shop's on_expiry action, and the expiry events written once each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.allocation.kinds import EXPIRY_EVENTS, one_of
from services.allocation.models import (
    OnExpiry,
    Purchase,
    PurchaseStatus,
    Shop,
    StockEvent,
    StockEventKind,
    Waybill,
    WaybillStatus,
)


@dataclass(frozen=True)
class DueNotice:
    purchase_id: str
    shop_id: str
    carrier: str
    package_id: str
    pool_id: int
    expires_at: datetime
    unused: int
    notice_days: int
    on_expiry: str
    auto_extend_days: int


def _unused(*, never_handed_out: bool = False) -> ColumnElement[bool]:
    """The purchase's unexpired numbers in the pool (never handed out: as a refund counts them)."""
    where = [
        Waybill.purchase_id == Purchase.id,
        Waybill.status == WaybillStatus.AVAILABLE,
        Waybill.expires_at > func.now(),
    ]
    if never_handed_out:
        where.append(Waybill.released_at.is_(None))
    return and_(*where)


# Literals, as the partial indexes' predicates (a bind parameter in a generic plan proves none of them):
# ix_purchases_expiring (completed purchases) and uq_stock_events_expiry (the expiry kinds).
_COMPLETED = Purchase.status == literal_column(f"'{PurchaseStatus.COMPLETED.value}'")


def _kind_in(kinds: tuple[StockEventKind, ...]) -> ColumnElement[bool]:
    return StockEvent.kind.in_([literal_column(f"'{k.value}'") for k in kinds])


def _not_yet(kinds: tuple[StockEventKind, ...]) -> ColumnElement[bool]:
    """No event of these kinds yet for the purchase's current expiry date."""
    return ~exists().where(
        StockEvent.purchase_id == Purchase.id,
        _kind_in(kinds),
        StockEvent.expires_at == Purchase.expires_at,
    )


class ExpiryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due_notices(self, limit: int) -> list[DueNotice]:
        """Completed purchases with unused numbers expiring within their shop's notice days (0: never) and no
        ``expiring`` event yet for this expiry date, soonest first."""
        unused = select(func.count()).select_from(Waybill).where(_unused()).correlate(Purchase).scalar_subquery()
        rows = await self.session.execute(
            select(
                Purchase.id,
                Purchase.shop_id,
                Purchase.carrier,
                Purchase.package_id,
                Purchase.pool_id,
                Purchase.expires_at,
                unused,
                Shop.expiring_notice_days,
                Shop.on_expiry,
                Shop.auto_extend_days,
            )
            .join(Shop, Shop.id == Purchase.shop_id)
            .where(
                _COMPLETED,
                Shop.expiring_notice_days > 0,
                Purchase.expires_at > func.now(),
                Purchase.expires_at <= func.now() + func.make_interval(0, 0, 0, Shop.expiring_notice_days),
                _not_yet((StockEventKind.EXPIRING,)),
                exists().where(_unused()),
            )
            .order_by(Purchase.expires_at, Purchase.id)
            .limit(limit)
        )
        return [DueNotice(*row) for row in rows.all()]

    async def due_actions(self, lead: timedelta, limit: int) -> list[str]:
        """Completed purchases of shops that extend or refund, whose numbers expire within ``lead``, with
        numbers to act on and no action recorded yet for this expiry date (a failed extension is tried again
        until it is paid or the numbers expire: the shop may top up meanwhile)."""
        acted = (StockEventKind.AUTO_EXTENDED, StockEventKind.AUTO_REFUNDED)
        rows = await self.session.scalars(
            select(Purchase.id)
            .join(Shop, Shop.id == Purchase.shop_id)
            .where(
                _COMPLETED,
                Purchase.expires_at > func.now(),
                Purchase.expires_at <= func.now() + lead,
                _not_yet(acted),
                # Numbers the action would act on: an extension any in the pool, a refund those never handed out.
                or_(
                    and_(Shop.on_expiry == OnExpiry.EXTEND, exists().where(_unused())),
                    and_(Shop.on_expiry == OnExpiry.REFUND, exists().where(_unused(never_handed_out=True))),
                ),
            )
            .order_by(Purchase.expires_at, Purchase.id)
            .limit(limit)
        )
        return list(rows)

    async def recorded(self, purchase_id: str, kinds: tuple[StockEventKind, ...], expires_at: datetime) -> bool:
        found = await self.session.scalar(
            select(StockEvent.id)
            .where(
                StockEvent.purchase_id == purchase_id,
                _kind_in(kinds),
                StockEvent.expires_at == expires_at,
            )
            .limit(1)
        )
        return found is not None

    async def add_once(self, event: StockEvent) -> int | None:
        """Record an expiry event unless the purchase has one of its kind for its expiry date already
        (uq_stock_events_expiry decides, not a prior read). Returns the new event's id, or None."""
        assert event.kind in EXPIRY_EVENTS
        assert event.expires_at is not None
        values = {
            "shop_id": event.shop_id,
            "carrier": event.carrier,
            "kind": event.kind,
            "available": event.available,
            "threshold": event.threshold,
            "purchase_id": event.purchase_id,
            "expires_at": event.expires_at,
            "numbers": event.numbers,
            "details": event.details,
        }
        inserted = await self.session.scalar(
            pg_insert(StockEvent)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[StockEvent.purchase_id, StockEvent.kind, StockEvent.expires_at],
                # A literal, as the partial index's predicate (a bind parameter would not prove it).
                index_where=text(one_of("kind", EXPIRY_EVENTS)),
            )
            .returning(StockEvent.id)
        )
        return None if inserted is None else int(inserted)

    async def event(self, event_id: int) -> StockEvent | None:
        return await self.session.get(StockEvent, event_id)
