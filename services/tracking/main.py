"""The tracking service's ASGI app: ``uvicorn services.tracking.main:app``."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from runtime.app import Periodic, create_service_app
from runtime.auth import CachedResolver, HttpKeyResolver, ShopKeyResolver
from runtime.logging import get_logger
from services.tracking import fastpath, metrics
from services.tracking.models import Outbox
from services.tracking.resources import TrackingResources, open_resources
from services.tracking.router import ROUTERS
from services.tracking.service.ingestion import ingest_gauges
from services.tracking.settings import TrackingSettings, get_settings

SERVICE = "tracking"
log = get_logger(__name__)


def _resolver(res: TrackingResources) -> ShopKeyResolver:
    return CachedResolver.from_settings(HttpKeyResolver(res.allocation), res.settings)


async def refresh_gauges_once(res: TrackingResources) -> None:
    async with res.transaction() as uow:
        g = await ingest_gauges(uow)
    metrics.set_gauges(g.queue_depth, g.oldest_waiting, g.alerts_open, datetime.now(UTC))


def create_app(settings: TrackingSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        service=SERVICE,
        settings=settings,
        outbox=Outbox,
        routers=ROUTERS,
        resolver=_resolver,
        resources=open_resources,
        title="Waybill tracking",
        description="Tracking subscriptions, push ingestion, status normalisation, polling and logistics alerts.",
        periodic=[Periodic("ingest_gauges", settings.gauge_refresh_s, refresh_gauges_once)],
        openapi_tags=[
            {"name": "trackings", "description": "A parcel's status, timeline and alerts."},
            {"name": "alerts", "description": "Logistics alerts (物流预警) and their thresholds."},
            {"name": "webhooks", "description": "Pushes from the tracking provider."},
            {"name": "internal", "description": "Endpoints other services and operators call."},
            {"name": "operations", "description": "Health and metrics."},
        ],
    )
    fastpath.install(app, SERVICE, settings.max_body_bytes)
    return app


app = create_app()
