"""Refusing a stranger costs (almost) nothing: a made-up key is looked up once per refusal TTL, not once per
request; a revoked key is refused by every service within 2 s; a flood from one address is refused with 429
before any key lookup. Shipping and tracking run in-process and reach the in-process allocation app through
respx (http://allocation.test), which counts their key lookups."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import respx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from runtime.auth import CachedResolver, RevocationFeed
from runtime.redis_clients import open_redis
from tests.integration.conftest import make_shop
from tests.support import ADMIN_KEY, INTERNAL_KEY, Env, bearer
from tests.tcp_proxy import TcpProxy

ALLOCATION = "http://allocation.test"
# A shop route of each service (any will do: refused keys never reach it).
SHOP_PATH = {"shipping": "/v1/orders", "tracking": "/v1/alerts"}


class Lookups:
    """The services' key lookups, forwarded to the allocation app and counted."""

    def __init__(self, allocation: httpx.AsyncClient) -> None:
        self.allocation = allocation
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/internal/v1/keys/introspect":
            self.calls += 1
        resp = await self.allocation.request(
            request.method, request.url.raw_path.decode(), content=request.content, headers=request.headers
        )
        return httpx.Response(resp.status_code, content=resp.content, headers=resp.headers)


@pytest.fixture
def lookups(allocation_client: httpx.AsyncClient) -> Iterator[Lookups]:
    counter = Lookups(allocation_client)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="allocation.test").mock(side_effect=counter)
        yield counter


def _app(service: str, **overrides: Any) -> FastAPI:
    if service == "shipping":
        from services.shipping.main import create_app as shipping_app
        from services.shipping.settings import ShippingSettings

        return shipping_app(ShippingSettings(allocation_url=ALLOCATION, **overrides))
    if service == "tracking":
        from services.tracking.main import create_app as tracking_app
        from services.tracking.settings import TrackingSettings

        return tracking_app(TrackingSettings(allocation_url=ALLOCATION, **overrides))
    from services.allocation.main import create_app as allocation_app
    from services.allocation.settings import AllocationSettings

    return allocation_app(AllocationSettings(**overrides))


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[Any]:
    """The app with its lifespan run: what the clients below are given."""
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


