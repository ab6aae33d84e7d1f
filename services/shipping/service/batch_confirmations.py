"""Step 3 of a batch chunk: its confirmations, claimed in one statement, sent concurrently, finished in
bulk. Anything but a plain success goes to the confirm_shipment job, which knows every answer of the
marketplace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from runtime.logging import get_logger
from services.shipping.channels.taobao.protocol import Outcome, TopError
from services.shipping.metrics import BATCH_ORDERS
from services.shipping.models import ItemStatus
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.service import confirmation
from services.shipping.service.batches import BatchRun
from services.shipping.service.shipment_outcomes import back_to_pending, finish_confirmed
from shared.allocation import MarkState

log = get_logger(__name__)
T = TypeVar("T")

FINISH_PER_TRANSACTION = 500


@dataclass(frozen=True)
class _Send:
    shipment_id: str
    tid: str
    number: str
    carrier: str


@dataclass(frozen=True)
class _Sent:
    send: _Send
    ok: bool


@dataclass(frozen=True)
class _Retry:
    """A shipment the confirmation job takes over, after ``delay_s``."""

    shipment_id: str
    delay_s: float


@dataclass
class _Todo:
    session: str
    sends: list[_Send] = field(default_factory=list)
    retries: list[_Retry] = field(default_factory=list)


async def confirm_chunk(run: BatchRun, chunk_no: int) -> dict[str, float]:
    """Confirm the chunk's shipments; answers the seconds spent sending and finishing."""
    todo = await _claim(run, chunk_no)
    limit = asyncio.Semaphore(run.res.settings.batch_concurrency)
    t0 = time.perf_counter()
    results = await _gather(limit, [_send(run, todo.session, s) for s in todo.sends])
    t1 = time.perf_counter()
    await _finish(run, [r.send for r in results if r.ok])
    timings = {"send_s": t1 - t0, "finish_s": time.perf_counter() - t1}
    retries = [_Retry(r.send.shipment_id, 0.0) for r in results if not r.ok] + todo.retries
    if retries:
        async with run.res.transaction() as uow:
            for r in retries:
                # _defer_by goes to arq with the outbox row: the retry waits out the delay.
                uow.enqueue("confirm_shipment", shipment_id=r.shipment_id, _defer_by=r.delay_s)
    return timings


async def _gather(limit: asyncio.Semaphore, coros: Sequence[Awaitable[T]]) -> list[T]:
    async def limited(c: Awaitable[T]) -> T:
        async with limit:
            return await c

    return list(await asyncio.gather(*(limited(c) for c in coros)))


async def _claim(run: BatchRun, chunk_no: int) -> _Todo:
    lease_s = run.res.settings.confirm_lease_s
    async with run.res.transaction() as uow:
        batches = BatchRepository(uow.session)
        items = await batches.chunk_items(run.batch_id, chunk_no)
        ids = [i.shipment_id for i in items if i.status == ItemStatus.SHIPPING and i.shipment_id]
        # Claimed by this batch but cancelled before it got a shipment: nothing left to do for them.
        orphans = [i.seq for i in items if i.status == ItemStatus.SHIPPING and not i.shipment_id]
        await batches.set_items(
            run.batch_id, orphans, status=ItemStatus.SKIPPED, message="order changed while the batch ran"
        )
        BATCH_ORDERS.labels(ItemStatus.SKIPPED.value).inc(len(orphans))
        claimed = await ShipmentRepository(uow.session).claim_many(ids, lease_s)
        tids = await OrderRepository(uow.session).external_ids([s.order_id for s in claimed])
        shop = await SettingsRepository(uow.session).get(run.shop_id)
    sends = [_Send(s.id, tids[s.order_id], s.number, s.carrier) for s in claimed]
    # Held by another worker: the job looks again once that claim may have lapsed.
    busy = [_Retry(sid, lease_s) for sid in set(ids) - {s.shipment_id for s in sends}]
    session = shop.session if shop else None
    if not session:
        # The job fails them with the reason (no_session).
        return _Todo("", [], busy + [_Retry(s.shipment_id, 0.0) for s in sends])
    return _Todo(session, sends, busy)


async def _finish(run: BatchRun, sent: Sequence[_Send]) -> None:
    for start in range(0, len(sent), FINISH_PER_TRANSACTION):
        async with run.res.transaction() as uow:
            await finish_confirmed(uow, [s.shipment_id for s in sent[start : start + FINISH_PER_TRANSACTION]])
            if start == 0:
                # Allocation's bookkeeping follows in a job: the marketplace has confirmed, the chunk is done.
                uow.enqueue(
                    "mark_numbers",
                    shop_id=run.shop_id,
                    status=MarkState.SHIPPED.value,
                    pairs=[[s.number, s.tid] for s in sent],
                )


async def _send(run: BatchRun, session: str, s: _Send) -> _Sent:
    marketplace = run.res.marketplace
    try:
        await confirmation.send(marketplace, session, s.tid, s.number, s.carrier)
        ok = True
    except TopError as exc:
        # A chunk redone after a crash meets its own earlier confirmations as B04: settle those here rather
        # than handing each to a job one at a time.
        ok = exc.outcome is Outcome.ALREADY_SHIPPED and await _shipped_with(run, session, s)
        if not ok:
            log.info("batch_confirm_deferred", shipment_id=s.shipment_id, error=str(exc)[:200])
    except Exception as exc:  # the job takes it from here, with the full handling of each answer
        log.info("batch_confirm_deferred", shipment_id=s.shipment_id, error=str(exc)[:200])
        ok = False
    if not ok:
        async with run.res.transaction() as uow:
            await back_to_pending(uow, s.shipment_id, "deferred", "handed to the confirmation job")
    return _Sent(s, ok)


async def _shipped_with(run: BatchRun, session: str, s: _Send) -> bool:
    try:
        return await confirmation.shipped_with(run.res.marketplace, session, s.tid, s.number)
    except Exception as exc:  # the job asks again
        log.info("batch_b04_check_failed", shipment_id=s.shipment_id, error=str(exc)[:200])
        return False
