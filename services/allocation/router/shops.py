"""Allocation routes: shops and their API keys (admin), and top-ups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from runtime.app import UowDep
from runtime.auth import AdminDep, AuthConfig, PrincipalDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, encode_cursor, page_params
from services.allocation.resources import AllocationResourcesDep
from services.allocation.schemas.balance import BalanceOut, TopupRequest
from services.allocation.schemas.shops import KeyCreate, KeyCreated, ShopCreate, ShopCreated, ShopOut
from services.allocation.service import balance, shops
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
