"""Step 3 of a batch chunk: its confirmations, claimed in one statement, sent concurrently (each on its
order's channel and store: a batch may mix them), finished in groups as they are answered; the shop's own
orders are confirmed at once, with no marketplace. Anything but a plain success goes to the confirm_shipment
job, which knows every answer of every channel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from runtime.logging import get_logger
from services.shipping.channels.base import ChannelError, Refusal, StoreAccess
from services.shipping.channels.registry import Channels
from services.shipping.metrics import BATCH_ORDERS, CONFIRMATIONS
from services.shipping.models import ItemStatus
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.service import confirmation
from services.shipping.service.batches import BatchRun
from services.shipping.service.shipment_outcomes import (
    CONFIRMED_NOTE,
    OWN_CONFIRMED_NOTE,
    back_to_pending,
    finish_confirmed,
)
from services.shipping.service.stores import access
from shared.allocation import MarkState

if TYPE_CHECKING:
    from services.shipping.service.batch_runner import ChunkLease

log = get_logger(__name__)

FINISH_PER_TRANSACTION = 500
# Confirmed shipments finished together while the chunk's other confirmations are in flight.
FINISH_EVERY = 100


@dataclass(frozen=True)
class _Send:
    shipment_id: str
    tid: str
    number: str
    carrier: str
    channel: str
    store: StoreAccess | None = None  # None for the shop's own orders
    store_id: str | None = None  # the order's store, told to allocation with the marks


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
    sends: list[_Send] = field(default_factory=list)  # to a marketplace
    own: list[_Send] = field(default_factory=list)  # the shop's own orders: confirmed without one
    retries: list[_Retry] = field(default_factory=list)


async def confirm_chunk(run: BatchRun, lease: ChunkLease) -> dict[str, float]:
    """Confirm the chunk's shipments; answers the seconds spent sending and finishing. Confirmed ones are
    finished FINISH_EVERY at a time while the rest are still being sent: the batch shows progress as it goes
    (a chunk redone after a crash too), and the database's work overlaps the marketplace's."""
    todo = await _claim(run, lease)
    limit = asyncio.Semaphore(run.res.settings.batch_concurrency)
    answers: asyncio.Queue[_Sent] = asyncio.Queue()
    groups: asyncio.Queue[list[_Send] | None] = asyncio.Queue()
    failed: list[_Send] = []
    t0 = time.perf_counter()

    async def send(s: _Send) -> None:
        async with limit:
            answers.put_nowait(await _send(run, s))

    async def finisher() -> None:
        # One group at a time: a chunk holds one connection for its finishing, whatever its size.
        while (group := await groups.get()) is not None:
            await _finish(run, group, CONFIRMED_NOTE)
            for done in group:  # settled: the heartbeat has no lease of theirs to renew any more
                lease.confirming.pop(done.shipment_id, None)

    async with asyncio.TaskGroup() as tasks:
        finishing = tasks.create_task(finisher())
        for s in todo.sends:
            tasks.create_task(send(s))
        confirmed: list[_Send] = []
        for _ in todo.sends:
            answer = await answers.get()
            if not answer.ok:
                failed.append(answer.send)
                continue
            confirmed.append(answer.send)
            if len(confirmed) >= FINISH_EVERY:
                groups.put_nowait(confirmed)
                confirmed = []
        t1 = time.perf_counter()
        groups.put_nowait(confirmed)
        groups.put_nowait(None)
        await finishing
    CONFIRMATIONS.labels("own", "success").inc(len(todo.own))
    await _finish(run, todo.own, OWN_CONFIRMED_NOTE)
    timings = {"send_s": t1 - t0, "finish_s": time.perf_counter() - t1}
    retries = [_Retry(s.shipment_id, 0.0) for s in failed] + todo.retries
    if retries:
        async with run.res.transaction() as uow:
            for r in retries:
                # _defer_by goes to arq with the outbox row: the retry waits out the delay.
                uow.enqueue("confirm_shipment", shipment_id=r.shipment_id, _defer_by=r.delay_s)
    return timings


async def _claim(run: BatchRun, lease: ChunkLease) -> _Todo:
    # On the chunk's lease, not a confirmation job's: the chunk's heartbeat renews them, so a dead worker's
    # confirmations lapse with its chunk (seconds) rather than after confirm_lease_s.
    lease_s = lease.lease_s
    async with run.res.transaction() as uow:
        batches = BatchRepository(uow.session)
        if not await batches.renew(lease.claim, lease_s):
            return _Todo()  # taken over meanwhile: the new holder confirms them
        items = await batches.chunk_items(run.batch_id, lease.claim.chunk_no)
        ids = [i.shipment_id for i in items if i.status == ItemStatus.SHIPPING and i.shipment_id]
        # Claimed by this batch but cancelled before it got a shipment: nothing left to do for them.
        orphans = [i.seq for i in items if i.status == ItemStatus.SHIPPING and not i.shipment_id]
        await batches.set_items(
            run.batch_id, orphans, status=ItemStatus.SKIPPED, message="order changed while the batch ran"
        )
        BATCH_ORDERS.labels(ItemStatus.SKIPPED.value).inc(len(orphans))
        # At the same now() (the transaction's) as the chunk's renewal above: the two leases end together.
        claimed = await ShipmentRepository(uow.session).claim_many(ids, lease_s)
        lease.confirming.update({s.id: s.attempts for s in claimed})
        orders = await OrderRepository(uow.session).routes([s.order_id for s in claimed])
        stores = await StoreRepository(uow.session).by_ids(sorted({o.store_id for o in orders.values() if o.store_id}))
    todo = _Todo()
    for s in claimed:
        order = orders[s.order_id]
        send = _Send(s.id, order.external_id, s.number, s.carrier, order.channel, store_id=order.store_id)
        if Channels.is_own(order.channel):
            todo.own.append(send)
        elif (store := access(stores.get(order.store_id or ""))) is not None:
            todo.sends.append(replace(send, store=store))
        else:
            todo.retries.append(_Retry(s.id, 0.0))  # the job fails it with the reason (store_unbound)
    # Held by another worker: the job looks again once that claim may have lapsed.
    claimed_ids = {s.id for s in claimed}
    todo.retries += [_Retry(sid, lease_s) for sid in set(ids) - claimed_ids]
    return todo


async def _finish(run: BatchRun, sent: Sequence[_Send], note: str) -> None:
    for start in range(0, len(sent), FINISH_PER_TRANSACTION):
        async with run.res.transaction() as uow:
            part = [s.shipment_id for s in sent[start : start + FINISH_PER_TRANSACTION]]
            await finish_confirmed(uow, part, note)
            if start == 0:
                # Allocation's bookkeeping follows in a job: the marketplace has confirmed, the chunk is done.
                uow.enqueue(
                    "mark_numbers",
                    shop_id=run.shop_id,
                    status=MarkState.SHIPPED.value,
                    pairs=[[s.number, s.tid, s.store_id, s.channel] for s in sent],
                )


async def _send(run: BatchRun, s: _Send) -> _Sent:
    assert s.store is not None
    channel = run.res.channels.marketplace(s.channel)
    try:
        await confirmation.send(channel, s.store, s.tid, [s.number], s.carrier)
        ok = True
    except ChannelError as exc:
        # A chunk redone after a crash meets its own earlier confirmations as "already shipped": settle those
        # here rather than handing each to a job one at a time.
        ok = exc.refusal is Refusal.ALREADY_SHIPPED and await _shipped_with(run, s)
        if not ok:
            log.info("batch_confirm_deferred", shipment_id=s.shipment_id, error=str(exc)[:200])
    except Exception as exc:  # the job takes it from here, with the full handling of each answer
        log.info("batch_confirm_deferred", shipment_id=s.shipment_id, error=str(exc)[:200])
        ok = False
    if not ok:
        async with run.res.transaction() as uow:
            await back_to_pending(uow, s.shipment_id, "deferred", "handed to the confirmation job")
    return _Sent(s, ok)


async def _shipped_with(run: BatchRun, s: _Send) -> bool:
    assert s.store is not None
    try:
        return await confirmation.shipped_with(run.res.channels.marketplace(s.channel), s.store, s.tid, s.number)
    except Exception as exc:  # the job asks again
        log.info("batch_b04_check_failed", shipment_id=s.shipment_id, error=str(exc)[:200])
        return False
