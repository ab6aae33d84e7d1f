"""Allocation routes: allocating numbers to orders, the hot path (``services.allocation.fastpath`` serves
``POST /v1/allocations`` itself; the route here documents it)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from runtime.auth import require_shop
from runtime.openapi import responses
from services.allocation.resources import AllocationResources
from services.allocation.service import allocations
from shared.allocation import AllocateRequest, Allocation, BatchAllocateRequest, BatchAllocation

router = APIRouter(prefix="/v1/allocations", tags=["allocations"])


@router.post(
    "",
    summary="Allocate one number to an order",
    description=(
        "Returns the soonest-expiring available number of the carrier and gives it to the order. Idempotent: "
        "the same (shop, carrier, order) always gets the same number, even when asked concurrently. No stock: "
        "409 `pool_exhausted`."
    ),
    responses=responses(409),
)
async def allocate(body: AllocateRequest, request: Request) -> Allocation:
    # The hot path. Authorisation is awaited here rather than declared as a dependency, and the
    # statements are read off the app state: FastAPI's dependency solving was about a fifth of
    # this endpoint's CPU. The OpenAPI security requirement is declared app-wide.
    shop_id = await require_shop(request)
    res: AllocationResources = request.app.state.resources
    return await allocations.allocate(res.statements, shop_id, body.carrier, body.order_id, res.coalescer)


@router.post(
    "/batch",
    summary="Allocate numbers to up to 1,000 orders",
    description=(
        "All or nothing: "
        "every order gets a number (existing ones are returned as they are), or none does (409 `pool_exhausted`)."
    ),
    responses=responses(409),
)
async def allocate_batch(body: BatchAllocateRequest, request: Request) -> BatchAllocation:
    shop_id = await require_shop(request)  # as in allocate(): no dependency to solve
    res: AllocationResources = request.app.state.resources
    return await allocations.allocate_batch(res.statements, shop_id, body.carrier, body.order_ids)
