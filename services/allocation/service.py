"""Allocation business logic. Services flush; the request boundary commits."""

from __future__ import annotations

import secrets

from runtime.auth import generate_key
from runtime.db import UnitOfWork
from runtime.errors import NotFound
from services.allocation.models import ApiKey, Shop
from services.allocation.repository import ShopRepository
from services.allocation.schemas import KeyCreated, ShopCreated, ShopOut


def new_shop_id() -> str:
    return "s-" + secrets.token_hex(6)


async def create_shop(uow: UnitOfWork, name: str) -> ShopCreated:
    repo = ShopRepository(uow.session)
    shop = await repo.add_shop(Shop(id=new_shop_id(), name=name))
    key = await _new_key(repo, shop.id, "default")
    return ShopCreated(id=shop.id, name=shop.name, created_at=shop.created_at, api_key=key.api_key, key_id=key.key_id)


async def get_shop(uow: UnitOfWork, shop_id: str) -> ShopOut:
    shop = await ShopRepository(uow.session).get_shop(shop_id)
    if shop is None:
        raise NotFound(f"shop {shop_id} not found")
    return ShopOut.model_validate(shop)


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
