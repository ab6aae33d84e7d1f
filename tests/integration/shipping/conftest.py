"""Shipping integration fixtures: the shipping app in-process, the allocation app behind
http://allocation.test, and respx fakes for the marketplace, tracking, the courier behind allocation and shop
webhook receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import respx

from tests.integration.allocation_support import seed_numbers
from tests.integration.conftest import ShopCreds, make_shop
from tests.integration.shipping.fake_courier import FakeCourier
from tests.integration.shipping.fake_pinduoduo import FakePinduoduo
from tests.integration.shipping.fakes import FakeMarketplace, FakeTracking, Recorder
from tests.support import Env, app_client, restore_env, set_in_process_env

if TYPE_CHECKING:
    from services.shipping.settings import ShippingSettings

ALLOCATION = "http://allocation.test"
MARKETPLACE = "http://marketplace.test/router/rest"
PINDUODUO = "http://pdd.test/api/router"
TRACKING = "http://tracking.test"
HOOKS = "http://hooks.test"

SHIPPING_ENV = {
    "SHIPPING_ALLOCATION_URL": ALLOCATION,
    "SHIPPING_MARKETPLACE_URL": MARKETPLACE,
    "SHIPPING_PINDUODUO_URL": PINDUODUO,
    "SHIPPING_TRACKING_URL": TRACKING,
    "SHIPPING_CONFIRM_RETRY_BASE_S": "0.01",
    "SHIPPING_CONFIRM_RETRY_MAX_S": "0.05",
    "SHIPPING_WEBHOOK_RETRY_BASE_S": "0.01",
    "SHIPPING_WEBHOOK_MAX_TRIES": "3",
    "SHIPPING_TRACKING_MAX_TRIES": "3",
    "SHIPPING_CONFIRM_LEASE_S": "5",
    "SHIPPING_BATCH_CHUNK_SIZE": "50",
}


@pytest.fixture(scope="session")
def shipping_env(env: Env) -> Iterator[Env]:
    saved = set_in_process_env(SHIPPING_ENV)
    from services.shipping.settings import get_settings

    get_settings.cache_clear()
    yield env
    restore_env(saved)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shipping_settings(shipping_env: Env) -> ShippingSettings:
    """The in-process app's settings (a test may change a field for itself with monkeypatch)."""
    from services.shipping.settings import ShippingSettings

    return ShippingSettings()


@pytest.fixture(scope="session")
async def shipping_client(
    shipping_settings: ShippingSettings, allocation_client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    from services.shipping.main import create_app

    async with app_client(create_app(shipping_settings)) as client:
        yield client


def set_webhook_policy(
    monkeypatch: pytest.MonkeyPatch, app_settings: ShippingSettings, *, allow_http: bool, internal_hosts: str
) -> None:
    """The webhook URL policy for this test only, in the app (saving) and in the worker (delivering)."""
    from services.shipping.settings import get_settings

    for settings in (app_settings, get_settings()):
        monkeypatch.setattr(settings, "webhook_allow_http", allow_http)
        monkeypatch.setattr(settings, "webhook_allowed_internal_hosts", internal_hosts)


@pytest.fixture
def hooks_test_allowed(monkeypatch: pytest.MonkeyPatch, shipping_settings: ShippingSettings) -> None:
    """The respx receiver on http://hooks.test: plain http and that host allowed, for this test only (both
    are off by default, and no DNS knows hooks.test)."""
    set_webhook_policy(monkeypatch, shipping_settings, allow_http=True, internal_hosts="hooks.test")


@pytest.fixture(autouse=True)
async def _empty_shipping_queue(redis: Any) -> None:
    await redis.delete("arq:shipping")


@asynccontextmanager
async def worker_ctx(redis: Any, *, job_try: int = 1) -> AsyncIterator[dict[str, Any]]:
    """The context a shipping job runs with, built as the worker builds it (its real Resources, over this
    test's Redis as arq's pool on shipping's queue); closed at the end."""
    from arq.connections import ArqRedis

    from runtime.jobs import job_deserializer, job_serializer, queue_name
    from runtime.resources import open_core
    from services.shipping.models import Outbox
    from services.shipping.resources import open_resources
    from services.shipping.settings import get_settings

    pool = ArqRedis(
        connection_pool=redis.connection_pool,
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        default_queue_name=queue_name("shipping"),
    )
    res = await open_resources(open_core("shipping", get_settings(), Outbox, pool))
    try:
        yield {"resources": res, "job_try": job_try}
    finally:
        await res.aclose()


class World:
    def __init__(self, shipping: httpx.AsyncClient, allocation: httpx.AsyncClient) -> None:
        self.shipping = shipping
        self.allocation = allocation
        self.market = FakeMarketplace()
        self.pdd = FakePinduoduo()
        self.tracking = FakeTracking()
        self.hooks = Recorder()
        self.courier = FakeCourier()  # behind allocation: its TMS_WAYBILL_* calls
        self.mock: respx.MockRouter | None = None  # the routes below; a test may add its own
        self.allocation_calls: list[str] = []  # "METHOD path" of every call shipping made to allocation

    async def forward_allocation(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        self.allocation_calls.append(f"{request.method} {path}")
        resp = await self.allocation.request(request.method, path, content=request.content, headers=request.headers)
        return httpx.Response(resp.status_code, content=resp.content, headers=resp.headers)

    async def run_jobs(self) -> int:
        from services.shipping.tasks import WorkerSettings
        from tests.support import run_jobs

        return await run_jobs(WorkerSettings)


@pytest.fixture
async def world(shipping_client: httpx.AsyncClient, allocation_client: httpx.AsyncClient) -> AsyncIterator[World]:
    w = World(shipping_client, allocation_client)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="allocation.test").mock(side_effect=w.forward_allocation)
        mock.route(host="marketplace.test").mock(side_effect=w.market)
        mock.route(host="pdd.test").mock(side_effect=w.pdd)
        mock.route(host="tracking.test").mock(side_effect=w.tracking)
        mock.route(host="hooks.test").mock(side_effect=w.hooks)
        mock.route(host="courier.test").mock(side_effect=w.courier)
        w.mock = mock
        yield w


@dataclass
class BoundShop(ShopCreds):
    nick: str = ""


async def bind_shop(world: World, env: Env, *, stock: dict[str, list[str]] | None = None) -> BoundShop:
    created = await make_shop(world.allocation)
    shop = BoundShop(created.id, created.key)
    nick = f"nick-{shop.id}"
    session = world.market.add_seller(nick)
    resp = await world.shipping.put(
        "/v1/settings",
        json={
            "seller_nick": nick,
            "session": session,
            "sender_name": "杭州小铺",
            "sender_phone": "0571-88886666",
            "sender_address": "浙江省杭州市余杭区文一西路969号",
        },
        headers=shop.headers,
    )
    assert resp.status_code == 200, resp.text
    for carrier, numbers in (stock or {}).items():
        await seed_numbers(env, shop.id, carrier, numbers)
    shop.nick = nick
    return shop
