"""Step 2 of a batch chunk: numbers for the claimed orders that have none yet (one bulk allocation per
carrier and MAX_BATCH_ALLOCATION orders, and, when the pool cannot fill a bulk request, as many as it has
one by one), their courier's sort codes (one routing call for the chunk, see ``routing``), then their
shipments and labels.

The label of a batch shipment exists as soon as the shipment does (the batch PDF renders it); its number is
not marked printed one by one (a call per order): it goes from allocated to shipped, and a batch shipment
that fails has its number voided, not returned (see the release_number job).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runtime.apis.allocation import AllocationApi
from runtime.backoff import Backoff
from runtime.db import UnitOfWork
from runtime.service_client import ServiceError
from services.shipping import parcels
from services.shipping.metrics import SHIPMENTS
from services.shipping.models import ItemStatus, Order, ShipmentStatus
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.service import routing
from services.shipping.service.batches import BatchRun, ItemResult, count_results
from services.shipping.service.ids import new_id
from services.shipping.service.orders import transition_many
from services.shipping.states import Change, OrderEvent, OrderStatus
from shared.allocation import MAX_BATCH_ALLOCATION, BatchAllocation
from shared.errors import ErrorCode

# A bulk allocation that failed for a transient reason is asked again this many times in all, soon after.
ALLOCATE_TRIES = 3
ALLOCATE_RETRY = Backoff(base_s=0.5, cap_s=4.0)


@dataclass(frozen=True)
class Planned:
    """An order of the chunk that needs a number: its batch item, our id, its marketplace id, its carrier."""

    seq: int
    order_id: str
    order_ref: str
    carrier: str
    place: routing.Place = ("", "", "", "")  # the destination when the numbers were asked for


@dataclass
class Numbers:
    """Allocation's answers: a number per order reference, or why an item got none."""

    by_ref: dict[str, str] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)


def _refused(exc: ServiceError) -> str:
    return f"allocation: {exc.code}: {exc.message}"


async def allocate_numbers(allocation: AllocationApi, shop_id: str, plan: Sequence[Planned]) -> Numbers:
    by_carrier: dict[str, list[Planned]] = defaultdict(list)
    for p in plan:
        by_carrier[p.carrier].append(p)
    got = Numbers()
    for carrier, group in by_carrier.items():
        for start in range(0, len(group), MAX_BATCH_ALLOCATION):
            await _allocate_part(allocation, shop_id, carrier, group[start : start + MAX_BATCH_ALLOCATION], got)
    return got


async def _allocate_batch(allocation: AllocationApi, shop_id: str, carrier: str, refs: list[str]) -> BatchAllocation:
    """One bulk allocation, asked again on a transient failure (a connection dropped under load, a restart): the
    same order references get the same numbers, so asking again allocates nothing twice, and failing the
    whole part (up to MAX_BATCH_ALLOCATION orders back to paid) for a moment's trouble would cost far more."""
    for attempt in range(1, ALLOCATE_TRIES + 1):
        try:
            return await allocation.allocate_batch(shop_id, carrier, refs)
        except ServiceError as exc:
            if not exc.transient or attempt == ALLOCATE_TRIES:
                raise
            await asyncio.sleep(ALLOCATE_RETRY.delay(attempt))
    raise AssertionError("unreachable")


async def _allocate_part(
    allocation: AllocationApi, shop_id: str, carrier: str, part: Sequence[Planned], got: Numbers
) -> None:
    try:
        answer = await _allocate_batch(allocation, shop_id, carrier, [p.order_ref for p in part])
    except ServiceError as exc:
        if exc.code != ErrorCode.POOL_EXHAUSTED:
            got.failures.update({p.seq: _refused(exc) for p in part})
            return
    else:
        got.by_ref.update({a.order_id: a.number for a in answer.allocations})
        return
    # Not enough for all of them: as many as the pool has, one by one.
    for p in part:
        try:
            got.by_ref[p.order_ref] = (await allocation.allocate(shop_id, carrier, p.order_ref)).number
        except ServiceError as exc:
            got.failures[p.seq] = _refused(exc)


async def assign_numbers(run: BatchRun, chunk_no: int) -> None:
    plan = await _to_number(run, chunk_no)
    if not plan:
        return
    numbers = await allocate_numbers(run.res.allocation, run.shop_id, plan)
    # Outside any transaction, as the numbers were: no order locked across the courier's answer.
    routed = await routing.ask(
        run.res.allocation, run.shop_id, [(n, p.place) for p in plan if (n := numbers.by_ref.get(p.order_ref))]
    )
    async with run.res.transaction() as uow:
        await _record_numbers(uow, run, plan, numbers, routed)


