"""A shop's marketplace stores: bind (proved with the channel), list, read, renew, unbind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import error_doc, responses
from runtime.pagination import PageRequest, page_params
from services.shipping.resources import ShippingResourcesDep
from services.shipping.schemas.stores import StoreChannel, StoreIn, StoreOut, StoreUpdate
from services.shipping.service import stores
from shared.pages import Page

router = APIRouter(prefix="/v1/stores", tags=["stores"])

_NOT_VERIFIED = error_doc(
    "The channel does not confirm the authorisation belongs to the seller, or the body is invalid",
    {
        "seller_not_verified": "the authorisation does not belong to seller 杭州小铺",
        "validation_error": "invalid request: channel",
    },
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Bind a marketplace store",
    description=(
        "Binds a store (Taobao or Pinduoduo) to the shop: its seller's order messages then become the shop's "
        "orders, and its shipments are confirmed with its authorisation. A binding needs proof: the token is "
        "checked with the channel (`taobao.user.seller.get`, `pdd.mall.info.get`), which says whose it is; a "
        "given `seller_id` must be that seller (422 `seller_not_verified`, also for a token the channel does "
        "not know). A seller bound to another shop: 409 `conflict` (of two shops racing, one wins). Binding "
        "a seller this shop has bound already renews its token (200). All stores draw numbers from the "
        "shop's one pool per carrier."
    ),
    responses={
        **responses(409, 503),
        200: {"model": StoreOut, "description": "The shop had bound this seller: its token is renewed"},
        422: _NOT_VERIFIED,
    },
)
async def bind_store(
    body: StoreIn, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep, response: Response
) -> StoreOut:
    store, created = await stores.bind(uow, res.channels, shop_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return store


@router.get("", summary="The shop's stores", description="Newest first; `channel` keeps one channel's.")
async def list_stores(
    shop_id: ShopIdDep,
    uow: UowDep,
    page: Annotated[PageRequest, Depends(page_params(100, 1000))],
    channel: Annotated[StoreChannel | None, Query()] = None,
) -> Page[StoreOut]:
    return await stores.list_stores(uow, shop_id, channel, page)


@router.get("/{store_id}", summary="One store", description="Another shop's: 404.", responses=responses(404))
async def get_store(store_id: str, shop_id: ShopIdDep, uow: UowDep) -> StoreOut:
    return await stores.get_store(uow, shop_id, store_id)


@router.patch(
    "/{store_id}",
    summary="Rename a store or renew its authorisation",
    description="A new token is checked with the channel and must belong to the store's seller (422 otherwise).",
    responses={**responses(404, 409, 503), 422: _NOT_VERIFIED},
)
async def update_store(
    store_id: str, body: StoreUpdate, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep
) -> StoreOut:
    return await stores.update_store(uow, res.channels, shop_id, store_id, body)


@router.delete(
    "/{store_id}",
    summary="Unbind a store",
    description=(
        "Its seller's messages no longer reach the shop and its token is dropped. Its orders stay; a shipment of "
        "one still unconfirmed fails with `store_unbound` (its number back to the pool unless a label was "
        "printed). Binding the seller again (POST) makes the store active again."
    ),
    responses=responses(404),
)
async def unbind_store(store_id: str, shop_id: ShopIdDep, uow: UowDep) -> StoreOut:
    return await stores.unbind_store(uow, shop_id, store_id)
