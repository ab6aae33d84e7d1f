"""Batch shipping: a batch is split into chunks that workers claim in the database (a lease they keep
renewing), so a worker killed mid-chunk leaves a lapsed lease and another worker redoes the chunk.

Redoing is safe because every step is idempotent: an order is claimed for a batch item by moving it
from paid to waybill_assigned under its row lock (an order another batch or request already took is
skipped); allocation returns the same number for the same order; a shipment already created is
confirmed, not created again; the database refuses a second live shipment for an order or a number.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from runtime.logging import get_logger
from services.shipping import confirm, service, states
from services.shipping.allocation_client import AllocationError
from services.shipping.marketplace.protocol import Outcome, TopError
from services.shipping.metrics import BATCH_CHUNK_SECONDS, BATCH_ORDERS, SHIPMENTS
from services.shipping.models import BatchItem, ShipmentBatch
from services.shipping.repository import BatchRepository, OrderRepository, SettingsRepository, ShipmentRepository
from services.shipping.schemas import BatchCreate, BatchItemOut, BatchOut
from services.shipping.service import Clients, new_id
from services.shipping.states import OrderEvent as E
from services.shipping.states import OrderStatus as S
from shared.allocation import MAX_BATCH_ALLOCATION

log = get_logger(__name__)
PARALLEL_JOBS = 4


async def create_batch(uow: UnitOfWork, clients: Clients, shop_id: str, body: BatchCreate) -> BatchOut:
    chunk_size = clients.settings.batch_chunk_size
    known = await OrderRepository(uow.session).existing_ids(shop_id, body.order_ids)
    batch_id = new_id("bat")
    chunks = (len(body.order_ids) + chunk_size - 1) // chunk_size
    uow.session.add(
        ShipmentBatch(
            id=batch_id,
            shop_id=shop_id,
            carrier=body.carrier.value if body.carrier else None,
            total=len(body.order_ids),
            chunks=chunks,
            label_prints=0,
        )
    )
    await uow.session.flush()
    repo = BatchRepository(uow.session)
    await repo.insert_items(
        [
            {
                "batch_id": batch_id,
                "seq": i,
                "chunk_no": i // chunk_size,
                "order_id": oid,
                "status": "pending" if oid in known else "failed",
                "message": None if oid in known else "order not found",
            }
            for i, oid in enumerate(body.order_ids)
        ]
    )
    await repo.insert_chunks([{"batch_id": batch_id, "chunk_no": n, "status": "pending"} for n in range(chunks)])
    for _ in range(min(chunks, PARALLEL_JOBS)):
        uow.enqueue("process_batch", batch_id=batch_id)
    return await batch_view(uow, shop_id, batch_id, None, 1000, 0)


async def batch_view(
    uow: UnitOfWork, shop_id: str, batch_id: str, status: str | None, limit: int, offset: int
) -> BatchOut:
    repo = BatchRepository(uow.session)
    batch = await repo.get(batch_id)
    if batch is None or batch.shop_id != shop_id:
        raise NotFound(f"batch {batch_id} not found")
    counts = await repo.counts(batch_id)
    pending = counts.get("pending", 0) + counts.get("shipping", 0)
    items = await repo.items(batch_id, status, limit, offset)
    return BatchOut(
        id=batch.id,
        carrier=batch.carrier,
        total=batch.total,
        done=counts.get("shipped", 0),
        failed=counts.get("failed", 0),
        skipped=counts.get("skipped", 0),
        pending=pending,
        status="processing" if pending else "completed",
        label_prints=batch.label_prints,
        created_at=batch.created_at,
        completed_at=batch.completed_at,
        items=[BatchItemOut.model_validate(i) for i in items],
    )


class ChunkRunner:
    """Processes the claimed chunks of one batch until none is left."""

    def __init__(self, tx: confirm.Tx, clients: Clients, batch_id: str, enqueue_retry: Any) -> None:
        self.tx = tx
        self.clients = clients
        self.settings = clients.settings
        self.batch_id = batch_id
        self.enqueue_retry = enqueue_retry
        self.sem = asyncio.Semaphore(self.settings.batch_concurrency)
        self.timings: dict[str, float] = {}

    async def run(self) -> int:
        done = 0
        while True:
            async with self.tx() as uow:
                batch = await BatchRepository(uow.session).get(self.batch_id)
                if batch is None:
                    return done
                self.shop_id, self.carrier = batch.shop_id, batch.carrier
                chunk_no = await BatchRepository(uow.session).claim_chunk(self.batch_id, self.settings.batch_lease_s)
            if chunk_no is None:
                async with self.tx() as uow:
                    await BatchRepository(uow.session).complete_if_done(self.batch_id)
                return done
            await self.chunk(chunk_no)
            done += 1

    async def _renew(self, chunk_no: int) -> None:
        async with self.tx() as uow:
            await BatchRepository(uow.session).renew(self.batch_id, chunk_no, self.settings.batch_lease_s)

    async def _heartbeat(self, chunk_no: int) -> None:
        while True:
            await asyncio.sleep(max(0.5, self.settings.batch_lease_s / 3))
            await self._renew(chunk_no)

    async def chunk(self, chunk_no: int) -> None:
        beat = asyncio.create_task(self._heartbeat(chunk_no))
        t0 = time.perf_counter()
        try:
            await self._claim_orders(chunk_no)
            t1 = time.perf_counter()
            await self._assign_numbers(chunk_no)
            t2 = time.perf_counter()
            await self._confirm(chunk_no)
            t3 = time.perf_counter()
            async with self.tx() as uow:
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
            **{k: round(v, 3) for k, v in self.timings.items()},
        )

    async def _claim_orders(self, chunk_no: int) -> None:
        """Paid orders become this batch's (waybill_assigned); the others are skipped with the reason."""
        async with self.tx() as uow:
            repo = BatchRepository(uow.session)
            items = [i for i in await repo.chunk_items(self.batch_id, chunk_no) if i.status == "pending"]
            if not items:
                return
            orders_repo = OrderRepository(uow.session)
            orders = await orders_repo.lock_many([i.order_id for i in items])
            shop = await SettingsRepository(uow.session).get(self.shop_id)
            carriers = await self._carriers([orders[i.order_id] for i in items if i.order_id in orders], shop)
            taken, rows, events = [], [], []
            for item in items:
                order = orders.get(item.order_id)
                if order is None or order.shop_id != self.shop_id:
                    rows.append({"seq": item.seq, "status": "failed", "message": "order not found"})
                    continue
                if not states.can(order.status, E.ASSIGN_WAYBILL):
                    reason = f"order is {order.status}" + (f" ({order.number})" if order.number else "")
                    rows.append({"seq": item.seq, "status": "skipped", "message": reason})
                    continue
                if shop is None or not shop.session:
                    rows.append({"seq": item.seq, "status": "failed", "message": "shop has no marketplace session"})
                    continue
                carrier = carriers.get(order.id)
                if carrier is None:
                    rows.append({"seq": item.seq, "status": "failed", "message": "no carrier with stock covers it"})
                    continue
                events.append(
                    {"order_id": order.id, "event": E.ASSIGN_WAYBILL.value, "from_status": order.status,
                     "to_status": S.WAYBILL_ASSIGNED.value, "note": f"batch {self.batch_id}"}
                )  # fmt: skip
                order.status, order.carrier = S.WAYBILL_ASSIGNED.value, carrier
                order.updated_at = datetime.now(UTC)
                taken.append(item.seq)
            await orders_repo.add_events(events)
            await repo.set_item_rows(self.batch_id, rows)
            _count_results(rows)
            await repo.set_items(self.batch_id, taken, status="shipping")

    async def _carriers(self, orders: list[Any], shop: Any) -> dict[str, str]:
        if self.carrier:
            return {o.id: self.carrier for o in orders}
        out: dict[str, str] = {}
        by_province: dict[str, str | None] = {}
        for o in orders:
            if o.receiver_state not in by_province:
                try:
                    by_province[o.receiver_state] = await service.recommend(
                        self.clients, self.shop_id, shop, o.receiver_state
                    )
                except AppError:
                    by_province[o.receiver_state] = None
            chosen = by_province[o.receiver_state]
            if chosen:
                out[o.id] = chosen
        return out

    async def _assign_numbers(self, chunk_no: int) -> None:
        """Numbers for the claimed orders that have none yet, labels (numbers marked printed), shipments."""
        async with self.tx() as uow:
            items = [
                i
                for i in await BatchRepository(uow.session).chunk_items(self.batch_id, chunk_no)
                if i.status == "shipping"
            ]
            orders = await OrderRepository(uow.session).lock_many([i.order_id for i in items]) if items else {}
            # Orders still waybill_assigned have no shipment yet (a chunk redone after a crash may have some done).
            todo = [(i.seq, orders[i.order_id]) for i in items if orders[i.order_id].status == S.WAYBILL_ASSIGNED]
            plan = [(seq, o.id, o.external_id, o.carrier or "") for seq, o in todo]
        if not plan:
            return
        by_carrier: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for seq, oid, ext, carrier in plan:
            by_carrier[carrier].append((seq, oid, ext))
        numbers: dict[str, str] = {}
        failures: dict[int, str] = {}
        for carrier, group in by_carrier.items():
            for start in range(0, len(group), MAX_BATCH_ALLOCATION):
                part = group[start : start + MAX_BATCH_ALLOCATION]
                await self._allocate(carrier, part, numbers, failures)
        # The label of a batch shipment exists as soon as the shipment does (the batch PDF renders it); its
        # number is not marked printed one by one (a call per order): it goes from allocated to shipped, and
        # a batch shipment that fails has its number voided, not returned (see release_number).
        async with self.tx() as uow:
            orders_repo = OrderRepository(uow.session)
            orders = await orders_repo.lock_many([oid for _, oid, _, _ in plan])
            shipments, events, item_rows, fail_rows = [], [], [], []
            now = datetime.now(UTC)
            for seq, oid, ext, carrier in plan:
                order = orders[oid]
                if order.status != S.WAYBILL_ASSIGNED:
                    # Changed meanwhile (closed on the marketplace, cancelled): its number goes back.
                    if ext in numbers:
                        uow.enqueue(
                            "release_number", shop_id=self.shop_id, number=numbers[ext], order_ref=ext, void=True
                        )
                    fail_rows.append({"seq": seq, "status": "skipped", "message": f"order became {order.status}"})
                    continue
                if ext not in numbers:
                    message = failures.get(seq, "no number")
                    fail_rows.append({"seq": seq, "status": "failed", "message": message})
                    events.append(
                        {"order_id": oid, "event": E.FAIL_SHIPMENT.value, "from_status": order.status,
                         "to_status": S.PAID.value, "note": message}
                    )  # fmt: skip
                    order.status, order.carrier = S.PAID.value, None
                    continue
                sid = new_id("shp")
                number = numbers[ext]
                shipments.append(
                    {"id": sid, "shop_id": self.shop_id, "order_id": oid, "carrier": carrier, "number": number,
                     "number_source": "pool", "status": "pending", "batch_id": self.batch_id,
                     "history": [{"number": number, "event": "assigned", "at": now.isoformat()}]}
                )  # fmt: skip
                events.append(
                    {"order_id": oid, "event": E.PRINT_LABEL.value, "from_status": order.status,
                     "to_status": S.LABEL_PRINTED.value, "note": f"batch {self.batch_id}: {carrier} {number}"}
                )  # fmt: skip
                order.status, order.number, order.shipment_id, order.updated_at = (
                    S.LABEL_PRINTED.value,
                    number,
                    sid,
                    now,
                )
                item_rows.append({"seq": seq, "shipment_id": sid, "number": number})
            await ShipmentRepository(uow.session).insert_many(shipments)
            for carrier, count in Counter(str(r["carrier"]) for r in shipments).items():
                SHIPMENTS.labels(carrier, "created").inc(count)
            _count_results(fail_rows)
            await orders_repo.add_events(events)
            await BatchRepository(uow.session).set_item_rows(self.batch_id, item_rows)
            await BatchRepository(uow.session).set_item_rows(self.batch_id, fail_rows)

    async def _allocate(
        self, carrier: str, part: list[tuple[int, str, str]], numbers: dict[str, str], failures: dict[int, str]
    ) -> None:
        try:
            got = await self.clients.allocation.allocate_batch(self.shop_id, carrier, [ext for _, _, ext in part])
            numbers.update({a.order_id: a.number for a in got.allocations})
            return
        except AllocationError as exc:
            if exc.code != "pool_exhausted":
                for seq, _, _ in part:
                    failures[seq] = f"allocation: {exc.code}: {exc.message}"
                return
        # Not enough for all of them: as many as the pool has, one by one.
        for seq, _, ext in part:
            try:
                numbers[ext] = (await self.clients.allocation.allocate(self.shop_id, carrier, ext)).number
            except AllocationError as exc:
                failures[seq] = f"allocation: {exc.code}: {exc.message}"

    async def _gather(self, coros: list[Any]) -> list[Any]:
        async def limited(c: Any) -> Any:
            async with self.sem:
                return await c

        return list(await asyncio.gather(*(limited(c) for c in coros)))

    async def _confirm(self, chunk_no: int) -> None:
        """The chunk's confirmations: claimed in one statement, sent concurrently, finished in bulk. Anything
        but a plain success goes to the confirm_shipment job, which knows every answer of the marketplace."""
        async with self.tx() as uow:
            items = await BatchRepository(uow.session).chunk_items(self.batch_id, chunk_no)
            ids = [i.shipment_id for i in items if i.status == "shipping" and i.shipment_id]
            # Claimed by this batch but cancelled before it got a shipment: nothing left to do for them.
            orphans = [i.seq for i in items if i.status == "shipping" and not i.shipment_id]
            await BatchRepository(uow.session).set_items(
                self.batch_id, orphans, status="skipped", message="order changed while the batch ran"
            )
            BATCH_ORDERS.labels("skipped").inc(len(orphans))
            claimed = await ShipmentRepository(uow.session).claim_many(ids, self.settings.confirm_lease_s)
            tids = await OrderRepository(uow.session).external_ids([s.order_id for s in claimed])
            shop = await SettingsRepository(uow.session).get(self.shop_id)
            session = shop.session if shop else None
            plan = [(s.id, tids[s.order_id], s.number, s.carrier) for s in claimed]
        busy = [(sid, self.settings.confirm_lease_s) for sid in set(ids) - {p[0] for p in plan}]
        if not session:
            busy += [(sid, 0.0) for sid, _, _, _ in plan]
            plan = []
        assert session is not None or not plan
        t0 = time.perf_counter()
        results = await self._gather([self._send(session or "", *p) for p in plan])
        t1 = time.perf_counter()
        sent = [r for r in results if r[1]]
        confirmed = [sid for sid, _, _, _ in sent]
        for start in range(0, len(confirmed), 500):
            async with self.tx() as uow:
                await service.finish_confirmed(uow, confirmed[start : start + 500])
                if start == 0 and sent:
                    # Allocation's bookkeeping follows in a job: the marketplace has confirmed, the chunk is done.
                    uow.enqueue(
                        "mark_numbers",
                        shop_id=self.shop_id,
                        status="shipped",
                        pairs=[[number, tid] for _, _, tid, number in sent],
                    )
        self.timings = {"send_s": t1 - t0, "finish_s": time.perf_counter() - t1}
        retries = [(sid, 0.0) for sid, ok, _, _ in results if not ok]
        if retries or busy:
            await self.enqueue_retry(retries + busy)

    async def _send(self, session: str, sid: str, tid: str, number: str, carrier: str) -> tuple[str, bool, str, str]:
        try:
            await confirm.send(self.clients, session, tid, number, carrier)
            ok = True
        except TopError as exc:
            # A chunk redone after a crash meets its own earlier confirmations as B04: settle those here rather
            # than handing each to a job one at a time.
            ok = exc.outcome is Outcome.ALREADY_SHIPPED and await self._shipped_with(session, sid, tid, number)
            if not ok:
                log.info("batch_confirm_deferred", shipment_id=sid, error=str(exc)[:200])
        except Exception as exc:  # the job takes it from here, with the full handling of each answer
            log.info("batch_confirm_deferred", shipment_id=sid, error=str(exc)[:200])
            ok = False
        if not ok:
            async with self.tx() as uow:
                await service.back_to_pending(uow, sid, "deferred", "handed to the confirmation job")
        return sid, ok, tid, number

    async def _shipped_with(self, session: str, sid: str, tid: str, number: str) -> bool:
        try:
            return await confirm.shipped_with(self.clients, session, tid, number)
        except Exception as exc:  # the job asks again
            log.info("batch_b04_check_failed", shipment_id=sid, error=str(exc)[:200])
            return False


def _count_results(rows: list[dict[str, Any]]) -> None:
    for result, count in Counter(str(r["status"]) for r in rows).items():
        BATCH_ORDERS.labels(result).inc(count)


__all__ = ["BatchItem"]
