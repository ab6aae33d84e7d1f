"""Per-API-key rate limits: 429 in the error shape with Retry-After, other keys unaffected."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from tests.integration.conftest import make_shop
from tests.support import ADMIN_KEY, INTERNAL_KEY, Env, app_client, bearer

BURST = 3
# One request per 100 s: nothing refills while the test runs, however slow the machine.
RATE = 0.01


def _allocation_app(rate: float, burst: int) -> FastAPI:
    from services.allocation.main import create_app
    from services.allocation.settings import AllocationSettings

    return create_app(AllocationSettings(rate_limit_per_s=rate, rate_limit_burst=burst))


@pytest.fixture
async def limited(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(_allocation_app(RATE, BURST)) as client:
        yield client


def _assert_limited(resp: httpx.Response) -> None:
    assert resp.status_code == 429, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["message"]
    assert body["error"]["details"]["burst"] == BURST
    retry_after = int(resp.headers["Retry-After"])
    # The next slot is one emission interval (100 s) away, give or take the test's own run time.
    assert 90 <= retry_after <= 100
    assert body["error"]["details"]["retry_after_s"] == retry_after


async def test_a_key_over_its_limit_gets_429_and_other_keys_do_not(limited: httpx.AsyncClient) -> None:
    first = await make_shop(limited)
    second = await make_shop(limited)
    for _ in range(BURST):
        assert (await limited.get("/v1/balance", headers=first.headers)).status_code == 200
    _assert_limited(await limited.get("/v1/balance", headers=first.headers))
    # The allocation hot path (its own Starlette route) is limited by the same budget.
    _assert_limited(
        await limited.post("/v1/allocations", json={"carrier": "ZTO", "order_id": "o-1"}, headers=bearer(first.key))
    )
    # Another shop's key has its own budget.
    assert (await limited.get("/v1/balance", headers=second.headers)).status_code == 200
    # The platform's own keys are never limited.
    for _ in range(BURST + 2):
        assert (await limited.get(f"/v1/shops/{first.id}", headers=bearer(ADMIN_KEY))).status_code == 200
        resp = await limited.get("/v1/balance", headers=bearer(INTERNAL_KEY, first.id))
        assert resp.status_code == 200


async def test_each_key_of_a_shop_has_its_own_budget(limited: httpx.AsyncClient) -> None:
    shop = await make_shop(limited)
    for _ in range(BURST):
        assert (await limited.get("/v1/balance", headers=shop.headers)).status_code == 200
    _assert_limited(await limited.get("/v1/balance", headers=shop.headers))
    resp = await limited.post(f"/v1/shops/{shop.id}/keys", json={}, headers=bearer(ADMIN_KEY))
    assert resp.status_code == 201, resp.text
    assert (await limited.get("/v1/balance", headers=bearer(resp.json()["api_key"]))).status_code == 200


async def test_bad_keys_do_not_use_up_a_shops_budget(limited: httpx.AsyncClient) -> None:
    shop = await make_shop(limited)
    key_id = shop.key.split("_")[1]
    for _ in range(BURST + 2):
        wrong = await limited.get("/v1/balance", headers=bearer(f"wbk_{key_id}_not-the-secret"))
        assert wrong.status_code == 401
    for _ in range(BURST):
        assert (await limited.get("/v1/balance", headers=shop.headers)).status_code == 200


async def test_limit_zero_means_no_limiter(env: Env) -> None:
    app = _allocation_app(0, 1)
    async with app_client(app) as client:
        assert app.state.auth.limiter is None
        shop = await make_shop(client)
        for _ in range(20):
            assert (await client.get("/v1/balance", headers=shop.headers)).status_code == 200


async def test_concurrent_checks_share_a_redis_call_and_each_books_its_own_slot(redis: Redis) -> None:
    """Checks made while a call is in flight go together in the next one: fewer calls than checks, yet a key
    named by many of them is granted exactly its burst, and each key keeps its own budget."""
    from runtime.ratelimit import RateLimit, RateLimited, RateLimiter

    limiter = RateLimiter(redis, f"group-{uuid.uuid4().hex[:8]}", RateLimit(RATE, BURST))
    gcra = limiter._gcra
    calls: list[int] = []
    script = gcra._script

    async def counted(*, keys: list[str], args: list[int]) -> list[int]:
        calls.append(len(keys))
        return list(await script(keys=keys, args=args))

    gcra._script = counted
    results = await asyncio.gather(*(limiter.check(f"key-{i % 4}") for i in range(40)), return_exceptions=True)
    assert calls == [40]  # all made before the loop turned: one call
    for k in range(4):
        mine = results[k::4]
        assert sum(r is None for r in mine) == BURST
        assert all(isinstance(r, RateLimited) for r in mine if r is not None)
    # Alone, a check goes at once in a call of its own; made while that call is in flight, they go together.
    calls.clear()
    alone = asyncio.create_task(limiter.check("key-alone"))
    await asyncio.sleep(0)
    behind = [asyncio.create_task(limiter.check(f"key-behind-{i}")) for i in range(10)]
    await asyncio.gather(alone, *behind)
    assert calls == [1, 10]


async def test_a_check_that_gives_up_leaves_the_shared_call_to_the_others(redis: Redis) -> None:
    from runtime.ratelimit import RateLimit, RateLimiter

    limiter = RateLimiter(redis, f"group-{uuid.uuid4().hex[:8]}", RateLimit(RATE, 100))
    gcra = limiter._gcra
    script, release = gcra._script, asyncio.Event()

    async def slow(*, keys: list[str], args: list[int]) -> list[int]:
        await release.wait()
        return list(await script(keys=keys, args=args))

    gcra._script = slow
    first = asyncio.create_task(gcra.wait_us("a"))
    await asyncio.sleep(0)
    quitter = asyncio.create_task(gcra.wait_us("b"))
    stayer = asyncio.create_task(gcra.wait_us("c"))
    await asyncio.sleep(0.01)
    quitter.cancel()
    release.set()
    assert await first == 0
    assert await stayer == 0
    assert quitter.cancelled()


async def test_a_redis_error_reaches_every_check_of_the_call_and_they_fail_open() -> None:
    from runtime.ratelimit import RateLimit, RateLimiter

    broken = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        limiter = RateLimiter(broken, "group-broken", RateLimit(RATE, 1))
        results = await asyncio.gather(*(limiter.check("k") for _ in range(10)), return_exceptions=True)
        assert results == [None] * 10  # no 429 and no error: Redis could not say, so they go through
    finally:
        await broken.aclose()
