"""The allocation service's ASGI app: ``uvicorn services.allocation.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.app import Periodic, create_service_app
from runtime.auth import CachedResolver, ShopKeyResolver
from runtime.logging import get_logger
from services.allocation import fastpath
from services.allocation.models import Outbox
from services.allocation.resources import AllocationResources, open_resources
from services.allocation.router import ROUTERS
from services.allocation.service import pools
from services.allocation.settings import AllocationSettings, get_settings

SERVICE = "allocation"
GAUGE_REFRESH_S = 30.0
log = get_logger(__name__)


def _resolver(res: AllocationResources) -> ShopKeyResolver:
    return CachedResolver.from_settings(res.keys, res.settings)


async def _refresh_stock_gauges(res: AllocationResources) -> None:
    async with res.transaction() as uow:
        await pools.refresh_stock_gauges(uow, res.settings.expiring_soon_days)


def create_app(settings: AllocationSettings | None = None) -> FastAPI:
    app = create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=ROUTERS,
        resolver=_resolver,
        resources=open_resources,
        title="Waybill allocation",
        description="Carrier catalogue, shop balances, waybill-number purchases and pools, allocation.",
        periodic=[Periodic("stock_gauges", GAUGE_REFRESH_S, _refresh_stock_gauges)],
        openapi_tags=[
            {"name": "allocations", "description": "One number per order, idempotent, never twice."},
            {"name": "purchases", "description": "Buying packages of numbers from couriers."},
            {"name": "pools", "description": "Stock per carrier, low-stock thresholds, auto-replenish."},
            {"name": "waybills", "description": "A number's lifecycle: release, void, mark, manual numbers."},
            {"name": "balance", "description": "Prepaid balance and its ledger."},
            {
                "name": "reports",
                "description": "Spend reports: numbers bought, used, voided, expired, refunded, and their money.",
            },
            {"name": "carriers", "description": "Carrier catalogue: rules, coverage, transit, packages."},
            {"name": "shops", "description": "Shops and their API keys (admin)."},
            {"name": "internal", "description": "Endpoints other services call with the internal key."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )
    fastpath.install(app.router.routes)  # type: ignore[arg-type]
    return app


app = create_app()
