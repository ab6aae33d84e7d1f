"""Waybill numbers: storing what the courier issued, a shop's reads (filtered by shop through its pools),
status changes, and the typed (manual) entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.allocation.lifecycle import prints_label
from services.allocation.models import Pool, QuarantineIncident, Waybill, WaybillSource, WaybillStatus

# Rows of one multi-row INSERT of numbers (7 parameters each, under asyncpg's 32,767).
_INSERT_ROWS = 4000


class Holder(NamedTuple):
    """A live row holding a number, and the shop whose pool it is in."""

    waybill: Waybill
    shop_id: str


# The live-number index (uq_waybills_number) leaves superseded rows out; ON CONFLICT names its predicate.
LIVE_NUMBER = text("status <> 7")
# Looking a number up goes through uq_waybills_number (live rows) or ix_waybills_superseded: each is partial, so
# the status test is written as a literal (a bind parameter in a generic plan proves neither predicate, and
# the lookup would scan the table).
_LIVE = Waybill.status != literal_column("7")
_SUPERSEDED = Waybill.status == literal_column("7")


class WaybillRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_numbers(
        self,
        numbers: Sequence[str],
        *,
        carrier: str,
        pool_id: int,
        purchase_id: str | None,
        expires_at: datetime,
        status: WaybillStatus = WaybillStatus.AVAILABLE,
    ) -> list[str]:
        """Store issued numbers (available unless told otherwise). Returns the conflicting ones: numbers another
        live row holds (not this purchase's own from an earlier attempt), left alone (the unique index on live
        numbers decides, not a prior read)."""
        inserted: set[str] = set()
        # asyncpg takes at most 32,767 parameters a statement: 7 a row, so 4,000 rows a statement.
        for start in range(0, len(numbers), _INSERT_ROWS):
            chunk = numbers[start : start + _INSERT_ROWS]
            rows = await self.session.execute(
                pg_insert(Waybill)
                .values(
                    [
                        {
                            "number": n,
                            "carrier": carrier,
                            "pool_id": pool_id,
                            "purchase_id": purchase_id,
                            "status": status,
                            "expires_at": expires_at,
                            "source": WaybillSource.COURIER,
                        }
                        for n in chunk
                    ]
                )
                .on_conflict_do_nothing(index_elements=[Waybill.number], index_where=LIVE_NUMBER)
                .returning(Waybill.number)
            )
            inserted.update(rows.scalars())
        # Already ours from an earlier attempt of the same purchase: not a duplicate.
        others = [n for n in numbers if n not in inserted]
        ours = set()
        if others:
            ours = set(
                (
                    await self.session.scalars(
                        select(Waybill.number).where(Waybill.number.in_(others), Waybill.purchase_id == purchase_id)
                    )
                ).all()
            )
        return [n for n in others if n not in ours]

    async def quarantine_available(self, numbers: Sequence[str]) -> list[str | None]:
        """An available number that turned up again can no longer be trusted: take it out. Returns the
        purchase of each row taken out (None for a number seeded without one)."""
        result = await self.session.execute(
            update(Waybill)
            .where(Waybill.number.in_(numbers), _LIVE, Waybill.status == WaybillStatus.AVAILABLE)
            .values(status=WaybillStatus.QUARANTINED, updated_at=func.now())
            .returning(Waybill.purchase_id)
        )
        return list(result.scalars())

    async def add_incidents(self, incidents: Sequence[QuarantineIncident]) -> None:
        self.session.add_all(incidents)
        await self.session.flush()

    async def count_for_purchase(self, purchase_id: str) -> int:
        value = await self.session.scalar(
            select(func.count()).select_from(Waybill).where(Waybill.purchase_id == purchase_id)
        )
        return int(value or 0)

    async def get(self, number: str, shop_id: str, *, for_update: bool = False) -> Waybill | None:
        """The shop's row for the number: its live one, else the record of one it lost (superseded; the number
        lives on with whoever took it). Another shop's rows are never returned."""
        for state in (_LIVE, _SUPERSEDED):
            query = (
                select(Waybill)
                .join(Pool, Pool.id == Waybill.pool_id)
                .where(Waybill.number == number, state, Pool.shop_id == shop_id)
                .order_by(Waybill.id.desc())
                .limit(1)
            )
            if for_update:
                query = query.with_for_update(of=Waybill)
            found = await self.session.scalar(query)
            if found is not None:
                return found
        return None

    async def lock_many(self, numbers: Sequence[str], shop_id: str) -> dict[str, Waybill]:
        """The shop's rows by number (live ones, else superseded records, as ``get``), locked in id order (two
        batches marking overlapping numbers then wait for each other instead of deadlocking)."""
        found: dict[str, Waybill] = {}
        for state in (_LIVE, _SUPERSEDED):
            wanted = [n for n in numbers if n not in found]
            if not wanted:
                break
            rows = await self.session.scalars(
                select(Waybill)
                .join(Pool, Pool.id == Waybill.pool_id)
                .where(Waybill.number.in_(wanted), state, Pool.shop_id == shop_id)
                .order_by(Waybill.id)
                .with_for_update(of=Waybill)
            )
            for w in rows:
                found.setdefault(w.number, w)
        return found

    async def lock_live(self, numbers: Sequence[str]) -> list[Holder]:
        """The live rows holding these numbers, whoever's, with the shop of each, locked in id order: a purchase
        storing its numbers decides what to do about each holder (a mark racing it waits, or is waited for)."""
        if not numbers:
            return []
        rows = await self.session.execute(
            select(Waybill, Pool.shop_id)
            .join(Pool, Pool.id == Waybill.pool_id)
            .where(Waybill.number.in_(list(numbers)), _LIVE)
            .order_by(Waybill.id)
            .with_for_update(of=Waybill)
        )
        return [Holder(w, shop_id) for w, shop_id in rows.all()]

    async def supersede(self, waybill_ids: Sequence[int]) -> None:
        """Take rows out of the live-number index; order_ref stays as the record of what the shop had typed."""
        if waybill_ids:
            await self.session.execute(
                update(Waybill)
                .where(Waybill.id.in_(list(waybill_ids)))
                .values(status=WaybillStatus.SUPERSEDED, updated_at=func.now())
            )

    async def lock_manual_entries(self, shop_id: str) -> None:
        """Serialise one shop's typed-number registrations (transaction-scoped advisory lock): the per-shop
        limit is a count, and two registrations counting at once would both pass it."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('allocation.manual'), hashtext(:shop_id))"),
            {"shop_id": shop_id},
        )

    async def open_manual_count(self, shop_id: str) -> int:
        """The shop's typed numbers not yet shipped (allocated or printed): ix_waybills_manual_open."""
        value = await self.session.scalar(
            select(func.count())
            .select_from(Waybill)
            .join(Pool, Pool.id == Waybill.pool_id)
            .where(
                Pool.shop_id == shop_id,
                # Literals, as ix_waybills_manual_open's predicate (see _LIVE).
                Waybill.source == literal_column("'manual'"),
                Waybill.status.in_([literal_column("1"), literal_column("2")]),
            )
        )
        return int(value or 0)

    async def set_status_many(self, waybill_ids: Sequence[int], status: WaybillStatus) -> None:
        if waybill_ids:
            await self.session.execute(
                update(Waybill).where(Waybill.id.in_(list(waybill_ids))).values(**_status_values(status))
            )

    async def set_status(self, waybill_id: int, status: WaybillStatus, *, released: bool = False) -> None:
        """``released``: back to the pool from an order (the order is cleared, and the number is no longer
        refundable as unused)."""
        values = _status_values(status)
        if released:
            values |= {"order_ref": None, "allocated_at": None, "released_at": func.now()}
        await self.session.execute(update(Waybill).where(Waybill.id == waybill_id).values(**values))

    async def add_manual(
        self, *, number: str, carrier: str, pool_id: int, order_ref: str, expires_at: datetime
    ) -> bool:
        result = await self.session.execute(
            pg_insert(Waybill)
            .values(
                number=number,
                carrier=carrier,
                pool_id=pool_id,
                status=WaybillStatus.ALLOCATED,
                order_ref=order_ref,
                allocated_at=func.now(),
                expires_at=expires_at,
                source=WaybillSource.MANUAL,
            )
            .on_conflict_do_nothing()
            .returning(Waybill.id)
        )
        return result.first() is not None

    async def live_for_order(self, pool_id: int, order_ref: str) -> Waybill | None:
        return await self.session.scalar(
            select(Waybill).where(
                Waybill.pool_id == pool_id,
                Waybill.order_ref == order_ref,
                Waybill.status.in_([WaybillStatus.ALLOCATED, WaybillStatus.PRINTED, WaybillStatus.SHIPPED]),
            )
        )

    async def void_unused(self, purchase_id: str, limit: int | None = None) -> list[str]:
        """Refund path: void the purchase's unexpired numbers never handed out and return them. A released
        number is available again but not unused: it may have been given out while allocated, so it stays in
        the pool instead.

        All of them (``limit`` None): the update locks them, so an allocation racing it either got the row
        first or does not see it. At most ``limit``: the ones the pool would hand out last (latest expiry,
        then highest id: allocation takes the other end of ix_waybills_free), skipping rows an allocation
        holds this instant (it is taking them: not unused)."""
        unused = [
            Waybill.purchase_id == purchase_id,
            Waybill.status == WaybillStatus.AVAILABLE,
            Waybill.released_at.is_(None),
            Waybill.expires_at > func.now(),
        ]
        if limit is not None:
            picked = (
                select(Waybill.id)
                .where(*unused)
                .order_by(Waybill.expires_at.desc(), Waybill.id.desc())
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            unused = [Waybill.id.in_(picked)]
        result = await self.session.execute(
            update(Waybill)
            .where(*unused)
            .values(status=WaybillStatus.VOIDED, updated_at=func.now())
            .returning(Waybill.number)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    async def unused_count(self, purchase_id: str) -> int:
        """The purchase's numbers a refund would void now (as ``void_unused``)."""
        value = await self.session.scalar(
            select(func.count())
            .select_from(Waybill)
            .where(
                Waybill.purchase_id == purchase_id,
                Waybill.status == WaybillStatus.AVAILABLE,
                Waybill.released_at.is_(None),
                Waybill.expires_at > func.now(),
            )
        )
        return int(value or 0)

    async def extend(self, purchase_id: str, days: int) -> int:
        """Push back expiry of the purchase's numbers that can still be used."""
        result = await self.session.execute(
            update(Waybill)
            .where(
                Waybill.purchase_id == purchase_id,
                Waybill.status.in_([WaybillStatus.AVAILABLE, WaybillStatus.ALLOCATED]),
                Waybill.expires_at > func.now(),
            )
            .values(expires_at=Waybill.expires_at + timedelta(days=days), updated_at=func.now())
            .returning(Waybill.id)
        )
        return len(result.all())

    async def expire_due(self, limit: int) -> int:
        """Expire available numbers past validity, a bounded batch at a time."""
        due = (
            select(Waybill.id)
            .where(Waybill.status == WaybillStatus.AVAILABLE, Waybill.expires_at <= func.now())
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(
            update(Waybill)
            .where(Waybill.id.in_(due))
            .values(status=WaybillStatus.EXPIRED, updated_at=func.now())
            .returning(Waybill.id)
        )
        return len(result.all())


def _status_values(status: WaybillStatus) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status, "updated_at": func.now()}
    if prints_label(status):
        values["ever_printed"] = True  # a label may exist from now on, whatever happens to the row later
    return values
