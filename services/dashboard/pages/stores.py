"""平台店铺: the shop's marketplace stores (Taobao, Pinduoduo) and their forms: bind one (the token is checked
with the marketplace by shipping), rename it, renew its token, set when its shipments are confirmed (its own
confirmation mode, or the shop's), and unbind it after a page that says what that does and asks to confirm.

What the form names each marketplace's authorisation and seller (shipping's StoreIn documents the same):
Taobao's is the ``session`` system parameter of a TOP call (the official Java SDK's
``DefaultTaobaoClient.execute(request, session)``, as houzhenggang/leasing-tmall
src/main/java/com/hshc/relay/service/RequestTaobaoClient.java calls it; ``P_SESSION = "session"`` in
gaoyanpao/cps-tools taobao/const.go), its seller a seller nick; Pinduoduo's is an ``access_token``, its
seller the mall id (``mall_id``, 店铺id, of pdd.mall.info.get: lywzx/pdd-node-sdk
packages/pdd-origin-api/src/dianPu/PddMallInfoGet.ts). Only labels here: shipping does the checking."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError as PydanticError
from waybill_client import WaybillError
from waybill_client.models import StoreIn, StoreUpdate

from services.dashboard import web
from services.dashboard.api import paged
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

STORES_SHOWN = 100  # a page of stores: a shop binds a handful
Marketplace = Literal["taobao", "pinduoduo"]
MARKETPLACES: tuple[str, ...] = get_args(Marketplace)
CONFIRM_MODES = ("at_print", "at_collection")  # shipping's ConfirmMode; "" on the form: the shop's


@router.get("/shops/{shop_id}/stores")
async def stores_page(request: Request, shop_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    listed = await paged(access.client.list_stores(limit=STORES_SHOWN, cursor=cursor))
    return web.render(
        request,
        "stores.html",
        access=access,
        stores=listed,
        cursor=cursor,
        marketplaces=MARKETPLACES,
        confirm_modes=CONFIRM_MODES,
        shop_mode=access.settings.data.confirm_mode if access.settings and access.settings.data else None,
        tab="stores",
    )


def _optional(value: str) -> str | None:
    value = value.strip()
    return value or None


@router.post("/shops/{shop_id}/stores")
async def bind(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    seller_id: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    """Bind a store; a seller the shop has bound already has its token renewed (shipping answers 200)."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/stores"
    # The client's model takes any channel text (an enum of the API may grow): only ours go out.
    if channel not in MARKETPLACES or not token.strip():
        return web.refused(back, "validation_error", "#bind")
    typed = {"seller_id": _optional(seller_id), "name": _optional(name)}
    try:
        # Only what was typed: a seller left out is the marketplace's to say, a name left out the seller id.
        body = StoreIn(channel=channel, token=token.strip(), **{k: v for k, v in typed.items() if v is not None})
    except PydanticError:  # a token, seller id or name longer than the API takes
        return web.refused(back, "validation_error", "#bind")
    try:
        await access.client.bind_store(body)
    except WaybillError as exc:
        return web.failed(back, exc, "#bind")
    return web.done(back, "store_bound")


@router.post("/shops/{shop_id}/stores/{store_id}/rename")
async def rename(
    request: Request,
    shop_id: str,
    store_id: str,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> Response:
    return await _update(request, shop_id, store_id, csrf_token, "name", name, "store_renamed")


@router.post("/shops/{shop_id}/stores/{store_id}/token")
async def renew(
    request: Request,
    shop_id: str,
    store_id: str,
    csrf_token: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
) -> Response:
    """A new token for the store: shipping checks it is the same seller's (422 ``seller_not_verified``)."""
    return await _update(request, shop_id, store_id, csrf_token, "token", token, "store_renewed")


async def _update(
    request: Request, shop_id: str, store_id: str, csrf_token: str, field: str, value: str, notice: str
) -> Response:
    """One field of the store changed (its name, its token), refused before any call when it is empty."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/stores"
    try:
        if not value.strip():  # an empty name would leave the store nameless; an empty token binds nothing
            raise ValueError(field)
        body = StoreUpdate.model_validate({field: value.strip()})
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error")
    try:
        await access.client.update_store(store_id, body)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, notice)


@router.post("/shops/{shop_id}/stores/{store_id}/confirm-mode")
async def confirm_mode(
    request: Request,
    shop_id: str,
    store_id: str,
    csrf_token: Annotated[str, Form()] = "",
    confirm_mode: Annotated[str, Form()] = "",
) -> Response:
    """The store's own confirmation mode; "" sends null: the shop's mode again."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/stores"
    if confirm_mode and confirm_mode not in CONFIRM_MODES:
        return web.refused(back, "validation_error")
    try:
        await access.client.update_store(store_id, StoreUpdate(confirm_mode=confirm_mode or None))
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "store_confirm_saved")


@router.get("/shops/{shop_id}/stores/{store_id}/unbind")
async def confirm_unbind(request: Request, shop_id: str, store_id: str) -> Response:
    """The confirm step: which store, and what unbinding it does, before the form that does it."""
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    try:
        store = await access.client.get_store(store_id)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    return web.render(request, "store_unbind.html", access=access, store=store, tab="stores")


@router.post("/shops/{shop_id}/stores/{store_id}/unbind")
async def unbind(request: Request, shop_id: str, store_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/stores"
    try:
        await access.client.unbind_store(store_id)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "store_unbound")
