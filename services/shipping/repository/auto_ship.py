"""Auto-ship rules, their runs, and the paid orders a sweep reads for them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import aliased

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository, read_page
from services.shipping.models import OPEN_ITEM_STATES, AutoShipRule, AutoShipRun, BatchItem, ItemStatus, Order
from services.shipping.states import OrderStatus

# Rules in the order the sweep tries them; runs newest first.
RULE_ORDER = Keyset([AutoShipRule.priority, AutoShipRule.created_at, AutoShipRule.id], descending=False)
NEWEST_RUNS = Keyset([AutoShipRun.at, AutoShipRun.id])


class CandidateRow(NamedTuple):
    """A paid order as the rules read it (no ORM row: a sweep reads thousands)."""

    id: str
    receiver_state: str
    weight_g: int
    store_id: str | None
    created_at: datetime
    held: str | None
    failed_at: datetime | None


class AutoShipRepository(OwnedRepository[AutoShipRule]):
    model = AutoShipRule

    def add(self, values: dict[str, Any]) -> AutoShipRule:
        rule = AutoShipRule(**values)
        self.session.add(rule)
        return rule

    async def delete(self, rule: AutoShipRule) -> None:
        await self.session.execute(delete(AutoShipRule).where(AutoShipRule.id == rule.id))

    async def page(self, shop_id: str, page: PageRequest) -> Slice[AutoShipRule]:
        return await self.page_owned(shop_id, keyset=RULE_ORDER, page=page)

    async def of_shop(self, shop_id: str, *, active_only: bool) -> list[AutoShipRule]:
        where = [AutoShipRule.active.is_(True)] if active_only else []
        return await self.list_owned(shop_id, *where, order_by=RULE_ORDER.order_by())

    async def shops_with_active_rules(self) -> list[str]:
        stmt = select(AutoShipRule.shop_id).where(AutoShipRule.active.is_(True)).distinct().order_by("shop_id")
        return list(await self.session.scalars(stmt))

    async def try_lock_shop(self, shop_id: str) -> bool:
        """The shop's sweep lock for this transaction, unless another sweep holds it (then False at once):
        two workers' sweeps never both batch one shop's orders and record them as theirs."""
        got = await self.session.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtext('shipping.auto_ship'), hashtext(:shop))"),
            {"shop": shop_id},
        )
        return bool(got)

    async def candidates(self, shop_id: str, failed_since: datetime, limit: int) -> list[CandidateRow]:
        """The shop's paid orders oldest first, but for those an open batch holds already (a sweep's batch
        not claimed yet, or one the seller posted), with the time of a batch failure since ``failed_since``."""
        item = aliased(BatchItem)
        in_open_batch = exists().where(item.order_id == Order.id, item.status.in_(OPEN_ITEM_STATES))
        failed = aliased(BatchItem)
        failed_at = (
            select(func.max(failed.updated_at))
            .where(
                failed.order_id == Order.id,
                failed.status == ItemStatus.FAILED,
                failed.updated_at >= failed_since,
            )
            .scalar_subquery()
        )
        stmt = (
            select(
                Order.id,
                Order.receiver_state,
                Order.weight_g,
                Order.store_id,
                Order.created_at,
                Order.held,
                failed_at.label("failed_at"),
            )
            .where(Order.shop_id == shop_id, Order.status == OrderStatus.PAID, ~in_open_batch)
            .order_by(Order.created_at, Order.id)
            .limit(limit)
        )
        return [CandidateRow(*row) for row in await self.session.execute(stmt)]

    def add_run(self, values: dict[str, Any]) -> None:
        self.session.add(AutoShipRun(**values))

    async def runs(self, rule_id: str, page: PageRequest) -> Slice[AutoShipRun]:
        stmt = select(AutoShipRun).where(AutoShipRun.rule_id == rule_id)
        return await read_page(self.session, stmt, NEWEST_RUNS, page)

    async def last_runs(self, rule_ids: Sequence[str]) -> dict[str, AutoShipRun]:
        """Each rule's latest run (one statement, newest per rule)."""
        if not rule_ids:
            return {}
        stmt = (
            select(AutoShipRun)
            .where(AutoShipRun.rule_id.in_(rule_ids))
            .ext(distinct_on(AutoShipRun.rule_id))
            .order_by(AutoShipRun.rule_id, AutoShipRun.at.desc(), AutoShipRun.id.desc())
        )
        return {run.rule_id: run for run in await self.session.scalars(stmt)}
