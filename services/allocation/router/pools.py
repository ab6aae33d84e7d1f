"""Allocation routes: stock per carrier, thresholds and the stock events feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from services.allocation.schemas.pools import PoolUpdate, StockEventOut
from services.allocation.service import pools
from shared.carriers import CarrierCode
from shared.pages import Page
from shared.pools import PoolOut

router = APIRouter(prefix="/v1/pools", tags=["pools"])


@router.get(
    "",
    summary="Stock per carrier",
    description=(
        "Counts by state, numbers expiring soon, the low-stock threshold, and `cost_per_number_cents`: what the "
        "shop paid per number for its available stock (each purchase's `price_cents / quantity`, negotiated or "
        "catalogue, averaged over the available numbers; shipping's carrier recommendation ranks by it)."
    ),
)
async def list_pools(
    shop_id: ShopIdDep, uow: UowDep, expiring_within_days: Annotated[int, Query(ge=1, le=365)] = 7
) -> Page[PoolOut]:
    return Page.whole(await pools.pools(uow, shop_id, expiring_within_days))


@router.get(
    "/events",
    summary="Low-stock and replenishment events",
    description=(
        "Newest first: `low_stock` when available stock falls below the threshold, `replenish_ordered` and "
        "`replenish_failed` for the automatic purchase that follows, `manual_superseded` when a purchase took "
        "over one of the shop's typed numbers (`number` and `order_id` say which). A purchase's expiry "
        "(`GET /v1/expiry-settings`), each once per purchase and expiry date, with `expires_at`, `numbers` "
        "(its numbers concerned) and `details`: `expiring` (the notice), `auto_extended`, `auto_extend_failed` "
        "(the balance could not pay the fee), `auto_refunded`; each is also the shop's `purchase.<kind>` "
        "webhook (shipping's endpoints)."
    ),
)
async def list_stock_events(
    shop_id: ShopIdDep, uow: UowDep, page: Annotated[PageRequest, Depends(page_params(50, 500))]
) -> Page[StockEventOut]:
    return await pools.stock_events(uow, shop_id, page)


@router.put(
    "/{carrier}",
    summary="Set a pool's low-stock threshold and auto-replenish package",
    description=(
        "Below the threshold a `low_stock` event is recorded and, when `auto_replenish_package` is set, that "
        "package is bought. A package not on sale for the carrier: 404."
    ),
    responses=responses(404),
)
async def update_pool(carrier: CarrierCode, body: PoolUpdate, shop_id: ShopIdDep, uow: UowDep) -> PoolOut:
    return await pools.update_pool(uow, shop_id, carrier, body)
