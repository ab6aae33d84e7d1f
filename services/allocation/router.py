"""Allocation HTTP routes: thin, they parse, authorise and call the service."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from runtime.app import UowDep
from runtime.auth import AdminDep, CachedResolver, InternalDep, PrincipalDep
from runtime.errors import NotFound
from runtime.openapi import responses
from services.allocation import service
from services.allocation.repository import DbKeyResolver
from services.allocation.schemas import (
    IntrospectRequest,
    IntrospectResponse,
    KeyCreate,
    KeyCreated,
    ShopCreate,
    ShopCreated,
    ShopOut,
)

shops = APIRouter(prefix="/v1/shops", tags=["shops"])
internal = APIRouter(prefix="/internal/v1", tags=["internal"])


@shops.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a shop",
    description="Admin only. Returns the shop and its first API key, which is shown only this once.",
    responses=responses(403),
)
async def create_shop(body: ShopCreate, uow: UowDep, _: AdminDep) -> ShopCreated:
    return await service.create_shop(uow, body.name)


@shops.get(
    "/{shop_id}",
    summary="Read a shop",
    description="A shop key reads only its own shop (another shop's id answers 404); the admin key reads any.",
    responses=responses(404),
)
async def read_shop(shop_id: str, uow: UowDep, principal: PrincipalDep) -> ShopOut:
    if principal.kind == "shop" and principal.shop_id != shop_id:
        raise NotFound(f"shop {shop_id} not found")
    return await service.get_shop(uow, shop_id)


@shops.post(
    "/{shop_id}/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Issue another API key for a shop",
    responses=responses(403, 404),
)
async def add_key(shop_id: str, body: KeyCreate, uow: UowDep, _: AdminDep) -> KeyCreated:
    return await service.add_key(uow, shop_id, body.label)


@shops.delete(
    "/{shop_id}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description="The key stops working at once on this service and within 30 seconds on the others (they cache keys).",
    responses=responses(403, 404),
)
async def revoke_key(shop_id: str, key_id: str, uow: UowDep, request: Request, _: AdminDep) -> None:
    await service.revoke_key(uow, shop_id, key_id)
    resolver = request.app.state.auth.resolver
    if isinstance(resolver, CachedResolver):
        resolver.forget(key_id)


@internal.post(
    "/keys/introspect",
    summary="Resolve a shop API key (services only)",
    description="Other services send the key id and the SHA-256 of its secret; never the key itself.",
    responses=responses(403, 404),
)
async def introspect(body: IntrospectRequest, request: Request, _: InternalDep) -> IntrospectResponse:
    resolver: DbKeyResolver = request.app.state.runtime.extras["db_resolver"]
    shop_id = await resolver.resolve(body.key_id, body.secret_hash)
    if shop_id is None:
        raise NotFound("unknown or revoked key")
    return IntrospectResponse(shop_id=shop_id)
