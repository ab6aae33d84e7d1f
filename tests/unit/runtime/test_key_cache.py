"""The shop-key cache every service resolves keys through (runtime.auth.CachedResolver) and the revocation
feed that reaches it: refusals cost one lookup per interval, concurrent lookups share one call, memory is
bounded, a revocation refuses the key at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from runtime.auth import CachedResolver, RevocationFeed
from runtime.redis_clients import open_redis

GOOD = ("good", "right-hash")


class Counting:
    """Knows one key; counts every call, optionally holding each until ``release`` is set."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.release: asyncio.Event | None = None

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        self.calls += 1
        if self.release is not None:
            await self.release.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        return "s-1" if (key_id, secret_hash) == GOOD else None


async def test_confirmed_keys_are_cached() -> None:
    inner = Counting()
    cached = CachedResolver(inner, ttl=60)
    for _ in range(100):
        assert await cached.resolve(*GOOD) == "s-1"
    assert inner.calls == 1


async def test_a_refused_key_is_asked_about_once_per_refusal_ttl() -> None:
    inner = Counting()
    cached = CachedResolver(inner, ttl=60, refusal_ttl=0.2)
    for _ in range(1000):
        assert await cached.resolve("made-up", "h") is None
    assert inner.calls == 1
    await asyncio.sleep(0.25)  # the refusal has expired: asked again, once
    for _ in range(1000):
        assert await cached.resolve("made-up", "h") is None
    assert inner.calls == 2


async def test_concurrent_lookups_of_one_key_share_one_call() -> None:
    inner = Counting(delay=0.05)
    cached = CachedResolver(inner)
    refused = await asyncio.gather(*(cached.resolve("made-up", "h") for _ in range(500)))
    confirmed = await asyncio.gather(*(cached.resolve(*GOOD) for _ in range(500)))
    assert set(refused) == {None}
    assert set(confirmed) == {"s-1"}
    assert inner.calls == 2


async def test_a_wrong_secret_for_a_real_key_id_does_not_get_the_real_key_refused() -> None:
    inner = Counting()
    cached = CachedResolver(inner)
    for _ in range(10):
        assert await cached.resolve(GOOD[0], "a-guess") is None
    assert await cached.resolve(*GOOD) == "s-1"


async def test_each_cache_holds_at_most_max_keys() -> None:
    inner = Counting()
    cached = CachedResolver(inner, max_keys=100)
    for i in range(10_000):
        assert await cached.resolve(f"k{i}", "h") is None
    assert cached.sizes[1] == 100
    # The newest are the ones kept: the last key is still refused without a call.
    calls = inner.calls
    assert await cached.resolve("k9999", "h") is None
    assert inner.calls == calls


async def test_a_revoked_key_is_refused_at_once_whatever_the_secret() -> None:
    inner = Counting()
    cached = CachedResolver(inner, ttl=60)
    assert await cached.resolve(*GOOD) == "s-1"
    cached.revoked(GOOD[0])
    assert await cached.resolve(*GOOD) is None
    assert await cached.resolve(GOOD[0], "other") is None
    assert inner.calls == 1  # refused without asking


async def test_a_lookup_in_flight_when_its_key_is_revoked_is_not_trusted() -> None:
    inner = Counting()
    inner.release = asyncio.Event()
    cached = CachedResolver(inner, ttl=60)
    pending = asyncio.create_task(cached.resolve(*GOOD))
    await asyncio.sleep(0.01)  # the lookup has started: the answer it will bring predates the revocation
    cached.revoked(GOOD[0])
    inner.release.set()
    assert await pending is None
    assert cached.sizes[0] == 0


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_cached() -> None:
    class Down:
        calls = 0

        async def resolve(self, key_id: str, secret_hash: str) -> str | None:
            self.calls += 1
            await asyncio.sleep(0.02)
            raise ConnectionError("allocation unreachable")

    inner = Down()
    cached = CachedResolver(inner)
    results = await asyncio.gather(*(cached.resolve(*GOOD) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert inner.calls == 1
    with pytest.raises(ConnectionError):
        await cached.resolve(*GOOD)
    assert inner.calls == 2


async def test_a_caller_that_goes_away_does_not_cancel_the_others_lookup() -> None:
    inner = Counting(delay=0.05)
    cached = CachedResolver(inner)
    first = asyncio.create_task(cached.resolve(*GOOD))
    second = asyncio.create_task(cached.resolve(*GOOD))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == "s-1"
    assert inner.calls == 1


async def test_the_feed_refuses_a_key_heard_revoked_and_drops_confirmed_keys_on_each_subscription() -> None:
    inner = Counting()
    cached = CachedResolver(inner, ttl=60)
    feed = RevocationFeed(None, cached)
    assert await cached.resolve(*GOOD) == "s-1"
    feed._on_subscribed()  # (re)subscribed: revocations may have been missed meanwhile
    assert feed.subscribed.is_set()
    assert await cached.resolve(*GOOD) == "s-1"
    assert inner.calls == 2
    feed._heard(b"good")
    assert await cached.resolve(*GOOD) is None
    feed._heard(b"x" * 500)  # not a key id: ignored
    assert cached.sizes[2] == 1


async def test_publishing_a_revocation_without_redis_fails_fast_and_says_so() -> None:
    redis = open_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        feed = RevocationFeed(redis, None)
        started = time.monotonic()
        assert await feed.publish("k1") is False
        assert time.monotonic() - started < 2
    finally:
        await redis.aclose()
