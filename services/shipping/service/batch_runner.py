"""Shipping a batch: chunks that workers claim in the database (a lease they keep renewing), so a worker
killed mid-chunk leaves a lapsed lease and another worker redoes the chunk.

Redoing is safe because every step is idempotent: an order is claimed for a batch item by moving it
from paid to waybill_assigned under its row lock (an order another batch or request already took is
skipped, ``batch_claims``); allocation returns the same number for the same order, and a shipment already
created is not created again (``batch_numbers``); a shipment already confirmed is not sent again
(``batch_confirmations``); the database refuses a second live shipment for an order or a number.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from runtime.logging import get_logger
from services.shipping.metrics import BATCH_CHUNK_SECONDS
from services.shipping.repository.batches import BatchRepository
from services.shipping.resources import ShippingResources
from services.shipping.service.batch_claims import claim_orders
from services.shipping.service.batch_confirmations import confirm_chunk
from services.shipping.service.batch_numbers import assign_numbers
from services.shipping.service.batches import BatchRun

log = get_logger(__name__)


@dataclass(frozen=True)
class _Claimed:
    run: BatchRun
    chunk_no: int


class ChunkRunner:
    """Processes the claimed chunks of one batch until none is left."""

    def __init__(self, res: ShippingResources, batch_id: str) -> None:
        self.res = res
        self.lease_s = res.settings.batch_lease_s
        self.batch_id = batch_id

    async def run(self) -> int:
        done = 0
        while True:
            claimed = await self._claim_chunk()
            if claimed is None:
                return done
            await self.chunk(claimed.run, claimed.chunk_no)
            done += 1

    async def _claim_chunk(self) -> _Claimed | None:
        async with self.res.transaction() as uow:
            repo = BatchRepository(uow.session)
            batch = await repo.get(self.batch_id)
            if batch is None:
                return None
            run = BatchRun(self.res, self.batch_id, batch.shop_id, batch.carrier)
            chunk_no = await repo.claim_chunk(self.batch_id, self.lease_s)
        if chunk_no is None:
            async with self.res.transaction() as uow:
                await BatchRepository(uow.session).complete_if_done(self.batch_id)
            return None
        return _Claimed(run, chunk_no)

    async def _heartbeat(self, chunk_no: int) -> None:
        while True:
            await asyncio.sleep(max(0.5, self.lease_s / 3))
            async with self.res.transaction() as uow:
                await BatchRepository(uow.session).renew(self.batch_id, chunk_no, self.lease_s)

    async def chunk(self, run: BatchRun, chunk_no: int) -> None:
        beat = asyncio.create_task(self._heartbeat(chunk_no))
        t0 = time.perf_counter()
        try:
            await claim_orders(run, chunk_no)
            t1 = time.perf_counter()
            await assign_numbers(run, chunk_no)
            t2 = time.perf_counter()
            timings = await confirm_chunk(run, chunk_no)
            t3 = time.perf_counter()
            async with self.res.transaction() as uow:
                await BatchRepository(uow.session).finish_chunk(self.batch_id, chunk_no)
        finally:
            beat.cancel()
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
