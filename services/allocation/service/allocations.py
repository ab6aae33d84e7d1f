"""Allocation, the hot path: raw statements on the asyncpg pool, no session."""

from __future__ import annotations

from typing import Any

from runtime.errors import AppError
from services.allocation.coalescer import Coalescer
from services.allocation.metrics import ALLOCATIONS
from services.allocation.repository.statements import AllocationStatements, ShortOfStock
from shared.allocation import Allocation, BatchAllocation
from shared.carriers import CarrierCode
from shared.errors import ErrorCode


def _exhausted(shop_id: str, carrier: str, details: dict[str, Any] | None = None) -> AppError:
    return AppError(
        f"no available {carrier} numbers for shop {shop_id}",
        code=ErrorCode.POOL_EXHAUSTED,
        status_code=409,
        details={"carrier": carrier, "shop_id": shop_id, **(details or {})},
    )


async def allocate(
    stmts: AllocationStatements,
    shop_id: str,
    carrier: CarrierCode,
    order_id: str,
    coalescer: Coalescer | None = None,
) -> Allocation:
    pool_id = await stmts.pool_id(shop_id, carrier)
    if pool_id is None:
        row = None
    elif coalescer is not None:
        row = await coalescer.allocate(pool_id, order_id)
    else:
        row = await stmts.allocate_one(pool_id, order_id)
    if row is None:
        ALLOCATIONS.labels(carrier, "exhausted").inc()
        raise _exhausted(shop_id, carrier)
    ALLOCATIONS.labels(carrier, "allocated" if row.created else "repeated").inc()
    return Allocation(
        carrier=carrier, order_id=order_id, number=row.number, expires_at=row.expires_at, created=row.created
    )


async def allocate_batch(
    stmts: AllocationStatements, shop_id: str, carrier: CarrierCode, order_ids: list[str]
) -> BatchAllocation:
    pool_id = await stmts.pool_id(shop_id, carrier)
    if pool_id is None:
        ALLOCATIONS.labels(carrier, "exhausted").inc(len(order_ids))
        raise _exhausted(shop_id, carrier, {"requested": len(order_ids)})
    try:
        rows = await stmts.allocate_batch(pool_id, order_ids)
    except ShortOfStock as short:
        ALLOCATIONS.labels(carrier, "exhausted").inc(len(order_ids))
        raise _exhausted(shop_id, carrier, {"requested": len(order_ids), "missing": short.missing}) from short
    created = sum(r.created for r in rows)
    ALLOCATIONS.labels(carrier, "allocated").inc(created)
    ALLOCATIONS.labels(carrier, "repeated").inc(len(rows) - created)
    by_order = {r.order_ref: r for r in rows}
    return BatchAllocation(
        carrier=carrier,
        allocations=[
            Allocation(
                carrier=carrier,
                order_id=o,
                number=by_order[o].number,
                expires_at=by_order[o].expires_at,
                created=by_order[o].created,
            )
            for o in order_ids
        ],
    )
