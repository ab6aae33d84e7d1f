"""Who is calling: operators (admin key), other services (internal key) or a shop (its API key).

Shop keys look like ``wbk_<key id>_<secret>``; only a SHA-256 of the secret is stored (the secret
is 32 random bytes, so a slow hash adds nothing). The allocation service owns shops and keys; the
other services resolve a key by asking it. Every service caches the answers (CachedResolver): a
confirmed key for ``key_cache_ttl_s``, a refusal (unknown or revoked key) for ``key_refusal_ttl_s``, so a
flood of one made-up key costs one lookup per process and interval. A revocation is broadcast on Redis
pub/sub (RevocationFeed) and drops the key in every process within about a second; the cache TTL is the
fallback while Redis is down.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

from fastapi import Depends, Request

from runtime import pubsub
from runtime.apis.allocation import AllocationApi
from runtime.errors import Forbidden, Unauthorized
from runtime.logging import get_logger
from runtime.ratelimit import RateLimiter
from runtime.redis_health import REDIS_ERRORS, RedisHealth
from runtime.settings import ServiceSettings

log = get_logger(__name__)

KEY_PREFIX = "wbk"
SHOP_HEADER = "X-Shop-Id"
CACHE_TTL_S = 30.0
REFUSAL_TTL_S = 5.0
CACHE_MAX_KEYS = 10_000
REVOCATION_CHANNEL = "auth:key-revoked"
# The revoke route waits at most this long for Redis before it answers (the revocation itself has committed).
_PUBLISH_TIMEOUT_S = 1.0
# A key id is 16 hex characters; anything much longer on the channel is not one of ours.
_MAX_KEY_ID = 64

K = TypeVar("K")
V = TypeVar("V")


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


class _Expiring(Generic[K, V]):
    """A map whose entries all live ``ttl`` seconds, holding at most ``cap`` of them. With one TTL for all,
    insertion order is expiry order: the oldest entry is the first to go, whether it has expired or the map
    is full, so there is no sweep and nothing to do on a hit."""

    def __init__(self, ttl: float, cap: int) -> None:
        self.ttl = ttl
        self.cap = cap
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K, now: float) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] > now:
            return item[1]
        del self._items[key]
        return None

    def put(self, key: K, value: V, now: float) -> None:
        items = self._items
        items.pop(key, None)  # to the end: its expiry is now the latest
        items[key] = (now + self.ttl, value)
        while len(items) > self.cap:
            items.popitem(last=False)
        while items:
            expires = next(iter(items.values()))[0]
            if expires > now:
                break
            items.popitem(last=False)

    def discard_where(self, doomed: Callable[[K], bool]) -> None:
        for key in [k for k in self._items if doomed(k)]:
            del self._items[key]

    def clear(self) -> None:
        self._items.clear()


class CachedResolver:
    """The answers of ``inner``, kept in this process.

    A confirmed key is trusted for ``ttl`` seconds, so the hot path pays no lookup per request. An unknown
    or revoked key is refused for ``refusal_ttl`` seconds without asking again, so a flood of one made-up
    key costs one lookup per interval; refusals are kept per key id *and* secret hash, so a stranger who
    sends a real key id with a made-up secret cannot get the real key refused. Concurrent lookups of one
    key share one call. Each cache holds at most ``max_keys`` entries (the oldest go first): a flood of
    distinct made-up keys costs bounded memory and one lookup each, which the per-address limit
    (runtime.address_limit) holds to its rate. ``revoked`` (fed by RevocationFeed) refuses a key id at once.
    """

    def __init__(
        self,
        inner: ShopKeyResolver,
        ttl: float = CACHE_TTL_S,
        refusal_ttl: float = REFUSAL_TTL_S,
        max_keys: int = CACHE_MAX_KEYS,
    ) -> None:
        self._inner = inner
        self._confirmed: _Expiring[tuple[str, str], str] = _Expiring(ttl, max_keys)
        self._refused: _Expiring[tuple[str, str], bool] = _Expiring(refusal_ttl, max_keys)
        # Key ids heard revoked, refused whatever the secret for as long as a confirmed key is trusted: a
        # lookup that was already in flight when the revocation was published may still answer "valid".
        self._revoked: _Expiring[str, bool] = _Expiring(ttl, max_keys)
        self._inflight: dict[tuple[str, str], asyncio.Task[str | None]] = {}

    @classmethod
    def from_settings(cls, inner: ShopKeyResolver, settings: ServiceSettings) -> CachedResolver:
        return cls(inner, settings.key_cache_ttl_s, settings.key_refusal_ttl_s, settings.key_cache_size)

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        key = (key_id, secret_hash)
        now = time.monotonic()
        shop_id = self._confirmed.get(key, now)
        if shop_id is not None:
            return shop_id
        if self._refused.get(key, now) or self._revoked.get(key_id, now):
            return None
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._lookup(key))
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._landed, key))
        # Shielded: a caller that goes away (client disconnected) must not cancel the others' lookup.
        return await asyncio.shield(task)

    async def _lookup(self, key: tuple[str, str]) -> str | None:
        shop_id = await self._inner.resolve(*key)
        now = time.monotonic()
        if shop_id is None:
            self._refused.put(key, True, now)
        elif self._revoked.get(key[0], now):
            return None  # revoked while we were asking
        else:
            self._confirmed.put(key, shop_id, now)
        return shop_id

    def _landed(self, key: tuple[str, str], task: asyncio.Task[str | None]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved, so a failure whose callers all left is not reported as unhandled

    def is_confirmed(self, key_id: str, secret_hash: str) -> bool:
        """Whether this key is confirmed here right now (no lookup)."""
        return self._confirmed.get((key_id, secret_hash), time.monotonic()) is not None

    def revoked(self, key_id: str) -> None:
        """Refuse this key id from now on, whatever this process had confirmed."""
        self._revoked.put(key_id, True, time.monotonic())
        self._confirmed.discard_where(lambda k: k[0] == key_id)

    def drop_confirmed(self) -> None:
        """Forget every confirmed key (each is asked about again once): revocations may have gone unheard."""
        self._confirmed.clear()

    @property
    def sizes(self) -> tuple[int, int, int]:
        """Entries held: (confirmed, refused, revoked)."""
        return len(self._confirmed), len(self._refused), len(self._revoked)


class RevocationFeed:
    """Key revocations over Redis pub/sub.

    The allocation service publishes a key's id once its revocation has committed (AuthConfig.key_revoked);
    every API process follows the channel and has its CachedResolver refuse that key id. Pub/sub keeps
    nothing: a revocation published while Redis, or a subscriber's connection, is down goes unheard, and
    that process's cache TTL bounds how long the key still works there. Every (re)subscription therefore
    drops all confirmed keys, so a process that was cut off asks again instead of waiting out the TTL.
    The subscriber never ends the process: it reports Redis trouble to a RedisHealth and subscribes again
    with backoff (runtime.pubsub).
    """

    def __init__(self, redis: Any, resolver: CachedResolver | None, channel: str = REVOCATION_CHANNEL) -> None:
        self._redis = redis
        self._resolver = resolver
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self._publish_health = RedisHealth("auth_revocation_publish")
        self.subscribed = asyncio.Event()  # set once Redis has confirmed the first subscription

    def start(self) -> None:
        """Follow the channel in the background (nothing to follow without a cache)."""
        if self._resolver is not None and self._task is None:
            health = RedisHealth("auth_revocation_listen")
            self._task = asyncio.create_task(
                pubsub.listen(self._redis, self._channel, self._heard, health, self._on_subscribed)
            )

    def _heard(self, data: bytes) -> None:
        key_id = data.decode("ascii", "replace").strip()
        if self._resolver is not None and 0 < len(key_id) <= _MAX_KEY_ID:
            self._resolver.revoked(key_id)

    def _on_subscribed(self) -> None:
        if self._resolver is not None:
            self._resolver.drop_confirmed()
        self.subscribed.set()

    async def publish(self, key_id: str) -> bool:
        """Tell every process; False (logged) when Redis could not be reached in time."""
        try:
            await asyncio.wait_for(self._redis.publish(self._channel, key_id.encode()), _PUBLISH_TIMEOUT_S)
        except REDIS_ERRORS as exc:  # TimeoutError (wait_for) is an OSError
            self._publish_health.failed(exc)
            log.warning("key_revocation_not_broadcast", key_id=key_id, error=f"{type(exc).__name__}: {exc}")
            return False
        self._publish_health.ok()
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class HttpKeyResolver:
    """Resolves shop keys through the allocation service (its internal introspection endpoint)."""

    def __init__(self, allocation: AllocationApi) -> None:
        self._allocation = allocation

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        return await self._allocation.shop_of_key(key_id, secret_hash)


@dataclass
class AuthConfig:
    admin_key: str
    internal_key: str
    resolver: ShopKeyResolver
    limiter: RateLimiter | None = None
    # Per client address, before authentication (runtime.address_limit reads it from here).
    address_limiter: RateLimiter | None = None
    revocations: RevocationFeed | None = None
    _admin: bytes = field(init=False, repr=False)
    _internal: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._admin = self.admin_key.encode()
        self._internal = self.internal_key.encode()

    def platform_kind(self, key: str) -> Literal["admin", "internal"] | None:
        """Whether ``key`` is one of the platform's own keys (compared in constant time)."""
        presented = key.encode()
        if hmac.compare_digest(presented, self._admin):
            return "admin"
        if hmac.compare_digest(presented, self._internal):
            return "internal"
        return None

    def vouched_for(self, key: str) -> bool:
        """A platform key, or a shop key this process has confirmed and still trusts: known good without a
        lookup (the per-address limit does not count these)."""
        if self.platform_kind(key) is not None:
            return True
        if not isinstance(self.resolver, CachedResolver):
            return False
        parsed = parse_key(key)
        return parsed is not None and self.resolver.is_confirmed(parsed[0], hash_secret(parsed[1]))

    async def key_revoked(self, key_id: str) -> bool:
        """Call once a revocation has committed: refuses the key in this process at once and tells every
        other process. False when the broadcast failed (they stop accepting it when their cache expires)."""
        if isinstance(self.resolver, CachedResolver):
            self.resolver.revoked(key_id)
        return await self.revocations.publish(key_id) if self.revocations is not None else False


BEARER_SCHEME = "ApiKey"


def read_key_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """(presented key, X-Shop-Id) from the raw ASGI headers, in one pass (building Starlette's
    Headers object costs more than the rest of the check)."""
    key = api_key = shop = None
    for name, value in headers:
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
    key, shop_header = read_key_headers(request.scope["headers"])
    if not key:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    config: AuthConfig = request.app.state.auth
    platform = config.platform_kind(key)
    if platform is not None:
        return Principal(platform, shop_header)
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
