"""The tracking service's ASGI app: ``uvicorn services.tracking.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.app import ServiceRuntime, create_service_app
from runtime.auth import CachedResolver, HttpKeyResolver, ShopKeyResolver
from services.tracking.models import Outbox
from services.tracking.settings import TrackingSettings, get_settings

SERVICE = "tracking"


def _resolver(rt: ServiceRuntime) -> ShopKeyResolver:
    settings = rt.settings
    assert isinstance(settings, TrackingSettings)
    return CachedResolver(HttpKeyResolver(rt.http, settings.allocation_url, settings.internal_key.get_secret_value()))


def create_app(settings: TrackingSettings | None = None) -> FastAPI:
    return create_service_app(
        service=SERVICE,
        settings=settings or get_settings(),
        outbox=Outbox,
        routers=[],
        resolver=_resolver,
        title="Waybill tracking",
        description="Tracking subscriptions, push ingestion, status normalisation, polling and logistics alerts.",
        openapi_tags=[{"name": "operations", "description": "Health and metrics."}],
    )


app = create_app()
