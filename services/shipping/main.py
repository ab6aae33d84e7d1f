"""The shipping service's ASGI app: ``uvicorn services.shipping.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.app import ServiceRuntime, create_service_app
from runtime.auth import CachedResolver, HttpKeyResolver, ShopKeyResolver
from services.shipping.models import Outbox
from services.shipping.settings import ShippingSettings, get_settings

SERVICE = "shipping"


def _resolver(rt: ServiceRuntime) -> ShopKeyResolver:
    settings = rt.settings
    assert isinstance(settings, ShippingSettings)
    return CachedResolver(HttpKeyResolver(rt.http, settings.allocation_url, settings.internal_key.get_secret_value()))


def create_app(settings: ShippingSettings | None = None) -> FastAPI:
    return create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=[],
        resolver=_resolver,
        title="Waybill shipping",
        description="Orders from the marketplace and shop systems, courier choice, labels, shipment confirmation.",
        openapi_tags=[{"name": "operations", "description": "Health and metrics."}],
    )


app = create_app()
