"""The allocation service's ASGI app: ``uvicorn services.allocation.main:app``."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from fastapi import FastAPI

from runtime.app import ServiceRuntime, create_service_app
from runtime.auth import CachedResolver, ShopKeyResolver
from runtime.db import transaction
from runtime.logging import get_logger
from runtime.settings import to_asyncpg_dsn
from services.allocation import fastpath, service
from services.allocation.models import Outbox
from services.allocation.repository import AllocationStatements, DbKeyResolver, skip_reset
from services.allocation.router import ROUTERS
from services.allocation.settings import AllocationSettings, get_settings

SERVICE = "allocation"
GAUGE_REFRESH_S = 30.0
log = get_logger(__name__)


def _resolver(rt: ServiceRuntime) -> ShopKeyResolver:
    db = DbKeyResolver(rt.engine)
    rt.extras["db_resolver"] = db
    return CachedResolver.from_settings(db, rt.settings)


async def _startup(rt: ServiceRuntime) -> None:
    settings = rt.settings
    assert isinstance(settings, AllocationSettings)
    # The hot path runs on raw asyncpg: one round trip per allocation, no ORM (see repository).
    pool = await asyncpg.create_pool(
        to_asyncpg_dsn(settings.database_url),
        min_size=2,
        max_size=settings.allocation_pool_size,
        command_timeout=30,
        reset=skip_reset,
    )
    rt.extras["pg"] = pool
    rt.extras["statements"] = AllocationStatements(pool)
    rt.extras["gauges"] = asyncio.create_task(_refresh_gauges(rt, settings))


async def _refresh_gauges(rt: ServiceRuntime, settings: AllocationSettings) -> None:
    """Stock gauges for /metrics, refreshed in the background (a scrape must not run the query)."""
    while True:
        try:
            async with transaction(rt.sessionmaker, rt.queue) as uow:
                await service.refresh_stock_gauges(uow, settings.expiring_soon_days)
        except Exception as exc:  # a database blip must not end the loop
            log.warning("stock_gauges_failed", error=repr(exc))
        await asyncio.sleep(GAUGE_REFRESH_S)


async def _shutdown(rt: ServiceRuntime) -> None:
    task = rt.extras.get("gauges")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    pool = rt.extras.get("pg")
    if pool is not None:
        await pool.close()


def create_app(settings: AllocationSettings | None = None) -> FastAPI:
    app = create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=ROUTERS,
        resolver=_resolver,
        title="Waybill allocation",
        description="Carrier catalogue, shop balances, waybill-number purchases and pools, allocation.",
        on_startup=_startup,
        on_shutdown=_shutdown,
        openapi_tags=[
            {"name": "allocations", "description": "One number per order, idempotent, never twice."},
            {"name": "purchases", "description": "Buying packages of numbers from couriers."},
            {"name": "pools", "description": "Stock per carrier, low-stock thresholds, auto-replenish."},
            {"name": "waybills", "description": "A number's lifecycle: release, void, mark, manual numbers."},
            {"name": "balance", "description": "Prepaid balance and its ledger."},
            {"name": "carriers", "description": "Carrier catalogue: rules, coverage, transit, packages."},
            {"name": "shops", "description": "Shops and their API keys (admin)."},
            {"name": "internal", "description": "Endpoints other services call with the internal key."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )
    fastpath.install(app.router.routes)  # type: ignore[arg-type]
    return app


app = create_app()
