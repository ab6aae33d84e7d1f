"""Voids of printed numbers (``waybill_voids``): opening one, the worker's ask to the courier, and the one
conditional update that settles it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.allocation.models import WaybillVoid
from shared.allocation import VoidCourierOutcome

# A literal, as ix_waybill_voids_pending's predicate (a bind parameter in a generic plan proves no predicate).
_PENDING = WaybillVoid.courier == literal_column("'pending'")


class VoidRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, void: WaybillVoid) -> None:
        """Record a number's void. The release holds the number's row lock and has just voided it, so a racing
        release waits and then answers the repeat; the unique waybill_id refuses a second void whatever."""
        self.session.add(void)
        await self.session.flush()
        await self.session.refresh(void)  # created_at is the database's

    async def for_waybill(self, waybill_id: int) -> WaybillVoid | None:
        return await self.session.scalar(
            select(WaybillVoid).where(WaybillVoid.waybill_id == waybill_id).execution_options(populate_existing=True)
        )

    async def take_pending(self, void_id: int) -> WaybillVoid | None:
        """A pending void, counted as asked once more (and not resent while it is being asked); None once it
        is settled."""
        return await self.session.scalar(
            update(WaybillVoid)
            .where(WaybillVoid.id == void_id, _PENDING)
            .values(attempts=WaybillVoid.attempts + 1, last_sent_at=func.now())
            .returning(WaybillVoid)
        )

    async def settle(self, void_id: int, outcome: VoidCourierOutcome, code: str | None) -> WaybillVoid | None:
        """Move a pending void to the courier's answer. The row lock makes racing settlements wait for each
        other, and the condition is read again after the wait: exactly one of them gets the row back."""
        return await self.session.scalar(
            update(WaybillVoid)
            .where(WaybillVoid.id == void_id, _PENDING)
            .values(courier=outcome, courier_code=code, settled_at=func.now())
            .returning(WaybillVoid)
            .execution_options(populate_existing=True)
        )

    async def claim_unanswered(self, waited: timedelta, limit: int) -> list[int]:
        """Pending voids nobody has asked the courier about for ``waited`` (their job ran out of tries while the
        courier was down, or was lost), marked as asked now; SKIP LOCKED, so two sweeps share them out."""
        due = (
            select(WaybillVoid.id)
            .where(_PENDING, func.coalesce(WaybillVoid.last_sent_at, WaybillVoid.created_at) < func.now() - waited)
            .order_by(WaybillVoid.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        rows = await self.session.scalars(
            update(WaybillVoid).where(WaybillVoid.id.in_(due)).values(last_sent_at=func.now()).returning(WaybillVoid.id)
        )
        return list(rows)
