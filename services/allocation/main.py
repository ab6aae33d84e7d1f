"""The allocation service's ASGI app: ``uvicorn services.allocation.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.app import ServiceRuntime, create_service_app
from runtime.auth import CachedResolver, ShopKeyResolver
from services.allocation.models import Outbox
from services.allocation.repository import DbKeyResolver
from services.allocation.router import internal, shops
from services.allocation.settings import AllocationSettings, get_settings

SERVICE = "allocation"


def _resolver(rt: ServiceRuntime) -> ShopKeyResolver:
    db = DbKeyResolver(rt.engine)
    rt.extras["db_resolver"] = db
    return CachedResolver(db)


def create_app(settings: AllocationSettings | None = None) -> FastAPI:
    return create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=[shops, internal],
        resolver=_resolver,
        title="Waybill allocation",
        description="Carrier catalogue, shop balances, waybill-number purchases and pools, allocation.",
        openapi_tags=[
            {"name": "shops", "description": "Shops and their API keys (admin)."},
            {"name": "internal", "description": "Endpoints other services call with the internal key."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )


app = create_app()
