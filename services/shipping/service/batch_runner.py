"""Shipping a batch: chunks that workers claim in the database (a lease they keep renewing), so a worker
killed mid-chunk leaves a lapsed lease and another worker redoes the chunk.

Redoing is safe because every step is idempotent: an order is claimed for a batch item by moving it
from paid to waybill_assigned under its row lock (an order another batch or request already took is
skipped, ``batch_claims``); allocation returns the same number for the same order, and a shipment already
created is not created again (``batch_numbers``); a shipment already confirmed is not sent again
(``batch_confirmations``); the database refuses a second live shipment for an order or a number.

Leases are short (``batch_lease_s``, 5 s) and renewed by a heartbeat while the chunk is worked on, so a dead
holder is noticed within seconds and a live slow one keeps its chunk; each renewal is conditional on the claim
still being its own (a fencing token), so a holder whose lease lapsed stops rather than working beside its
successor. The chunk's confirmations are claimed on the same lease and renewed with it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from runtime.logging import get_logger
from services.shipping.metrics import BATCH_CHUNK_SECONDS
from services.shipping.repository.batches import BatchRepository, ChunkClaim
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.resources import ShippingResources
from services.shipping.service.batch_claims import claim_orders
from services.shipping.service.batch_confirmations import confirm_chunk
from services.shipping.service.batch_numbers import assign_numbers
from services.shipping.service.batches import BatchRun

log = get_logger(__name__)

# Beats per lease: a holder may miss all but one of them (a loaded machine, a slow statement) and keep it.
HEARTBEATS_PER_LEASE = 5
# Chunks a process_batch job starts for this long; a chunk is seconds to a few minutes (500 confirmations at 32
# in flight, each within the marketplace's 10 s timeout), so a job ends well inside its 300 s timeout.
BATCH_RUN_BUDGET_S = 120.0


@dataclass
class ChunkLease:
    """The chunk a worker holds and the confirmations it claimed for it, renewed together by its heartbeat
    (the confirmations' leases run with the chunk's, so a dead holder's lapse together)."""

    claim: ChunkClaim
    lease_s: float
    confirming: dict[str, int] = field(default_factory=dict)  # shipment id: its attempts when claimed
    lost: bool = False


@dataclass(frozen=True)
class _Claimed:
    run: BatchRun
    claim: ChunkClaim


class ChunkRunner:
    """Processes the claimed chunks of one batch until none is left."""

    def __init__(self, res: ShippingResources, batch_id: str, budget_s: float | None = None) -> None:
        self.res = res
        self.lease_s = res.settings.batch_lease_s
        self.batch_id = batch_id
        self.budget_s = budget_s

    async def run(self) -> int:
        """Chunks until none is left, or until the budget is spent: then a new job (after this one's commit)
        takes the runner's place, so no job runs long."""
        done = 0
        t0 = time.monotonic()
        while True:
            claimed = await self._claim_chunk()
            if claimed is None:
                return done
            if await self.chunk(claimed.run, claimed.claim):
                done += 1
            if self.budget_s is not None and time.monotonic() - t0 > self.budget_s:
                async with self.res.transaction() as uow:
                    uow.enqueue("process_batch", batch_id=self.batch_id)
                return done

    async def _claim_chunk(self) -> _Claimed | None:
        async with self.res.transaction() as uow:
            repo = BatchRepository(uow.session)
            batch = await repo.get(self.batch_id)
            if batch is None:
                return None
            run = BatchRun(self.res, self.batch_id, batch.shop_id, batch.carrier)
            claim = await repo.claim_chunk(self.batch_id, self.lease_s)
        if claim is None:
            async with self.res.transaction() as uow:
                await BatchRepository(uow.session).complete_if_done(self.batch_id)
            return None
        if claim.token > 1:
            # Its earlier holder stopped renewing (killed, or cut off from the database): redone from here.
            log.warning("batch_chunk_taken_over", batch_id=self.batch_id, chunk_no=claim.chunk_no, claims=claim.token)
        return _Claimed(run, claim)

    async def _heartbeat(self, lease: ChunkLease, work: asyncio.Task[None]) -> None:
        """Renew the lease while the chunk is worked on: a live worker, however slow, keeps it; a dead one's
        lapses ``lease_s`` after its last beat. A lease found taken over stops the work (the new holder redoes
        the chunk; every step is idempotent)."""
        while True:
            await asyncio.sleep(max(0.5, self.lease_s / HEARTBEATS_PER_LEASE))
            try:
                async with self.res.transaction() as uow:
                    held = await BatchRepository(uow.session).renew(lease.claim, self.lease_s)
                    if held:
                        await ShipmentRepository(uow.session).renew_claims(lease.confirming, self.lease_s)
            except Exception as exc:  # the database away for a moment: the next beat tries again
                log.warning("batch_lease_renewal_failed", batch_id=self.batch_id, error=repr(exc)[:200])
                continue
            if not held:
                log.warning("batch_lease_lost", batch_id=self.batch_id, chunk_no=lease.claim.chunk_no)
                lease.lost = True
                work.cancel()
                return

    async def chunk(self, run: BatchRun, claim: ChunkClaim) -> bool:
        """Work the chunk under its lease; False when the lease was lost to another worker on the way."""
        lease = ChunkLease(claim, self.lease_s)
        work = asyncio.create_task(self._steps(run, lease))
        beat = asyncio.create_task(self._heartbeat(lease, work))
        try:
            await work
        except asyncio.CancelledError:
            if not lease.lost:
                raise  # this job itself is being cancelled (its timeout, a shutdown)
            return False
        finally:
            beat.cancel()
            work.cancel()
        return True

    async def _steps(self, run: BatchRun, lease: ChunkLease) -> None:
        chunk_no = lease.claim.chunk_no
        t0 = time.perf_counter()
        await claim_orders(run, chunk_no)
        t1 = time.perf_counter()
        await assign_numbers(run, chunk_no)
        t2 = time.perf_counter()
        timings = await confirm_chunk(run, lease)
        t3 = time.perf_counter()
        async with self.res.transaction() as uow:
            await BatchRepository(uow.session).finish_chunk(lease.claim)
        BATCH_CHUNK_SECONDS.observe(time.perf_counter() - t0)
        log.warning(
            "batch_chunk_done",
            batch_id=self.batch_id,
            chunk_no=chunk_no,
            claim_s=round(t1 - t0, 3),
            assign_s=round(t2 - t1, 3),
            confirm_s=round(t3 - t2, 3),
            **{k: round(v, 3) for k, v in timings.items()},
        )
