"""Order alerts, and the orders the ship-by sweep finds due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository
from services.shipping import states
from services.shipping.models import (
    MAX_LEAD_MINUTES,
    UNSHIPPED_ORDER,
    AlertKind,
    AlertState,
    Order,
    OrderAlert,
    ShopSettings,
)
from services.shipping.schemas.order_alerts import AlertFilter

NEWEST_FIRST = Keyset([OrderAlert.id], descending=True)
# The column default (migration s0009): shops without a settings row read it too.
DEFAULT_LEAD_MINUTES = 240
DEFAULT_TIME_ZONE = "Asia/Shanghai"
_UNRESOLVED = OrderAlert.state != AlertState.RESOLVED.value
UNRESOLVED_INDEX = text(f"state <> '{AlertState.RESOLVED.value}'")  # uq_order_alerts_unresolved's predicate
_UNSHIPPED = [s.value for s in states.UNSHIPPED]


@dataclass(frozen=True)
class DueOrder:
    """An unshipped order the sweep found at or past its warning time, with what it needs opened."""

    id: str
    shop_id: str
    external_id: str
    ship_by: datetime
    time_zone: str
    late: bool  # a late_to_ship alert is due (and none is unresolved)
    passed: bool  # a ship_by_passed alert is due (and none is unresolved)


def _unresolved_of(kind: AlertKind) -> Any:
    return exists().where(OrderAlert.order_id == Order.id, OrderAlert.kind == kind.value, _UNRESOLVED)


class OrderAlertRepository(OwnedRepository[OrderAlert]):
    model = OrderAlert

    async def open_many(self, rows: Sequence[dict[str, Any]]) -> list[OrderAlert]:
        """Insert the alerts no unresolved one of the same order and kind stands in the way of, and answer
        those inserted: the partial unique index decides, so racing openers open one between them."""
        if not rows:
            return []
        stmt = (
            pg_insert(OrderAlert)
            .values(list(rows))
            # The index's predicate as a literal: a bound parameter would not prove it (prepared statements).
            .on_conflict_do_nothing(index_elements=[OrderAlert.order_id, OrderAlert.kind], index_where=UNRESOLVED_INDEX)
            .returning(OrderAlert)
        )
        return list((await self.session.scalars(stmt)).all())

    async def resolve(self, order_ids: Sequence[str], kinds: Sequence[str], at: datetime) -> list[OrderAlert]:
        """Resolve the unresolved alerts of these kinds of these orders; answer them."""
        if not order_ids or not kinds:
            return []
        stmt = (
            update(OrderAlert)
            .where(OrderAlert.order_id.in_(order_ids), OrderAlert.kind.in_(kinds), _UNRESOLVED)
            .values(state=AlertState.RESOLVED.value, resolved_at=at)
            .returning(OrderAlert)
            .execution_options(synchronize_session=False)
        )
        return list((await self.session.scalars(stmt)).all())

    async def unresolved(self, order_id: str, kind: str) -> OrderAlert | None:
        stmt = select(OrderAlert).where(OrderAlert.order_id == order_id, OrderAlert.kind == kind, _UNRESOLVED)
        return await self.session.scalar(stmt)

    async def search(self, shop_id: str, filters: AlertFilter, page: PageRequest) -> Slice[OrderAlert]:
        where = []
        if filters.state:
            where.append(OrderAlert.state == filters.state)
        if filters.kind:
            where.append(OrderAlert.kind == filters.kind)
        if filters.order_id:
            where.append(OrderAlert.order_id == filters.order_id)
        return await self.page_owned(shop_id, *where, keyset=NEWEST_FIRST, page=page)

    async def ship_by_due(self, now: datetime, after: tuple[datetime, str] | None, limit: int) -> list[DueOrder]:
        """One batch of unshipped orders, by deadline, whose late_to_ship warning (the shop's lead before
        ship_by) or ship_by_passed alert is due and not open yet. One range of the partial index
        ``ix_orders_unshipped_ship_by``: deadlines up to the longest lead any shop may set from now."""
        lead = func.coalesce(ShopSettings.late_to_ship_lead_minutes, DEFAULT_LEAD_MINUTES)
        warn_at = Order.ship_by - func.make_interval(0, 0, 0, 0, 0, lead)
        late = and_(warn_at <= now, Order.ship_by > now, ~_unresolved_of(AlertKind.LATE_TO_SHIP))
        passed = and_(Order.ship_by <= now, ~_unresolved_of(AlertKind.SHIP_BY_PASSED))
        stmt = (
            select(
                Order.id,
                Order.shop_id,
                Order.external_id,
                Order.ship_by,
                func.coalesce(ShopSettings.time_zone, DEFAULT_TIME_ZONE).label("time_zone"),
                late.label("late"),
                passed.label("passed"),
            )
            .outerjoin(ShopSettings, ShopSettings.shop_id == Order.shop_id)
            # The partial index's own predicate, spelled as it is, so the planner uses the index.
            .where(text(f"shipping.orders.{UNSHIPPED_ORDER}"))
            .where(Order.ship_by <= now + timedelta(minutes=MAX_LEAD_MINUTES), or_(late, passed))
            .order_by(Order.ship_by, Order.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(tuple_(Order.ship_by, Order.id) > tuple_(*after))
        rows = await self.session.execute(stmt)
        return [DueOrder(r.id, r.shop_id, r.external_id, r.ship_by, r.time_zone, r.late, r.passed) for r in rows]

    async def resolve_settled(self, kinds: Sequence[str], limit: int, at: datetime) -> list[OrderAlert]:
        """Resolve up to ``limit`` unresolved alerts of these kinds whose orders are no longer waiting to ship
        (shipped, cancelled...); answer them. Rows a concurrent sweep holds are left to it."""
        settled = (
            select(OrderAlert.id)
            .join(Order, Order.id == OrderAlert.order_id)
            .where(_UNRESOLVED, OrderAlert.kind.in_(kinds), Order.status.not_in(_UNSHIPPED))
            .order_by(OrderAlert.id)
            .limit(limit)
            .with_for_update(of=OrderAlert, skip_locked=True)
        )
        stmt = (
            update(OrderAlert)
            .where(OrderAlert.id.in_(settled.scalar_subquery()))
            .values(state=AlertState.RESOLVED.value, resolved_at=at)
            .returning(OrderAlert)
            .execution_options(synchronize_session=False)
        )
        return list((await self.session.scalars(stmt)).all())
