"""A shop's marketplace stores. Binding proves the seller: the channel must say the token is theirs (a
shop's setting must never route another seller's orders to it), and a seller routes to one shop only."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from runtime.pagination import PageRequest
from services.shipping.channels.base import Channel, ChannelError, ChannelName, StoreAccess
from services.shipping.channels.registry import Channels
from services.shipping.models import Store
from services.shipping.repository.stores import StoreRepository
from services.shipping.schemas.stores import StoreIn, StoreOut, StoreUpdate
from services.shipping.service.errors import channel_unavailable
from services.shipping.service.ids import new_id
from shared.errors import ErrorCode
from shared.pages import Page


def store_out(store: Store) -> StoreOut:
    return StoreOut(
        id=store.id,
        channel=store.channel,
        seller_id=store.seller_id,
        name=store.name,
        token_set=bool(store.token),
        active=store.active,
        confirm_mode=store.confirm_mode,
        created_at=store.created_at,
        updated_at=store.updated_at,
    )


def access(store: Store | None) -> StoreAccess | None:
    """What a channel needs to act for the store; None when it cannot (unbound, or no token)."""
    if store is None or not store.active or not store.token:
        return None
    return StoreAccess(store_id=store.id, seller_id=store.seller_id, token=store.token)


def not_verified(message: str, field: str) -> AppError:
    return AppError(message, code=ErrorCode.SELLER_NOT_VERIFIED, status_code=422, details={"field": field})


async def verified_seller(
    channel: Channel, token: str, claimed: str | None, *, token_field: str = "token", seller_field: str = "seller_id"
) -> str:
    """The seller the channel says ``token`` belongs to; it must be ``claimed`` when one is given."""
    try:
        seller = await channel.seller_id(token)
    except ChannelError as exc:
        if exc.session_invalid:
            raise not_verified(
                f"{channel.name.value} does not know this authorisation (expired, or not the seller's)", token_field
            ) from exc
        raise channel_unavailable("checking the authorisation", exc) from exc
    if claimed is not None and seller != claimed:
        # Says only that they differ: whose token it is stays the marketplace's business.
        raise not_verified(f"the authorisation does not belong to seller {claimed}", seller_field)
    return seller


async def bind(uow: UnitOfWork, channels: Channels, shop_id: str, body: StoreIn) -> tuple[StoreOut, bool]:
    """Bind (or, for a seller this shop has bound already, renew) a store; answers it and whether it is new."""
    store, created = await bind_store(uow, channels.marketplace(body.channel), shop_id, body.token, body.seller_id)
    if body.name is not None:
        store.name = body.name
    await uow.session.flush()
    return store_out(store), created


async def bind_store(
    uow: UnitOfWork,
    channel: Channel,
    shop_id: str,
    token: str,
    claimed: str | None,
    *,
    token_field: str = "token",
    seller_field: str = "seller_id",
) -> tuple[Store, bool]:
    seller = await verified_seller(channel, token, claimed, token_field=token_field, seller_field=seller_field)
    repo = StoreRepository(uow.session)
    await repo.lock_seller(channel.name, seller)
    existing = await repo.by_seller(channel.name, seller)
    if existing is not None and existing.shop_id != shop_id and existing.active:
        raise Conflict(
            f"{channel.name.value} seller {seller} is bound to another shop",
            details={"channel": channel.name.value, "seller_id": seller},
        )
    if existing is not None and existing.shop_id == shop_id:
        existing.token, existing.active, existing.updated_at = token, True, datetime.now(UTC)
        await uow.session.flush()
        return existing, False
    if existing is not None:
        # Unbound by its earlier shop: the store row keeps that shop's orders; this shop gets a row of its own.
        await repo.set_fields(existing.id, seller_id=f"unbound:{existing.id}")
    store = repo.add(
        {
            "id": new_id("sto"),
            "shop_id": shop_id,
            "channel": channel.name.value,
            "seller_id": seller,
            "name": seller,
            "token": token,
        }
    )
    await uow.session.flush()
    await uow.session.refresh(store)
    return store, True


async def list_stores(uow: UnitOfWork, shop_id: str, channel: str | None, page: PageRequest) -> Page[StoreOut]:
    return (await StoreRepository(uow.session).page(shop_id, channel, page)).page(store_out)


async def _owned(uow: UnitOfWork, shop_id: str, store_id: str, *, for_update: bool = False) -> Store:
    store = await StoreRepository(uow.session).get_owned(shop_id, store_id, for_update=for_update)
    if store is None:
        raise NotFound(f"store {store_id} not found")
    return store


async def get_store(uow: UnitOfWork, shop_id: str, store_id: str) -> StoreOut:
    return store_out(await _owned(uow, shop_id, store_id))


async def update_store(uow: UnitOfWork, channels: Channels, shop_id: str, store_id: str, body: StoreUpdate) -> StoreOut:
    store = await _owned(uow, shop_id, store_id, for_update=True)
    if body.token is not None:
        if not store.active:
            raise Conflict(f"store {store_id} is unbound: bind its seller again (POST /v1/stores)")
        await verified_seller(channels.marketplace(store.channel), body.token, store.seller_id)
        store.token = body.token
    if body.name is not None:
        store.name = body.name
    if "confirm_mode" in body.model_fields_set:
        store.confirm_mode = body.confirm_mode.value if body.confirm_mode is not None else None
    store.updated_at = datetime.now(UTC)
    await uow.session.flush()
    await uow.session.refresh(store)
    return store_out(store)


async def unbind_store(uow: UnitOfWork, shop_id: str, store_id: str) -> StoreOut:
    """The seller's messages stop reaching the shop and the token is dropped; its orders stay, and what is
    left to confirm of them fails with ``store_unbound`` (the numbers back to the pool unless printed)."""
    store = await _owned(uow, shop_id, store_id, for_update=True)
    store.active, store.token, store.updated_at = False, None, datetime.now(UTC)
    await uow.session.flush()
    await uow.session.refresh(store)
    return store_out(store)


async def taobao_binding(uow: UnitOfWork, shop_id: str) -> Store | None:
    """The shop's first active Taobao store: what the settings' ``seller_nick``/``session`` speak of."""
    found = await StoreRepository(uow.session).of_shop(shop_id, ChannelName.TAOBAO, active_only=True)
    return found[0] if found else None
