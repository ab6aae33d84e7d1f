"""The dashboard's session store on a real Redis (a claimed database of its own): what Redis holds, the
idle and absolute lifetimes, the once-a-minute refresh, sign-out, and Redis down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.typing import KeyT

from runtime.redis_clients import connection_pool, open_redis
from runtime.redis_health import RedisHealth
from services.dashboard.session import (
    REDIS_PREFIX,
    SessionStore,
    SessionStoreUnavailable,
    new_session_id,
    redis_key,
)
from tests.live import free_port
from tests.support import base_redis_url, empty_redis_db

SECRET = "a-test-secret-that-is-long-enough-000"
KEY = "wbk_k1_secret"
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with empty_redis_db(base_redis_url()) as url:
        yield url


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    redis = open_redis(redis_url)
    yield redis
    await redis.aclose()


def store(
    redis: Redis, clock: Clock | None = None, *, idle_s: float = 8 * HOUR, max_s: float = 168 * HOUR
) -> SessionStore:
    return SessionStore(redis, SECRET, idle_s=idle_s, max_s=max_s, health=RedisHealth("test"), clock=clock or time.time)


async def test_redis_holds_the_ids_hash_and_neither_the_id_nor_the_key(client: Redis) -> None:
    sessions = store(client)
    sid, session = await sessions.create("shop", KEY, "s-1", "杭州小铺")
    assert await sessions.load(sid) == session
    raw = await client.get(redis_key(sid))
    assert raw is not None
    for secret in (sid, KEY, session.csrf):
        assert secret.encode() not in raw
    keys = {k.decode() async for k in client.scan_iter(match=REDIS_PREFIX + "*")}
    assert redis_key(sid) in keys
    assert not any(sid in k for k in keys)
    ttl_ms = await client.pttl(redis_key(sid))
    assert 8 * HOUR * 1000 - 5000 < ttl_ms <= 8 * HOUR * 1000


async def test_the_ttl_never_reaches_past_the_absolute_lifetime(client: Redis) -> None:
    sid, _ = await store(client, idle_s=8 * HOUR, max_s=HOUR).create("operator", "admin", None, None)
    assert HOUR * 1000 - 5000 < await client.pttl(redis_key(sid)) <= HOUR * 1000


async def test_an_idle_session_expires_in_redis(client: Redis) -> None:
    sessions = store(client, idle_s=0.3)
    sid, _ = await sessions.create("shop", KEY, "s-1", None)
    await asyncio.sleep(0.5)
    assert await sessions.load(sid) is None
    assert not await client.exists(redis_key(sid))


async def test_use_extends_the_idle_ttl_at_most_once_a_minute_and_never_past_the_absolute_lifetime(
    client: Redis,
) -> None:
    clock = Clock()
    sessions = store(client, clock, idle_s=600, max_s=620)
    sid, created = await sessions.create("shop", KEY, "s-1", None)
    stored = await client.get(redis_key(sid))
    clock.now += 30
    assert await sessions.load(sid) == created
    assert await client.get(redis_key(sid)) == stored  # not rewritten within the minute
    clock.now += 31
    touched = await sessions.load(sid)
    assert touched is not None
    assert touched.seen == clock.now
    assert touched.created == created.created
    assert await client.get(redis_key(sid)) != stored
    # Extended, but only to the absolute lifetime: 620 - 61 = 559 s left.
    assert 559_000 - 5000 < await client.pttl(redis_key(sid)) <= 559_000


async def test_the_absolute_lifetime_ends_a_session_however_often_it_is_used(client: Redis) -> None:
    clock = Clock()
    sessions = store(client, clock, idle_s=100, max_s=300)
    sid, _ = await sessions.create("shop", KEY, "s-1", None)
    for _ in range(3):
        clock.now += 90
        assert await sessions.load(sid) is not None  # used within the idle timeout each time
    clock.now += 30  # 300 s after sign-in; Redis's TTL (idle) alone would keep it
    assert await sessions.load(sid) is None
    assert not await client.exists(redis_key(sid))


class SignOutDuringLoad(Redis):
    """A Redis where a sign-out lands between a page load's GET and its refresh."""

    def get(self, name: KeyT) -> Any:
        async def get_then_sign_out() -> Any:
            value = await Redis.get(self, name)
            await self.delete(name)
            return value

        return get_then_sign_out()


async def test_a_refresh_never_brings_back_a_session_signed_out_meanwhile(redis_url: str) -> None:
    racing = SignOutDuringLoad(connection_pool=connection_pool(redis_url))
    try:
        clock = Clock()
        sessions = store(racing, clock)
        sid, _ = await sessions.create("shop", KEY, "s-1", None)
        clock.now += 61  # due for a refresh
        assert await sessions.load(sid) is None
        assert not await racing.exists(redis_key(sid))
    finally:
        await racing.aclose()


async def test_sign_out_deletes_the_session(client: Redis) -> None:
    sessions = store(client)
    sid, _ = await sessions.create("shop", KEY, "s-1", None)
    await sessions.delete(sid)
    assert not await client.exists(redis_key(sid))
    assert await sessions.load(sid) is None
    await sessions.delete(None)
    await sessions.delete("not-an-id")


async def test_a_new_secret_key_signs_everyone_out(client: Redis) -> None:
    sid, _ = await store(client).create("shop", KEY, "s-1", None)
    rotated = SessionStore(client, "another-secret-of-enough-length-0000", idle_s=HOUR, max_s=HOUR)
    assert await rotated.load(sid) is None
    assert not await client.exists(redis_key(sid))


async def test_unknown_and_malformed_ids_are_no_session(client: Redis) -> None:
    sessions = store(client)
    for value in (None, "", new_session_id(), "é", "a.é", "A" * 4000, new_session_id()[:-1] + "!"):
        assert await sessions.load(value) is None, value


async def test_redis_down_raises_unavailable_and_fails_fast_afterwards() -> None:
    redis = open_redis(f"redis://127.0.0.1:{free_port()}/0")
    health = RedisHealth("test_down")
    sessions = SessionStore(redis, SECRET, idle_s=HOUR, max_s=HOUR, health=health)
    try:
        with pytest.raises(SessionStoreUnavailable):
            await sessions.create("shop", KEY, "s-1", None)
        assert health.down
        started = time.monotonic()
        for call in (sessions.load(new_session_id()), sessions.delete(new_session_id()), sessions.ping()):
            with pytest.raises(SessionStoreUnavailable):
                await call
        assert time.monotonic() - started < 0.5  # within the probe interval: no connect attempt each time
        assert await sessions.load("é") is None  # a malformed cookie needs no Redis to be refused
    finally:
        await redis.aclose()
