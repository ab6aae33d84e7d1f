"""Every allocation query lives here: ORM/Core on the session for ordinary paths, raw asyncpg
statements for the allocation hot path (one round trip, no ORM: see ``AllocationStatements``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import func, insert, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.allocation.models import (
    ApiKey,
    Carrier,
    CarrierPackage,
    LedgerEntry,
    Pool,
    Purchase,
    QuarantineIncident,
    Shop,
    StockEvent,
    Waybill,
    WaybillStatus,
)

S = WaybillStatus


# Rows of one multi-row INSERT of numbers (7 parameters each, under asyncpg's 32,767).
_INSERT_ROWS = 4000


class ShopRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_shop(self, shop: Shop) -> Shop:
        self.session.add(shop)
        await self.session.flush()
        return shop

    async def get_shop(self, shop_id: str) -> Shop | None:
        return await self.session.get(Shop, shop_id)

    async def list_shops(self, limit: int, after: str | None) -> Sequence[Shop]:
        """Shops in id order, the page after ``after`` (keyset paging: stable while shops are added)."""
        query = select(Shop).order_by(Shop.id).limit(limit)
        if after is not None:
            query = query.where(Shop.id > after)
        return (await self.session.scalars(query)).all()

    async def add_key(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def revoke_key(self, shop_id: str, key_id: str) -> bool:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.shop_id == shop_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
            .returning(ApiKey.id)
        )
        return result.first() is not None


class LedgerRepository:
    """Balances change only here, and only together with a ledger row."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(
        self, shop_id: str, amount_cents: int, kind: str, reference: str | None = None, note: str | None = None
    ) -> int | None:
        """Add ``amount_cents`` (negative to debit) unless the balance would go negative.

        The conditional UPDATE takes the shop row's lock, so racing debits are serialised and each
        sees the balance the previous one left. Returns the new balance, or None if refused.
        """
        new_balance = (
            await self.session.execute(
                update(Shop)
                .where(Shop.id == shop_id, Shop.balance_cents + amount_cents >= 0)
                .values(balance_cents=Shop.balance_cents + amount_cents)
                .returning(Shop.balance_cents)
            )
        ).scalar_one_or_none()
        if new_balance is None:
            return None
        await self.session.execute(
            insert(LedgerEntry).values(
                shop_id=shop_id,
                amount_cents=amount_cents,
                balance_after_cents=new_balance,
                kind=kind,
                reference=reference,
                note=note,
            )
        )
        return int(new_balance)

    async def balance(self, shop_id: str) -> int | None:
        value = await self.session.scalar(select(Shop.balance_cents).where(Shop.id == shop_id))
        return None if value is None else int(value)

    async def total(self, shop_id: str) -> int:
        value = await self.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(LedgerEntry.shop_id == shop_id)
        )
        return int(value or 0)

    async def recent(self, shop_id: str, limit: int) -> Sequence[LedgerEntry]:
        rows = await self.session.scalars(
            select(LedgerEntry).where(LedgerEntry.shop_id == shop_id).order_by(LedgerEntry.id.desc()).limit(limit)
        )
        return rows.all()


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
            )
            .on_conflict_do_nothing()
            .returning(CarrierPackage.id)
        )
        return result.first() is not None

    async def update_carrier(self, code: str, values: dict[str, Any]) -> None:
        await self.session.execute(update(Carrier).where(Carrier.code == code).values(**values, updated_at=func.now()))


class PoolRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(self, shop_id: str, carrier: str) -> Pool:
        await self.session.execute(pg_insert(Pool).values(shop_id=shop_id, carrier=carrier).on_conflict_do_nothing())
        pool = await self.get(shop_id, carrier)
        assert pool is not None
        return pool

    async def get(self, shop_id: str, carrier: str) -> Pool | None:
        return await self.session.scalar(select(Pool).where(Pool.shop_id == shop_id, Pool.carrier == carrier))

    async def by_id(self, pool_id: int) -> Pool | None:
        return await self.session.get(Pool, pool_id)

    async def for_shop(self, shop_id: str) -> Sequence[Pool]:
        return (await self.session.scalars(select(Pool).where(Pool.shop_id == shop_id).order_by(Pool.carrier))).all()

    async def all_with_threshold(self) -> Sequence[Pool]:
        return (await self.session.scalars(select(Pool).where(Pool.low_stock_threshold > 0).order_by(Pool.id))).all()

    async def counts(self, pool_ids: Sequence[int], soon: datetime) -> dict[int, dict[str, int]]:
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
        out: dict[int, dict[str, int]] = {pid: {} for pid in pool_ids}
        for pool_id, status, count, expiring in rows:
            out[pool_id][S(status).name.lower()] = int(count)
            if status == S.AVAILABLE:
                out[pool_id]["expiring_soon"] = int(expiring)
        return out

    async def available(self, pool_id: int) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(Waybill)
            .where(Waybill.pool_id == pool_id, Waybill.status == S.AVAILABLE, Waybill.expires_at > func.now())
        )
        return int(value or 0)

    async def stock_by_carrier(self, soon: datetime) -> tuple[dict[str, int], dict[str, int]]:
        """Available unexpired numbers per carrier across shops, and those expiring before ``soon``."""
        rows = await self.session.execute(
            select(Waybill.carrier, func.count(), func.count().filter(Waybill.expires_at < soon))
            .where(Waybill.status == S.AVAILABLE, Waybill.expires_at > func.now())
            .group_by(Waybill.carrier)
        )
        available, expiring = {}, {}
        for carrier, count, soon_count in rows:
            available[carrier] = int(count)
            expiring[carrier] = int(soon_count)
        return available, expiring

    async def set_low_stock_since(self, pool_id: int, since: datetime | None) -> None:
        await self.session.execute(update(Pool).where(Pool.id == pool_id).values(low_stock_since=since))

    async def add_event(self, event: StockEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def events(self, shop_id: str, limit: int) -> Sequence[StockEvent]:
        return (
            await self.session.scalars(
                select(StockEvent).where(StockEvent.shop_id == shop_id).order_by(StockEvent.id.desc()).limit(limit)
            )
        ).all()


class PurchaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_if_new(self, purchase: Purchase) -> bool:
        """Insert under a savepoint; False when a concurrent request already used the key (the
        unique constraint waits for that transaction, so the winner is readable afterwards)."""
        try:
            async with self.session.begin_nested():
                self.session.add(purchase)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def get(self, purchase_id: str, *, for_update: bool = False) -> Purchase | None:
        query = select(Purchase).where(Purchase.id == purchase_id)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def by_key(self, shop_id: str, key: str) -> Purchase | None:
        return await self.session.scalar(
            select(Purchase).where(Purchase.shop_id == shop_id, Purchase.idempotency_key == key)
        )

    async def recent(self, shop_id: str, limit: int) -> Sequence[Purchase]:
        return (
            await self.session.scalars(
                select(Purchase).where(Purchase.shop_id == shop_id).order_by(Purchase.created_at.desc()).limit(limit)
            )
        ).all()

    async def pending_for_pool(self, pool_id: int) -> int:
        value = await self.session.scalar(
            select(func.count()).select_from(Purchase).where(Purchase.pool_id == pool_id, Purchase.status == "pending")
        )
        return int(value or 0)


@dataclass(frozen=True)
class InsertResult:
    inserted: int
    # Numbers another live row holds (not this purchase's own from an earlier attempt).
    conflicting: list[str]


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
        status: S = S.AVAILABLE,
    ) -> InsertResult:
        """Store issued numbers (available unless told otherwise); a number another live row holds is left
        alone and reported as conflicting (the unique index on live numbers decides, not a prior read)."""
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
                            "source": "courier",
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
        return InsertResult(len(inserted), [n for n in others if n not in ours])

    async def quarantine_available(self, numbers: Sequence[str]) -> list[str | None]:
        """An available number that turned up again can no longer be trusted: take it out. Returns the
        purchase of each row taken out (None for a number seeded without one)."""
        result = await self.session.execute(
            update(Waybill)
            .where(Waybill.number.in_(numbers), _LIVE, Waybill.status == S.AVAILABLE)
            .values(status=S.QUARANTINED, updated_at=func.now())
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

    async def lock_live(self, numbers: Sequence[str]) -> list[tuple[Waybill, str]]:
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
        return [(w, shop_id) for w, shop_id in rows.all()]

    async def supersede(self, waybill_ids: Sequence[int]) -> None:
        """Take rows out of the live-number index; order_ref stays as the record of what the shop had typed."""
        if waybill_ids:
            await self.session.execute(
                update(Waybill)
                .where(Waybill.id.in_(list(waybill_ids)))
                .values(status=S.SUPERSEDED, updated_at=func.now())
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

    async def set_status_many(self, waybill_ids: Sequence[int], status: S) -> None:
        if waybill_ids:
            await self.session.execute(
                update(Waybill).where(Waybill.id.in_(list(waybill_ids))).values(**_status_values(status))
            )

    async def set_status(self, waybill_id: int, status: S, *, released: bool = False) -> None:
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
                status=S.ALLOCATED,
                order_ref=order_ref,
                allocated_at=func.now(),
                expires_at=expires_at,
                source="manual",
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
                Waybill.status.in_([S.ALLOCATED, S.PRINTED, S.SHIPPED]),
            )
        )

    async def void_unused(self, purchase_id: str) -> int:
        """Refund path: void the purchase's unexpired numbers never handed out (locking them, so an
        allocation racing this either got the row first or does not see it). A released number is available
        again but not unused: it may have been given out while allocated, so it stays in the pool instead."""
        result = await self.session.execute(
            update(Waybill)
            .where(
                Waybill.purchase_id == purchase_id,
                Waybill.status == S.AVAILABLE,
                Waybill.released_at.is_(None),
                Waybill.expires_at > func.now(),
            )
            .values(status=S.VOIDED, updated_at=func.now())
            .returning(Waybill.number)
        )
        return len(result.all())

    async def voided_numbers(self, purchase_id: str, since: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(Waybill.number).where(
                Waybill.purchase_id == purchase_id, Waybill.status == S.VOIDED, Waybill.updated_at >= since
            )
        )
        return list(rows)

    async def extend(self, purchase_id: str, days: int) -> int:
        """Push back expiry of the purchase's numbers that can still be used."""
        result = await self.session.execute(
            update(Waybill)
            .where(
                Waybill.purchase_id == purchase_id,
                Waybill.status.in_([S.AVAILABLE, S.ALLOCATED]),
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
            .where(Waybill.status == S.AVAILABLE, Waybill.expires_at <= func.now())
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(
            update(Waybill)
            .where(Waybill.id.in_(due))
            .values(status=S.EXPIRED, updated_at=func.now())
            .returning(Waybill.id)
        )
        return len(result.all())

    async def state_counts(self, pool_id: int) -> dict[str, int]:
        rows = await self.session.execute(
            select(Waybill.status, func.count()).where(Waybill.pool_id == pool_id).group_by(Waybill.status)
        )
        return {S(status).name.lower(): int(n) for status, n in rows}


def _status_values(status: S) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status, "updated_at": func.now()}
    if status in (S.PRINTED, S.SHIPPED):
        values["ever_printed"] = True  # a label may exist from now on, whatever happens to the row later
    return values


class DbKeyResolver:
    """Resolves shop keys straight from the table (allocation owns shops)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(ApiKey.shop_id).where(
                        ApiKey.id == key_id, ApiKey.secret_hash == secret_hash, ApiKey.revoked_at.is_(None)
                    )
                )
            ).first()
        return None if row is None else str(row.shop_id)


# --- the hot path ----------------------------------------------------------------------------
#
# One statement, one round trip, autocommit: look for the order's live number; if there is none,
# take the free number that expires soonest, skipping rows other transactions hold (SKIP LOCKED),
# and give it to the order. ``status = 0`` is a literal so the partial free-list index is usable
# by every plan, generic ones included. The partial unique index uq_waybills_order makes two
# racing requests for the same order collide: the loser gets a unique violation and repeats,
# finding the winner's number.

ALLOCATE_ONE = """
WITH existing AS (
    SELECT number, expires_at FROM allocation.waybills
    WHERE pool_id = $1 AND order_ref = $2 AND status IN (1, 2, 3)
), picked AS (
    SELECT id FROM allocation.waybills
    WHERE pool_id = $1 AND status = 0 AND expires_at > now()
      AND NOT EXISTS (SELECT 1 FROM existing)
    ORDER BY expires_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE allocation.waybills w
    SET status = 1, order_ref = $2, allocated_at = now(), updated_at = now()
    FROM picked WHERE w.id = picked.id
    RETURNING w.number, w.expires_at
)
SELECT number, expires_at, false AS created FROM existing
UNION ALL
SELECT number, expires_at, true AS created FROM taken
"""

# Batches take three short statements in one transaction (what the orders already have; lock
# enough free rows; give them out), each with a plan that cannot go wrong: a single statement with
# a computed LIMIT let the planner guess 30,000 rows and hash-join the whole table.
# One index probe per order (LATERAL ... LIMIT 1): with "order_ref = ANY($2)" the planner may scan
# every allocated number of the pool, which grows without bound.
BATCH_EXISTING = """
SELECT r.order_ref, w.number, w.expires_at
FROM unnest($2::text[]) AS r(order_ref)
CROSS JOIN LATERAL (
    SELECT number, expires_at FROM allocation.waybills
    WHERE pool_id = $1 AND order_ref = r.order_ref AND status IN (1, 2, 3)
    LIMIT 1
) w
"""

BATCH_LOCK_FREE = """
SELECT id FROM allocation.waybills
WHERE pool_id = $1 AND status = 0 AND expires_at > now()
ORDER BY expires_at, id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

BATCH_TAKE = """
UPDATE allocation.waybills w
SET status = 1, order_ref = u.order_ref, allocated_at = now(), updated_at = now()
FROM unnest($1::bigint[], $2::text[]) AS u(id, order_ref)
WHERE w.id = u.id
RETURNING w.order_ref, w.number, w.expires_at
"""

# Before answering "no stock", look again after these pauses (seconds): see allocate_one.
SHORTAGE_WAITS = (0.01, 0.03, 0.1)

POOL_ID = "SELECT id FROM allocation.pools WHERE shop_id = $1 AND carrier = $2"


async def _batch_in_transaction(conn: asyncpg.Connection, pool_id: int, order_refs: list[str]) -> list[AllocatedRow]:
    existing = await conn.fetch(BATCH_EXISTING, pool_id, order_refs)
    have = {r["order_ref"] for r in existing}
    need = [o for o in order_refs if o not in have]
    rows = [AllocatedRow(r["order_ref"], r["number"], r["expires_at"], False) for r in existing]
    if not need:
        return rows
    ids = [r["id"] for r in await conn.fetch(BATCH_LOCK_FREE, pool_id, len(need))]
    if len(ids) < len(need):
        # Not enough stock: raising rolls back the transaction and releases the locks.
        raise ShortOfStock(len(need) - len(ids))
    taken = await conn.fetch(BATCH_TAKE, ids, need)
    return rows + [AllocatedRow(r["order_ref"], r["number"], r["expires_at"], True) for r in taken]


class ShortOfStock(Exception):
    def __init__(self, missing: int) -> None:
        super().__init__(f"short by {missing}")
        self.missing = missing


@dataclass(frozen=True)
class AllocatedRow:
    order_ref: str
    number: str
    expires_at: datetime
    created: bool


async def skip_reset(_: asyncpg.Connection) -> None:
    """Pool release hook. asyncpg's default resets session state (advisory locks, cursors,
    LISTEN, SET) with an extra round trip on every release, doubling the hot path's round trips.
    The hot-path statements create no session state, so there is nothing to reset."""


class AllocationStatements:
    """The allocation hot path on a raw asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._pool_ids: dict[tuple[str, str], int] = {}

    async def pool_id(self, shop_id: str, carrier: str) -> int | None:
        key = (shop_id, carrier)
        cached = self._pool_ids.get(key)
        if cached is not None:
            return cached
        value = await self.pool.fetchval(POOL_ID, shop_id, carrier)
        if value is not None:
            # Pools are never deleted or renumbered, so the id can be cached for the process's life.
            self._pool_ids[key] = int(value)
        return None if value is None else int(value)

    async def allocate_one(self, pool_id: int, order_ref: str) -> AllocatedRow | None:
        waits = iter(SHORTAGE_WAITS)
        for _ in range(8):
            try:
                row = await self.pool.fetchrow(ALLOCATE_ONE, pool_id, order_ref)
            except asyncpg.UniqueViolationError:
                continue  # a concurrent request for the same order won; read its number
            if row is not None:
                return AllocatedRow(order_ref, row["number"], row["expires_at"], row["created"])
            # Nothing free that is not locked. The locked rows may be this very order's, taken by
            # a concurrent request that has not committed yet: look again before saying "empty".
            wait = next(waits, None)
            if wait is None:
                return None
            await asyncio.sleep(wait)
        raise RuntimeError(f"allocation for order {order_ref} kept colliding")

    async def allocate_batch(self, pool_id: int, order_refs: list[str]) -> list[AllocatedRow]:
        """All orders get a number, or none does (ShortOfStock)."""
        waits = iter(SHORTAGE_WAITS)
        for _ in range(8):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await _batch_in_transaction(conn, pool_id, order_refs)
            except asyncpg.UniqueViolationError:
                continue  # an overlapping request took one of these orders first; read it
            except ShortOfStock:
                # Rows locked by an overlapping in-flight batch may be for these same orders.
                wait = next(waits, None)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
        raise RuntimeError("batch allocation kept colliding with concurrent requests")