async def _to_number(run: BatchRun, chunk_no: int) -> list[Planned]:
    async with run.res.transaction() as uow:
        items = [
            i
            for i in await BatchRepository(uow.session).chunk_items(run.batch_id, chunk_no)
            if i.status == ItemStatus.SHIPPING
        ]
        orders = await OrderRepository(uow.session).lock_many([i.order_id for i in items]) if items else {}
        # Orders still waybill_assigned have no shipment yet (a chunk redone after a crash may have some done).
        return [
            Planned(i.seq, o.id, o.external_id, o.carrier or "", routing.place(o))
            for i in items
            if (o := orders[i.order_id]).status == OrderStatus.WAYBILL_ASSIGNED
        ]


@dataclass
class _Recorded:
    """What the chunk's numbers come to, written together."""

    shipments: list[dict[str, Any]] = field(default_factory=list)
    parcels: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    item_rows: list[dict[str, Any]] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)
    labelled: list[Change[Order]] = field(default_factory=list)
    unnumbered: list[Change[Order]] = field(default_factory=list)


async def _record_numbers(
    uow: UnitOfWork, run: BatchRun, plan: Sequence[Planned], numbers: Numbers, routed: routing.Routed
) -> None:
    orders_repo = OrderRepository(uow.session)
    orders = await orders_repo.lock_many([p.order_id for p in plan])
    now = datetime.now(UTC)
    out = _Recorded()
    unrouted: list[str] = []
    for p in plan:
        order = orders[p.order_id]
        number = numbers.by_ref.get(p.order_ref)
        if order.status != OrderStatus.WAYBILL_ASSIGNED:
            # Changed meanwhile (closed on the marketplace, cancelled): its number goes back.
            if number is not None:
                uow.enqueue("release_number", shop_id=run.shop_id, number=number, order_ref=p.order_ref, void=True)
            out.results.append(ItemResult(p.seq, ItemStatus.SKIPPED, f"order became {order.status}"))
        elif number is None:
            message = numbers.failures.get(p.seq, "no number")
            out.results.append(ItemResult(p.seq, ItemStatus.FAILED, message))
            out.unnumbered.append(Change(order, message))
            order.carrier = None
        else:
            shipment = _shipment_row(run, p, number, now)
            out.shipments.append(shipment)
            # Routed for the destination asked about: one that moved since is the job's to ask again.
            moved = routing.place(order) != p.place
            out.parcels.append({**_parcel_row(shipment, order.weight_g), **routed.of("" if moved else number)})
            if moved or (routed.again and number not in routed.values):
                unrouted.append(shipment["id"])
            out.lines += [
                {"shipment_id": shipment["id"], "order_id": order.id, "line": line}
                for line in range(1, parcels.line_count(order.items) + 1)
            ]
            out.labelled.append(Change(order, f"batch {run.batch_id}: {p.carrier} {number}"))
            order.number, order.shipment_id = number, shipment["id"]
            out.item_rows.append({"seq": p.seq, "shipment_id": shipment["id"], "number": number})
    await ShipmentRepository(uow.session).insert_many(out.shipments)
    await ParcelRepository(uow.session).insert_many(out.parcels)
    if unrouted:
        uow.enqueue("route_parcels", shop_id=run.shop_id, shipment_ids=unrouted)
    await ShipmentRepository(uow.session).claim_lines(out.lines)
    for carrier, count in Counter(str(r["carrier"]) for r in out.shipments).items():
        SHIPMENTS.labels(carrier, "created").inc(count)
    count_results(out.results)
    await transition_many(orders_repo, OrderEvent.FAIL_SHIPMENT, out.unnumbered, at=now)
    await transition_many(orders_repo, OrderEvent.PRINT_LABEL, out.labelled, at=now)
    batches = BatchRepository(uow.session)
    await batches.set_item_rows(run.batch_id, out.item_rows)
    await batches.set_item_rows(run.batch_id, [r.row() for r in out.results])


def _parcel_row(shipment: dict[str, Any], weight_g: int) -> dict[str, Any]:
    # A batch ships each order as one parcel under the order's own reference (ordinal 1).
    return {
        "id": new_id("pcl"),
        "shop_id": shipment["shop_id"],
        "order_id": shipment["order_id"],
        "shipment_id": shipment["id"],
        "seq": 1,
        "ordinal": 1,
        "carrier": shipment["carrier"],
        "number": shipment["number"],
        "weight_g": weight_g,
    }


def _shipment_row(run: BatchRun, p: Planned, number: str, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id("shp"),
        "shop_id": run.shop_id,
        "order_id": p.order_id,
        "carrier": p.carrier,
        "number": number,
        "number_source": "pool",
        "status": ShipmentStatus.PENDING,
        "batch_id": run.batch_id,
        "history": [{"number": number, "event": "assigned", "at": now.isoformat()}],
    }
