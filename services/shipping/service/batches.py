"""Shipment batches: created in one request (items and chunks), shipped by workers chunk by chunk
(``services.shipping.service.batch_runner``), read back with their per-order results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import NotFound
from runtime.pagination import PageRequest
from services.shipping.metrics import BATCH_ORDERS
from services.shipping.models import ChunkStatus, ItemStatus, ShipmentBatch
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.resources import ShippingResources
from services.shipping.schemas.batches import BatchCreate, BatchItemOut, BatchOut, BatchSummaryOut
from services.shipping.service.ids import new_id
from services.shipping.settings import ShippingSettings
from shared.pages import Page

# Workers started on a new batch at once (more join through the sweep when chunks wait).
PARALLEL_JOBS = 4
FIRST_PAGE = 1000


@dataclass(frozen=True)
class BatchRun:
    """One worker's run over a batch's chunks: what every step needs."""

    res: ShippingResources
    batch_id: str
    shop_id: str
    carrier: str | None


@dataclass(frozen=True)
class ItemResult:
    """What became of one order of a batch (its item row's status and message)."""

    seq: int
    status: ItemStatus
    message: str

    def row(self) -> dict[str, Any]:
        return {"seq": self.seq, "status": self.status.value, "message": self.message}


def count_results(results: Iterable[ItemResult]) -> None:
    for status, count in Counter(r.status for r in results).items():
        BATCH_ORDERS.labels(status.value).inc(count)


async def create_batch(uow: UnitOfWork, settings: ShippingSettings, shop_id: str, body: BatchCreate) -> BatchOut:
    chunk_size = settings.batch_chunk_size
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
                "status": ItemStatus.PENDING if oid in known else ItemStatus.FAILED,
                "message": None if oid in known else "order not found",
            }
            for i, oid in enumerate(body.order_ids)
        ]
    )
    await repo.insert_chunks(
        [{"batch_id": batch_id, "chunk_no": n, "status": ChunkStatus.PENDING} for n in range(chunks)]
    )
    for _ in range(min(chunks, PARALLEL_JOBS)):
        uow.enqueue("process_batch", batch_id=batch_id)
    return await batch_view(uow, shop_id, batch_id, None, FIRST_PAGE, 0)


async def own_batch(uow: UnitOfWork, shop_id: str, batch_id: str) -> ShipmentBatch:
    batch = await BatchRepository(uow.session).get_owned(shop_id, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} not found")
    return batch


async def batch_view(
    uow: UnitOfWork, shop_id: str, batch_id: str, status: str | None, limit: int, offset: int
) -> BatchOut:
    batch = await own_batch(uow, shop_id, batch_id)
    repo = BatchRepository(uow.session)
    summary = _summary(batch, await repo.counts(batch_id))
    items = await repo.items(batch_id, status, limit, offset)
    return BatchOut(**summary.model_dump(), items=[BatchItemOut.model_validate(i) for i in items])


async def list_batches(uow: UnitOfWork, shop_id: str, page: PageRequest) -> Page[BatchSummaryOut]:
    repo = BatchRepository(uow.session)
    found = await repo.recent(shop_id, page)
    counts = await repo.counts_many([b.id for b in found.rows])
    return found.page(lambda b: _summary(b, counts.get(b.id, {})))


async def batch_items(
    uow: UnitOfWork, shop_id: str, batch_id: str, status: str | None, page: PageRequest
) -> Page[BatchItemOut]:
    await own_batch(uow, shop_id, batch_id)
    return (await BatchRepository(uow.session).item_page(batch_id, status, page)).page(BatchItemOut.model_validate)


def _summary(batch: ShipmentBatch, counts: dict[str, int]) -> BatchSummaryOut:
    pending = counts.get(ItemStatus.PENDING, 0) + counts.get(ItemStatus.SHIPPING, 0)
    return BatchSummaryOut(
        id=batch.id,
        carrier=batch.carrier,
        total=batch.total,
        done=counts.get(ItemStatus.SHIPPED, 0),
        failed=counts.get(ItemStatus.FAILED, 0),
        skipped=counts.get(ItemStatus.SKIPPED, 0),
        pending=pending,
        status="processing" if pending else "completed",
        label_prints=batch.label_prints,
        created_at=batch.created_at,
        completed_at=batch.completed_at,
    )


async def abandoned_batches(uow: UnitOfWork) -> dict[str, int]:
    """Batches with chunks nobody works on (a killed worker's lapsed leases, or lost jobs), each with how many
    runners to start for them: one per such chunk, PARALLEL_JOBS at most."""
    found = await BatchRepository(uow.session).open_batches()
    return {batch_id: min(n, PARALLEL_JOBS) for batch_id, n in found.items()}
