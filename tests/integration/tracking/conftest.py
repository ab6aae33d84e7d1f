"""The tracking app on this worker's database, with a clock the tests move, and no other service:
shop-scoped calls use the internal key with X-Shop-Id; the provider and shipping are respx mocks."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.tracking.clock import ManualClock
from tests.integration.tracking.support import PROVIDER, PUBLIC, SHIPPING, T0
from tests.support import Env, app_client

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
    saved = {k: os.environ.get(k) for k in TRACKING_ENV}
    os.environ.update(TRACKING_ENV)
    from services.tracking.settings import get_settings

    get_settings.cache_clear()
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    get_settings.cache_clear()


@dataclass
class TrackingApp:
    app: FastAPI
    client: httpx.AsyncClient
    clock: ManualClock
    database_url: str

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def drain(self, limit: int = 500) -> int:
        """Run the batch processor until no push is left (what the worker loops do)."""
        from runtime.db import transaction
        from services.tracking import service

        total = 0
        while True:
            async with transaction(self.runtime.sessionmaker, self.runtime.queue) as uow:
                result = await service.process_pushes(uow, await self.clock.now(), limit)
            total += result.pushes
            if result.pushes == 0:
                return total

    async def scan(self) -> int:
        from runtime.db import transaction
        from services.tracking import service
        from services.tracking.tasks import alert_defaults

        async with transaction(self.runtime.sessionmaker, self.runtime.queue) as uow:
            return await service.scan_time_alerts(uow, await self.clock.now(), alert_defaults(self.runtime.settings))


@pytest.fixture(scope="session")
async def tracking(tracking_env: Env) -> AsyncIterator[TrackingApp]:
    from services.tracking.main import create_app
    from services.tracking.settings import TrackingSettings

    app = create_app(TrackingSettings())
    clock = ManualClock(T0)
    async with app_client(app) as client:
        app.state.runtime.extras["clock"] = clock
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


__all__ = ["PROVIDER"]
