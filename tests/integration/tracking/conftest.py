"""The tracking app on this worker's database, with a clock the tests move, and no other service:
shop-scoped calls use the internal key with X-Shop-Id; the provider and shipping are respx mocks."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.tracking.clock import ManualClock
from tests.integration.tracking.support import PROVIDER, PUBLIC, SHIPPING, T0
from tests.support import Env, app_client, base_redis_url, restore_env, set_in_process_env

TRACKING_ENV = {
    "TRACKING_PROVIDER_URL": PROVIDER,
    "TRACKING_SHIPPING_URL": SHIPPING,
    "TRACKING_PUBLIC_URL": PUBLIC,
    "TRACKING_SUBSCRIBE_RETRY_BASE_S": "0.01",
    "TRACKING_SUBSCRIBE_MAX_TRIES": "3",
    "TRACKING_NOTIFY_RETRY_BASE_S": "0.01",
    "TRACKING_INGEST_IDLE_S": "0.05",
    "TRACKING_POLL_INTERVAL_S": "1",
    "TRACKING_PROVIDER_QUERY_RATE_PER_S": "50",
}


@pytest.fixture(scope="session")
def tracking_env(env: Env) -> Iterator[Env]:
    saved = set_in_process_env(TRACKING_ENV)
    from services.tracking.settings import get_settings

    get_settings.cache_clear()
    yield env
    restore_env(saved)
    get_settings.cache_clear()


@dataclass
class TrackingApp:
    app: FastAPI
    client: httpx.AsyncClient
    clock: ManualClock
    database_url: str

    @property
    def runtime(self) -> Any:
        return self.app.state.resources

    async def drain(self, limit: int = 500) -> int:
        """Run the batch processor until no push is left (what the worker loops do)."""
        from services.tracking.service.ingestion import process_pushes

        total = 0
        while True:
            async with self.runtime.transaction() as uow:
                result = await process_pushes(uow, await self.clock.now(), limit)
            total += result.pushes
            if result.pushes == 0:
                return total

    async def scan(self) -> int:
        from services.tracking.service.alerts import scan_time_alerts

        async with self.runtime.transaction() as uow:
            return await scan_time_alerts(uow, await self.clock.now(), self.runtime.settings.alert_defaults())

    @asynccontextmanager
    async def worker_resources(self, rate: float = 50.0) -> AsyncIterator[Any]:
        """A worker's real Resources on this test's database and Redis, following the test's clock, with a
        provider pace of its own (other tests' queries do not take this one's turn)."""
        from redis.asyncio import Redis

        from runtime.ratelimit import Pacer
        from runtime.resources import open_core
        from services.tracking.models import Outbox
        from services.tracking.resources import open_resources
        from services.tracking.settings import get_settings

        redis = Redis.from_url(base_redis_url())
        res = await open_resources(open_core("tracking", get_settings(), Outbox, redis))
        res.clock = self.clock
        res.query_limiter = Pacer(redis, f"test:limiter:{time.time()}", rate)
        try:
            yield res
        finally:
            await res.aclose()
            await redis.aclose()

    def on_startup_with_clock(self, worker: type | None = None) -> Callable[[dict[str, Any]], Awaitable[None]]:
        """The worker's own startup (``worker``'s, tracking's WorkerSettings by default), then its Resources
        set to follow the test's clock (for a worker run in this process: ``run_jobs(w, on_startup=...)``)."""
        from runtime.worker import resources
        from services.tracking.resources import TrackingResources
        from services.tracking.tasks import WorkerSettings

        startup = (worker or WorkerSettings).on_startup  # type: ignore[attr-defined]

        async def on_startup(ctx: dict[str, Any]) -> None:
            await startup(ctx)
            resources(ctx, TrackingResources).clock = self.clock

        return on_startup


def job_ctx(res: Any, job_try: int = 1) -> dict[str, Any]:
    """The context arq gives a job, for calling one by hand."""
    return {"resources": res, "job_try": job_try}


@pytest.fixture(scope="session")
async def tracking(tracking_env: Env) -> AsyncIterator[TrackingApp]:
    from services.tracking.main import create_app
    from services.tracking.settings import TrackingSettings

    app = create_app(TrackingSettings())
    clock = ManualClock(T0)
    async with app_client(app) as client:
        app.state.resources.clock = clock
        yield TrackingApp(app, client, clock, tracking_env.database_url)


@pytest.fixture(autouse=True)
async def _reset(tracking: TrackingApp, redis: Any) -> None:
    # Jobs other tests queued and never ran would otherwise run later against this test's mocks.
    await redis.delete("arq:tracking")
    tracking.clock.set(T0)


@pytest.fixture
def shop_id() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def other_shop_id() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"
