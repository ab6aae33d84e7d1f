"""Per-API-key rate limits: 429 in the error shape with Retry-After, other keys unaffected."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

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