def client_at(served: Any, host: str) -> httpx.AsyncClient:
    """A client whose requests come from ``host`` (what uvicorn would put in the scope)."""
    transport = httpx.ASGITransport(app=served, client=(host, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


# Addresses unique to each run: the limits live in Redis for minutes, and test runs may share a database.
def _ipv4() -> str:
    return "10.{}.{}.{}".format(*(random.randrange(256) for _ in range(3)))


def _ipv6_64() -> str:
    return f"2001:db8:{random.randrange(1 << 16):x}:{random.randrange(1 << 16):x}"


def _made_up_key() -> str:
    return f"wbk_{secrets.token_hex(8)}_{secrets.token_hex(24)}"


# -- unknown keys are cached as refusals ------------------------------------------------------------------


@pytest.mark.parametrize("service", ["shipping", "tracking"])
async def test_a_flood_of_one_made_up_key_costs_a_handful_of_lookups(env: Env, lookups: Lookups, service: str) -> None:
    path = SHOP_PATH[service]
    async with running(_app(service)) as served, client_at(served, _ipv4()) as client:
        key = bearer(_made_up_key())
        # 200 at once (one lookup shared), then 800 one after another (the cached refusal).
        together = await asyncio.gather(*(client.get(path, headers=key) for _ in range(200)))
        assert {r.status_code for r in together} == {401}
        for _ in range(800):
            resp = await client.get(path, headers=key)
            assert resp.status_code == 401
            assert resp.json()["error"]["code"] == "unauthorized"
    # One per refusal TTL (5 s) at most, however slow the machine.
    assert 1 <= lookups.calls <= 3


async def test_a_flood_of_one_made_up_key_costs_allocation_a_handful_of_queries(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.allocation.repository.shops import DbKeyResolver

    queries = 0
    real = DbKeyResolver.resolve

    async def counting(self: DbKeyResolver, key_id: str, secret_hash: str) -> str | None:
        nonlocal queries
        queries += 1
        return await real(self, key_id, secret_hash)

    monkeypatch.setattr(DbKeyResolver, "resolve", counting)
    async with running(_app("allocation")) as served, client_at(served, _ipv4()) as client:
        key = bearer(_made_up_key())
        for _ in range(1000):
            assert (await client.get("/v1/balance", headers=key)).status_code == 401
    assert 1 <= queries <= 3


# -- revocations reach every service within 2 s -----------------------------------------------------------


@pytest.mark.parametrize("service", ["shipping", "tracking"])
async def test_a_key_revoked_on_allocation_is_refused_by_another_service_within_2_s(
    env: Env, lookups: Lookups, allocation_client: httpx.AsyncClient, service: str
) -> None:
    path = SHOP_PATH[service]
    shop = await make_shop(allocation_client)
    app = _app(service)
    async with running(app) as served, client_at(served, _ipv4()) as client:
        await asyncio.wait_for(app.state.auth.revocations.subscribed.wait(), 10)
        assert (await client.get(path, headers=shop.headers)).status_code == 200
        calls = lookups.calls
        assert (await client.get(path, headers=shop.headers)).status_code == 200
        assert lookups.calls == calls  # served from the cache, which alone would trust the key for 30 s

        key_id = shop.key.split("_")[1]
        started = time.monotonic()
        revoked = await allocation_client.delete(f"/v1/shops/{shop.id}/keys/{key_id}", headers=bearer(ADMIN_KEY))
        assert revoked.status_code == 204
        while (resp := await client.get(path, headers=shop.headers)).status_code == 200:
            assert time.monotonic() - started < 2, f"{service} still accepts the key 2 s after its revocation"
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
        assert resp.status_code == 401, resp.text
        assert elapsed < 2
        # And it stays refused (the refusal is cached, and allocation says so when asked again).
        assert (await client.get(path, headers=shop.headers)).status_code == 401


class _OneKey:
    def __init__(self) -> None:
        self.calls = 0

    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        self.calls += 1
        return "s-1" if key_id == "good" else None


async def test_the_revocation_feed_subscribes_again_after_redis_trouble(env: Env) -> None:
    """A reset connection: the feed subscribes again by itself, forgets the keys it had confirmed (a
    revocation may have gone unheard meanwhile), and hears the next revocation."""
    proxy = TcpProxy.for_url(env.redis_url)
    await proxy.start()
    db = int(env.redis_url.rsplit("/", 1)[-1] or 0)
    through_proxy, direct = open_redis(proxy.url(db)), open_redis(env.redis_url)
    inner = _OneKey()
    cached = CachedResolver(inner, ttl=60)
    channel = f"test:key-revoked:{uuid.uuid4().hex}"  # not the channel running services follow
    feed = RevocationFeed(through_proxy, cached, channel=channel)
    feed.start()
    try:
        await asyncio.wait_for(feed.subscribed.wait(), 10)
        assert await cached.resolve("good", "h") == "s-1"
        feed.subscribed.clear()
        assert proxy.reset() >= 1
        await asyncio.wait_for(feed.subscribed.wait(), 15)
        assert await cached.resolve("good", "h") == "s-1"
        assert inner.calls == 2  # asked again after the gap
        await direct.publish(channel, b"good")
        deadline = time.monotonic() + 2
        while await cached.resolve("good", "h") is not None:
            assert time.monotonic() < deadline, "the revocation was not heard after resubscribing"
            await asyncio.sleep(0.02)
    finally:
        await feed.close()
        await through_proxy.aclose()
        await direct.aclose()
        await proxy.close()


# -- a per-address limit before authentication ------------------------------------------------------------


async def test_an_address_over_its_limit_gets_429_before_any_key_lookup(
    env: Env, lookups: Lookups, allocation_client: httpx.AsyncClient
) -> None:
    shop = await make_shop(allocation_client)
    app = _app("tracking", address_rate_limit_per_s=0.01, address_rate_limit_burst=3)
    subnet = _ipv6_64()
    async with (
        running(app) as served,
        client_at(served, f"{subnet}::1") as client,
        client_at(served, f"{subnet}::beef") as neighbour,
        client_at(served, _ipv4()) as stranger,
    ):
        # A shop key this process confirms (from elsewhere) is known good from then on.
        assert (await stranger.get("/v1/alerts", headers=shop.headers)).status_code == 200
        lookups.calls = 0
        for _ in range(3):  # the burst: each made-up key is looked up (and refused)
            assert (await client.get("/v1/alerts", headers=bearer(_made_up_key()))).status_code == 401
        assert lookups.calls == 3

        limited = await client.get("/v1/alerts", headers=bearer(_made_up_key()))
        assert limited.status_code == 429, limited.text
        error = limited.json()["error"]
        assert error["code"] == "rate_limited"
        assert "address" in error["message"]
        assert error["details"]["burst"] == 3
        # The next slot is one emission interval (100 s) away, give or take the test's own run time.
        assert 90 <= int(limited.headers["Retry-After"]) <= 100
        assert limited.headers["X-Request-ID"]
        assert (await client.get("/v1/alerts")).status_code == 429  # no key at all: the same
        assert (await neighbour.get("/v1/alerts")).status_code == 429  # the same IPv6 /64
        assert lookups.calls == 3  # refused before the key was looked at

        # Never counted: the probes, the provider's webhook, the platform's own keys, a confirmed shop key.
        for probe in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(probe)).status_code == 200, probe
        unknown = '{"lastResult": {"nu": "no-such-number", "com": "zhongtong"}}'
        push = await client.post("/webhooks/tracking/kuaidi100", data={"param": unknown, "sign": "X"})
        assert push.status_code == 400, push.text
        internal = await client.get("/v1/alerts", headers=bearer(INTERNAL_KEY, "shop-cheap-refusals"))
        assert internal.status_code == 200, internal.text
        assert (await client.get("/v1/alerts", headers=shop.headers)).status_code == 200

        # Another address has its own budget.
        assert (await stranger.get("/v1/alerts", headers=bearer(_made_up_key()))).status_code == 401
        assert lookups.calls == 4
