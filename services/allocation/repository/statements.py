"""The allocation hot path on a raw asyncpg pool: one round trip per allocation, no ORM, autocommit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import asyncpg

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

# Concurrent single allocations of one pool, coalesced (services.allocation.coalescer): one statement, one round
# trip, autocommit, for up to a few hundred distinct orders ($2, sorted by the caller). Each order's live number
# if it has one (one index probe per order, as BATCH_EXISTING); then as many free rows as orders still without
# one, locked with SKIP LOCKED, ``status = 0`` literal for the partial index; the k-th such order gets the k-th
# row. The pairing goes through two arrays unnested side by side, so the UPDATE's input is a function scan the
# planner estimates at a handful of rows and probes by primary key, in every plan, generic ones included: a join
# with the locked rows' CTE took its row estimate from the LIMIT (10% of the pool when not a constant) and
# hash-joined the whole table. Orders that got no row (the pool is dry, or what is left is locked) are absent
# from the answer; the caller looks again on the single path. Sorted orders insert their uq_waybills_order
# entries in one global order, so two overlapping statements wait on each other in one direction, never in a
# cycle.
ALLOCATE_COALESCED = """
WITH req AS MATERIALIZED (
    SELECT r.order_ref, r.ord FROM unnest($2::text[]) WITH ORDINALITY AS r(order_ref, ord)
), existing AS MATERIALIZED (
    SELECT req.order_ref, w.number, w.expires_at
    FROM req
    CROSS JOIN LATERAL (
        SELECT number, expires_at FROM allocation.waybills
        WHERE pool_id = $1 AND order_ref = req.order_ref AND status IN (1, 2, 3)
        LIMIT 1
    ) w
), need AS MATERIALIZED (
    SELECT req.order_ref, req.ord FROM req
    WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.order_ref = req.order_ref)
), picked AS MATERIALIZED (
    SELECT id FROM allocation.waybills
    WHERE pool_id = $1 AND status = 0 AND expires_at > now()
    ORDER BY expires_at, id
    LIMIT (SELECT count(*) FROM need)
    FOR UPDATE SKIP LOCKED
), taken AS (
    UPDATE allocation.waybills w
    SET status = 1, order_ref = u.order_ref, allocated_at = now(), updated_at = now()
    FROM unnest(ARRAY(SELECT id FROM picked), ARRAY(SELECT order_ref FROM need ORDER BY ord)) AS u(id, order_ref)
    WHERE w.id = u.id AND u.order_ref IS NOT NULL
    RETURNING w.order_ref, w.number, w.expires_at
)
SELECT order_ref, number, expires_at, false AS created FROM existing
UNION ALL
SELECT order_ref, number, expires_at, true AS created FROM taken
"""

# Before answering "no stock", look again after these pauses (seconds): see allocate_one.
SHORTAGE_WAITS = (0.01, 0.03, 0.1)

POOL_ID = "SELECT id FROM allocation.pools WHERE shop_id = $1 AND carrier = $2"

VACUUM_TIMEOUT_S = 300.0


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

    async def allocate_coalesced(self, pool_id: int, order_refs: list[str]) -> dict[str, AllocatedRow]:
        """One round trip for distinct orders, sorted (see ALLOCATE_COALESCED): each order's number, new or the
        one it had; orders that found no free row are left out. One order alone takes the single statement
        (the reference's own: no CTE to execute when idle)."""
        for _ in range(8):
            try:
                if len(order_refs) == 1:
                    row = await self.pool.fetchrow(ALLOCATE_ONE, pool_id, order_refs[0])
                    if row is None:
                        return {}
                    return {
                        order_refs[0]: AllocatedRow(order_refs[0], row["number"], row["expires_at"], row["created"])
                    }
                rows = await self.pool.fetch(ALLOCATE_COALESCED, pool_id, order_refs)
            except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
                # Another process's statement took one of these orders first: the retry reads its number.
                # (A deadlock needs an unsorted writer, e.g. the batch endpoint; the retry is the cure too.)
                continue
            return {
                r["order_ref"]: AllocatedRow(r["order_ref"], r["number"], r["expires_at"], r["created"]) for r in rows
            }
        raise RuntimeError("coalesced allocation kept colliding with concurrent requests")

    async def allocate_batch(self, pool_id: int, order_refs: list[str]) -> list[AllocatedRow]:
        """All orders get a number, or none does (ShortOfStock)."""
        waits = iter(SHORTAGE_WAITS)
        for _ in range(8):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await _batch_in_transaction(conn, pool_id, order_refs)
            except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
                # An overlapping request took one of these orders first; read it. Deadlock: a coalesced
                # statement (sorted orders) and this batch (the request's order) each waited for an order the
                # other had just taken; PostgreSQL aborted one, and its retry finds the other's numbers.
                continue
            except ShortOfStock:
                # Rows locked by an overlapping in-flight batch may be for these same orders.
                wait = next(waits, None)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
        raise RuntimeError("batch allocation kept colliding with concurrent requests")

    async def vacuum_waybills(self) -> None:
        """VACUUM cannot run in a transaction: on this pool's autocommit connections it can. Its own timeout:
        the pool's command timeout is sized for allocations, and a vacuum of a large table takes longer (arq's
        job timeout bounded it before it ran here)."""
        await self.pool.execute("VACUUM (SKIP_LOCKED) allocation.waybills", timeout=VACUUM_TIMEOUT_S)
