"""Who is calling: operators (admin key), other services (internal key) or a shop (its API key).

Shop keys look like ``wbk_<key id>_<secret>``; only a SHA-256 of the secret is stored (the secret
is 32 random bytes, so a slow hash adds nothing). The allocation service owns shops and keys; the
other services resolve a key by asking it, and cache the answer briefly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

import httpx
from fastapi import Depends, Request

from runtime.errors import Forbidden, Unauthorized
from runtime.ratelimit import RateLimiter

KEY_PREFIX = "wbk"
SHOP_HEADER = "X-Shop-Id"
CACHE_TTL_S = 30.0


@dataclass(frozen=True)
class Principal:
    kind: Literal["admin", "internal", "shop"]
    shop_id: str | None = None

    def require_shop_id(self) -> str:
        if self.shop_id is None:
            raise Unauthorized("this endpoint acts for a shop: use a shop key, or the internal key with X-Shop-Id")
        return self.shop_id


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret_hash: str
    plaintext: str


def generate_key() -> NewKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_hex(24)
    return NewKey(key_id, hash_secret(secret), f"{KEY_PREFIX}_{key_id}_{secret}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class ShopKeyResolver(Protocol):
    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        """The shop id owning this key, or None when unknown or revoked."""


class CachedResolver:
    """Positive answers are cached for a short time: a revoked key stops working within
    ``ttl`` seconds, and the hot path does not pay a lookup per request."""

    def __init__(self, inner: ShopKeyResolver, ttl: float = CACHE_TTL_S) -> None:
        self._inner = inner
        self._ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        now = time.monotonic()
        hit = self._cache.get((key_id, secret_hash))
        if hit is not None and hit[0] > now:
            return hit[1]
        shop_id = await self._inner.resolve(key_id, secret_hash)
        if shop_id is not None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[(key_id, secret_hash)] = (now + self._ttl, shop_id)
        return shop_id

    def forget(self, key_id: str) -> None:
        for k in [k for k in self._cache if k[0] == key_id]:
            del self._cache[k]


class HttpKeyResolver:
    """Resolves shop keys through the allocation service's internal introspection endpoint."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, internal_key: str) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/internal/v1/keys/introspect"
        self._internal_key = internal_key

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        resp = await self._client.post(
            self._url,
            json={"key_id": key_id, "secret_hash": secret_hash},
            headers={"Authorization": f"Bearer {self._internal_key}"},
        )
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        shop_id: str = resp.json()["shop_id"]
        return shop_id


@dataclass
class AuthConfig:
    admin_key: str
    internal_key: str
    resolver: ShopKeyResolver
    limiter: RateLimiter | None = None


BEARER_SCHEME = "ApiKey"


def _read_headers(request: Request) -> tuple[str | None, str | None]:
    """(presented key, X-Shop-Id) from the raw ASGI headers, in one pass (building Starlette's
    Headers object costs more than the rest of the check)."""
    key = api_key = shop = None
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                key = credentials.strip()
        elif name == b"x-api-key":
            api_key = value.decode("latin-1").strip()
        elif name == b"x-shop-id":
            shop = value.decode("latin-1").strip() or None
    return key or api_key, shop


async def get_principal(request: Request) -> Principal:
    """Reads the key straight from the headers: one dependency, not a chain of security classes,
    because dependency resolution is a measurable share of the allocation hot path. The OpenAPI
    security scheme is declared on the app instead (see runtime.app)."""
    key, shop_header = _read_headers(request)
    if not key:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    config: AuthConfig = request.app.state.auth
    presented = key.encode()
    if hmac.compare_digest(presented, config.admin_key.encode()):
        return Principal("admin", shop_header)
    if hmac.compare_digest(presented, config.internal_key.encode()):
        return Principal("internal", shop_header)
    parsed = parse_key(key)
    if parsed is not None:
        shop_id = await config.resolver.resolve(parsed[0], hash_secret(parsed[1]))
        if shop_id is not None:
            if config.limiter is not None:
                # After the key is known good: a stranger's made-up keys cannot use up a shop's budget.
                await config.limiter.check(parsed[0])
            return Principal("shop", shop_id)
    raise Unauthorized("invalid or revoked API key")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(request: Request) -> Principal:
    principal = await get_principal(request)
    if principal.kind != "admin":
        raise Forbidden("this endpoint needs the admin key")
    return principal


async def require_internal(request: Request) -> Principal:
    principal = await get_principal(request)
    if principal.kind not in ("internal", "admin"):
        raise Forbidden("this endpoint is for the platform's services")
    return principal


async def require_shop(request: Request) -> str:
    """The shop the request acts for: a shop key's own shop, or X-Shop-Id from a service."""
    return (await get_principal(request)).require_shop_id()


async def require_internal_shop(request: Request) -> str:
    """A service acting for a shop (X-Shop-Id)."""
    return (await require_internal(request)).require_shop_id()


AdminDep = Annotated[Principal, Depends(require_admin)]
InternalDep = Annotated[Principal, Depends(require_internal)]
ShopIdDep = Annotated[str, Depends(require_shop)]
InternalShopIdDep = Annotated[str, Depends(require_internal_shop)]
