"""The shipping service's ASGI app: ``uvicorn services.shipping.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.app import ServiceRuntime, create_service_app
from runtime.auth import CachedResolver, HttpKeyResolver, ShopKeyResolver
from services.shipping.models import Outbox
from services.shipping.router import ROUTERS
from services.shipping.settings import ShippingSettings, get_settings
from services.shipping.tasks import make_clients

SERVICE = "shipping"


def _resolver(rt: ServiceRuntime) -> ShopKeyResolver:
    settings = rt.settings
    assert isinstance(settings, ShippingSettings)
    inner = HttpKeyResolver(rt.http, settings.allocation_url, settings.internal_key.get_secret_value())
    return CachedResolver.from_settings(inner, settings)


async def _startup(rt: ServiceRuntime) -> None:
    settings = rt.settings
    assert isinstance(settings, ShippingSettings)
    rt.extras["clients"], rt.extras["pooled_http"] = make_clients(settings)


async def _shutdown(rt: ServiceRuntime) -> None:
    for http in rt.extras.get("pooled_http", []):
        await http.aclose()


def create_app(settings: ShippingSettings | None = None) -> FastAPI:
    return create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=ROUTERS,
        resolver=_resolver,
        on_startup=_startup,
        on_shutdown=_shutdown,
        title="Waybill shipping",
        description="Orders from the marketplace and shop systems, courier choice, labels, shipment confirmation.",
        openapi_tags=[
            {"name": "orders", "description": "Orders, courier choice, shipping one order."},
            {"name": "shipments", "description": "Shipments and their labels."},
            {"name": "batches", "description": "Shipping thousands of orders at once."},
            {"name": "settings", "description": "Marketplace binding, sender, courier preferences."},
            {"name": "webhooks", "description": "Events sent to shop systems."},
            {"name": "marketplace", "description": "Messages the marketplace pushes to us."},
            {"name": "internal", "description": "Endpoints other services call with the internal key."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )


app = create_app()
