"""The tracking service's ASGI app: ``uvicorn services.tracking.main:app``."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI

from runtime.app import ServiceRuntime, create_service_app
from runtime.auth import CachedResolver, HttpKeyResolver, ShopKeyResolver
from runtime.db import transaction
from runtime.logging import get_logger
from runtime.settings import to_asyncpg_dsn
from services.tracking import fastpath, metrics, service
from services.tracking.models import Outbox
from services.tracking.repository import WebhookStatements
from services.tracking.router import ROUTERS
from services.tracking.settings import TrackingSettings, get_settings
from services.tracking.tasks import stored_clock
from services.tracking.wake import Waker

SERVICE = "tracking"
log = get_logger(__name__)


def _resolver(rt: ServiceRuntime) -> ShopKeyResolver:
    settings = rt.settings
    assert isinstance(settings, TrackingSettings)
    inner = HttpKeyResolver(rt.http, settings.allocation_url, settings.internal_key.get_secret_value())
    return CachedResolver.from_settings(inner, settings)


async def _startup(rt: ServiceRuntime) -> None:
    settings = rt.settings
    assert isinstance(settings, TrackingSettings)
    # The push webhook runs on raw asyncpg: verify and store in one statement, one round trip.
    pool = await asyncpg.create_pool(
        to_asyncpg_dsn(settings.database_url), min_size=2, max_size=settings.webhook_pool_size, command_timeout=15
    )
    rt.extras["pg"] = pool
    rt.extras["webhook"] = WebhookStatements(pool, settings.webhook_batch_max, settings.webhook_batch_inflight)
    rt.extras["waker"] = Waker(rt.redis, settings.ingest_wake_interval_s)
    rt.extras.setdefault("clock", stored_clock(rt.sessionmaker))
    rt.extras["gauges"] = asyncio.create_task(_refresh_gauges(rt, settings.gauge_refresh_s))


async def refresh_gauges_once(rt: ServiceRuntime) -> None:
    async with transaction(rt.sessionmaker, None) as uow:
        g = await service.ingest_gauges(uow)
    metrics.set_gauges(g.queue_depth, g.oldest_waiting, g.alerts_open, datetime.now(UTC))


async def _refresh_gauges(rt: ServiceRuntime, every_s: float) -> None:
    while True:
        try:
            await refresh_gauges_once(rt)
        except Exception as exc:  # the database may be briefly away; the next round tries again
            log.warning("gauge_refresh_failed", error=repr(exc))
        await asyncio.sleep(every_s)


async def _shutdown(rt: ServiceRuntime) -> None:
    gauges = rt.extras.get("gauges")
    if isinstance(gauges, asyncio.Task):
        gauges.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await gauges
    waker = rt.extras.get("waker")
    if isinstance(waker, Waker):
        await waker.close()
    pool = rt.extras.get("pg")
    if pool is not None:
        await pool.close()


def create_app(settings: TrackingSettings | None = None) -> FastAPI:
    app = create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=ROUTERS,
        resolver=_resolver,
        title="Waybill tracking",
        description="Tracking subscriptions, push ingestion, status normalisation, polling and logistics alerts.",
        on_startup=_startup,
        on_shutdown=_shutdown,
        openapi_tags=[
            {"name": "trackings", "description": "A parcel's status, timeline and alerts."},
            {"name": "alerts", "description": "Logistics alerts (物流预警) and their thresholds."},
            {"name": "webhooks", "description": "Pushes from the tracking provider."},
            {"name": "internal", "description": "Endpoints other services and operators call."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )
    fastpath.install(app.router.routes)  # type: ignore[arg-type]
    return app


app = create_app()
