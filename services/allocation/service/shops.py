"""Shops and their API keys."""

from __future__ import annotations

import secrets

from runtime.auth import Principal, ShopKeyResolver, generate_key
from runtime.db import UnitOfWork
from runtime.errors import NotFound
from runtime.pagination import PageRequest
from services.allocation.models import ApiKey, Shop
from services.allocation.repository.shops import ShopRepository
from services.allocation.schemas.shops import KeyCreated, ShopCreated, ShopOut
from shared.keys import IntrospectResponse
from shared.pages import Page


def new_shop_id() -> str:
    return "s-" + secrets.token_hex(6)


async def create_shop(uow: UnitOfWork, name: str) -> ShopCreated:
    repo = ShopRepository(uow.session)
    shop = await repo.add_shop(Shop(id=new_shop_id(), name=name))
    key = await _new_key(repo, shop.id, "default")
    return ShopCreated(id=shop.id, name=shop.name, created_at=shop.created_at, api_key=key.api_key, key_id=key.key_id)


def may_read_shop(principal: Principal, shop_id: str) -> bool:
    """A shop key reads only its own shop; the admin and internal keys read any."""
    return principal.kind != "shop" or principal.shop_id == shop_id


async def read_shop(uow: UnitOfWork, principal: Principal, shop_id: str) -> ShopOut:
    """Another shop's id answers exactly as an unknown one."""
    shop = await ShopRepository(uow.session).get_shop(shop_id) if may_read_shop(principal, shop_id) else None
    if shop is None:
        raise NotFound(f"shop {shop_id} not found")
    return ShopOut.model_validate(shop)


async def list_shops(uow: UnitOfWork, page: PageRequest) -> Page[ShopOut]:
    return (await ShopRepository(uow.session).list_shops(page)).page(ShopOut.model_validate)


async def add_key(uow: UnitOfWork, shop_id: str, label: str) -> KeyCreated:
    repo = ShopRepository(uow.session)
    if await repo.get_shop(shop_id) is None:
        raise NotFound(f"shop {shop_id} not found")
    return await _new_key(repo, shop_id, label)


async def revoke_key(uow: UnitOfWork, shop_id: str, key_id: str) -> None:
    if not await ShopRepository(uow.session).revoke_key(shop_id, key_id):
        raise NotFound(f"active key {key_id} not found for shop {shop_id}")


async def _new_key(repo: ShopRepository, shop_id: str, label: str) -> KeyCreated:
    key = generate_key()
    await repo.add_key(ApiKey(id=key.key_id, shop_id=shop_id, secret_hash=key.secret_hash, label=label))
    return KeyCreated(key_id=key.key_id, api_key=key.plaintext)


async def introspect_key(keys: ShopKeyResolver, key_id: str, secret_hash: str) -> IntrospectResponse:
    """The shop a key (its id and the SHA-256 of its secret) belongs to, for the other services."""
    shop_id = await keys.resolve(key_id, secret_hash)
    if shop_id is None:
        raise NotFound("unknown or revoked key")
    return IntrospectResponse(shop_id=shop_id)
