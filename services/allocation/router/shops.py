"""Allocation routes: shops and their API keys (admin), top-ups, and a shop's negotiated package prices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from runtime.app import UowDep
from runtime.auth import AdminDep, AuthConfig, PrincipalDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, encode_cursor, page_params
from runtime.params import IdPath
from services.allocation.resources import AllocationResourcesDep
from services.allocation.schemas.balance import BalanceOut, TopupRequest
from services.allocation.schemas.prices import ShopPriceCreate, ShopPriceOut
from services.allocation.schemas.shops import KeyCreate, KeyCreated, ShopCreate, ShopCreated, ShopOut
from services.allocation.service import balance, prices, shops
from shared.errors import ErrorBody, ErrorCode
from shared.pages import Page

router = APIRouter(prefix="/v1/shops", tags=["shops"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a shop",
    description="Admin only. Returns the shop and its first API key, which is shown only this once.",
    responses=responses(403),
)
async def create_shop(body: ShopCreate, uow: UowDep, _: AdminDep) -> ShopCreated:
    return await shops.create_shop(uow, body.name)


@router.get(
    "",
    summary="List shops",
    description=(
        "Admin only: every shop, in id order, a page at a time (`cursor`: the `next_cursor` of the previous page)."
    ),
    responses=responses(403, 422),
)
async def list_shops(
    uow: UowDep,
    _: AdminDep,
    page: Annotated[PageRequest, Depends(page_params(100, 1000))],
    after: Annotated[
        str | None,
        Query(max_length=64, deprecated=True, description="Until 0.3.0: the last shop id of the previous page."),
    ] = None,
) -> Page[ShopOut]:
    if after is not None and page.cursor is None:
        page = PageRequest(page.limit, encode_cursor([after]))
    return await shops.list_shops(uow, page)


@router.get(
    "/{shop_id}",
    summary="Read a shop",
    description="A shop key reads only its own shop (another shop's id answers 404); the admin key reads any.",
    responses=responses(404),
)
async def get_shop(shop_id: str, uow: UowDep, principal: PrincipalDep) -> ShopOut:
    return await shops.read_shop(uow, principal, shop_id)


@router.post(
    "/{shop_id}/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Issue another API key for a shop",
    description=(
        "Admin only. A shop may hold several keys (one per warehouse or integration); the new key is returned "
        "only this once, in `api_key`. Revoke one with `DELETE /v1/shops/{shop_id}/keys/{key_id}`."
    ),
    responses=responses(403, 404),
)
async def create_key(shop_id: str, body: KeyCreate, uow: UowDep, _: AdminDep) -> KeyCreated:
    return await shops.add_key(uow, shop_id, body.label)


@router.delete(
    "/{shop_id}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description=(
        "The key stops working at once on this process and within about a second on every other process of "
        "every service (the revocation is broadcast over Redis). While Redis is down the others stop accepting "
        "it when their cache entry expires (`WAYBILL_KEY_CACHE_TTL_S`, 30 s)."
    ),
    responses=responses(403, 404),
)
async def revoke_key(shop_id: str, key_id: str, res: AllocationResourcesDep, request: Request, _: AdminDep) -> None:
    # Committed before the broadcast: a process that hears of it and asks about the key again must find it
    # revoked, not still valid (which it would then trust for the cache's whole TTL).
    async with res.transaction() as uow:
        await shops.revoke_key(uow, shop_id, key_id)
    auth: AuthConfig = request.app.state.auth
    await auth.key_revoked(key_id)


@router.post(
    "/{shop_id}/topups",
    status_code=status.HTTP_201_CREATED,
    summary="Top up a shop's balance",
    description="Admin only. Credits the balance and writes a ledger entry in the same transaction.",
    responses=responses(403, 404),
)
async def top_up_shop(shop_id: str, body: TopupRequest, uow: UowDep, _: AdminDep) -> BalanceOut:
    return await balance.topup(uow, shop_id, body.amount_cents, body.reference)


# --- a shop's negotiated package prices -------------------------------------------------------------------


@router.get(
    "/{shop_id}/prices",
    summary="A shop's negotiated prices (operators)",
    description=(
        "Admin only. Every price set for the shop, revoked ones too (the record of what purchases were "
        "charged), latest period first; `in_force` marks those a purchase made now is charged. The shop reads "
        "what it pays in the catalogue (`shop_price` of each package in `GET /v1/carriers`)."
    ),
    responses=responses(403, 404),
)
async def list_shop_prices(shop_id: str, uow: UowDep, _: AdminDep) -> Page[ShopPriceOut]:
    return Page.whole(await prices.list_prices(uow, shop_id))


@router.post(
    "/{shop_id}/prices",
    status_code=status.HTTP_201_CREATED,
    summary="Set a shop's price of a package for a period (operators)",
    description=(
        "Admin only. From `valid_from` (default now) up to `valid_to` (exclusive; null: until revoked), a "
        "purchase of the package by this shop is charged `price_cents` instead of the catalogue's price "
        "(`price_source: negotiated` on the purchase, which names the price in `shop_price_id`; its ledger "
        "note says so). Purchases made before keep what they were charged. Two periods of one shop and package "
        "never overlap: the database refuses it, whatever the order of concurrent requests (409 "
        "`price_overlap`, `details.price_id` naming the price in the way: revoke it first). To change a price, "
        "revoke it and set the new one."
    ),
    responses={
        **responses(403, 404, 422),
        409: {
            "model": ErrorBody,
            "description": "Another price of the shop and package is in force in part of the period",
            "content": {
                "application/json": {
                    "example": ErrorBody.of(
                        ErrorCode.PRICE_OVERLAP,
                        "shop s-9a3f1c2b7e4d already has a price for package ZTO-1000 in part of that period; "
                        "revoke it first",
                        {"package_id": "ZTO-1000", "price_id": 11},
                    ).model_dump(mode="json")
                }
            },
        },
    },
)
async def add_shop_price(shop_id: str, body: ShopPriceCreate, uow: UowDep, _: AdminDep) -> ShopPriceOut:
    return await prices.add_price(uow, shop_id, body)


@router.delete(
    "/{shop_id}/prices/{price_id}",
    summary="Revoke a shop's negotiated price (operators)",
    description=(
        "Admin only. Purchases from now on are charged the catalogue's price (or another price in force); "
        "those already made keep theirs. The price stays listed, with `revoked_at`. Revoking it again answers "
        "the same."
    ),
    responses=responses(403, 404),
)
async def revoke_shop_price(shop_id: str, price_id: IdPath, uow: UowDep, _: AdminDep) -> ShopPriceOut:
    return await prices.revoke_price(uow, shop_id, price_id)
