"""Concurrent single allocations of one pool, coalesced into one statement (group commit).

At peak most of a single allocation's cost is per statement, not per number: PostgreSQL parses, executes and
commits (a WAL flush) once per statement, asyncpg and the pool spend their Python once per call. So requests for
the same pool that arrive while a statement for that pool is in flight wait for it, and then go together in the
next one (ALLOCATE_COALESCED: one round trip, one transaction). The window is the in-flight statement itself, so
it adapts to load: an idle pool's request goes out at once, on the single statement, with no timer and no task;
the busier the pool, the more requests each statement carries (up to ``max_batch``). One statement in flight
per pool by default; one in flight longer than ``stall_s`` (its backend descheduled, a lock) stops holding the
pool's next requests back, which then go out beside it, so a stall costs its own callers, not everyone's.

What each caller sees is what the single path gives it: its own order's number; the same order from two callers
gets one number, ``created`` for one of them; "no stock" only after the single path's re-looks (the rows a
statement could not take may be locked by another in flight for these very orders). A flush runs in a task of
its own: a caller cancelled while it waits is taken off the queue (no number is taken for it); one cancelled once
its flush has started leaves the number on its order, where a retry with the same order id finds it. An error of
the statement (the database is down) is every one of its callers' error.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from itertools import islice

from services.allocation.metrics import ALLOCATION_FLUSH_SIZE
from services.allocation.repository.statements import AllocatedRow, AllocationStatements

Waiters = dict[str, list["asyncio.Future[AllocatedRow | None]"]]


@dataclass
class _Lane:
    """One pool's queue: the orders waiting for the next statement, and how many statements are in flight."""

    pool_id: int
    waiting: Waiters = field(default_factory=dict)  # order -> its callers, in arrival order
    sent: list[float] = field(default_factory=list)  # loop time each statement in flight went out, oldest first


class Coalescer:
    """Per process; its lanes (one per pool) live on the process's event loop."""

    def __init__(
        self,
        statements: AllocationStatements,
        *,
        max_batch: int = 256,
        in_flight: int = 1,
        stall_s: float = 0.01,
        stalled_in_flight: int = 4,
    ) -> None:
        self.statements = statements
        self.max_batch = max_batch
        self.max_in_flight = in_flight
        # A statement in flight longer than stall_s (its backend descheduled, a lock, a slow disk) would hold
        # every caller of its pool behind it, where separate statements would each hold one: past it, the
        # next statement goes out beside it, up to stalled_in_flight.
        self.stall_s = stall_s
        self.stalled_in_flight = max(stalled_in_flight, in_flight)
        self.flushes = 0  # statements sent (tests and benches read it)
        self._lanes: dict[int, _Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # held so a running flush is never garbage-collected

    def _may_send(self, lane: _Lane, now: float) -> bool:
        """Room for one more statement: fewer than in_flight, or every one in flight is stalled."""
        n = len(lane.sent)
        return n < self.max_in_flight or (n < self.stalled_in_flight and now - lane.sent[-1] > self.stall_s)

    async def allocate(self, pool_id: int, order_ref: str) -> AllocatedRow | None:
        """What AllocationStatements.allocate_one answers, through the pool's lane."""
        lane = self._lanes.get(pool_id)
        if lane is None:
            lane = self._lanes[pool_id] = _Lane(pool_id)
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not lane.waiting and self._may_send(lane, now):
            # Nothing ahead of it: straight out on the caller's own task, as the single path does.
            lane.sent.append(now)
            self.flushes += 1
            ALLOCATION_FLUSH_SIZE.observe(1)
            try:
                found = await self.statements.allocate_coalesced(pool_id, [order_ref])
            finally:
                lane.sent.remove(now)
                self._start_flushes(lane)
            row = found.get(order_ref)
        else:
            future: asyncio.Future[AllocatedRow | None] = loop.create_future()
            lane.waiting.setdefault(order_ref, []).append(future)
            self._start_flushes(lane)  # at once only if those in flight are stalled
            try:
                row = await future
            except asyncio.CancelledError:
                self._withdraw(lane, order_ref, future)
                raise
        if row is None:
            # Not found in its statement: the pool is dry, or what is left is locked, maybe for this very order
            # by a statement in flight. The single path looks again after short pauses before saying so.
            return await self.statements.allocate_one(pool_id, order_ref)
        return row

    def _withdraw(self, lane: _Lane, order_ref: str, future: asyncio.Future[AllocatedRow | None]) -> None:
        """A cancelled caller whose flush has not taken it yet leaves the queue: no number is taken for it."""
        callers = lane.waiting.get(order_ref)
        if callers is None or future not in callers:
            return  # its flush has it: the number stays on the order
        callers.remove(future)
        if not callers:
            del lane.waiting[order_ref]

    def _start_flushes(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while lane.waiting and self._may_send(lane, now):
            batch: Waiters = {}
            for order_ref in list(islice(lane.waiting, self.max_batch)):
                batch[order_ref] = lane.waiting.pop(order_ref)
            lane.sent.append(now)
            self.flushes += 1
            ALLOCATION_FLUSH_SIZE.observe(len(batch))
            task = loop.create_task(self._flush(lane, batch, now))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self, lane: _Lane, batch: Waiters, sent: float) -> None:
        try:
            found = await self.statements.allocate_coalesced(lane.pool_id, sorted(batch))
        except BaseException as exc:
            for callers in batch.values():
                for future in callers:
                    if future.done():
                        continue
                    if isinstance(exc, asyncio.CancelledError):
                        future.cancel()  # the process is stopping
                    else:
                        future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            lane.sent.remove(sent)
            self._start_flushes(lane)
        for order_ref, callers in batch.items():
            row = found.get(order_ref)
            for i, future in enumerate(callers):
                if future.done():
                    continue  # cancelled after its flush began: its number stays on its order
                # Two callers of one order: one number, created for the first (as two racing requests see it).
                future.set_result(row if i == 0 or row is None else replace(row, created=False))

    async def aclose(self) -> None:
        """Let the flushes in flight finish (their numbers are already on their orders)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
