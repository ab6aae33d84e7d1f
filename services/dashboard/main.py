"""The dashboard's ASGI app: ``uvicorn services.dashboard.main:app`` (port 8004 by default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from runtime.errors import install_error_handlers
from runtime.http import make_http_client
from runtime.logging import configure_logging, get_logger
from runtime.metrics import router as metrics_router
from runtime.middleware import RequestContextMiddleware
from services.dashboard.router import ROUTERS, State
from services.dashboard.service import Services
from services.dashboard.settings import DashboardSettings, get_settings

SERVICE = "dashboard"
HERE = Path(__file__).parent
log = get_logger(__name__)


def create_app(settings: DashboardSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    templates = Jinja2Templates(directory=HERE / "templates")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level, settings.log_json)
        http = make_http_client(timeout=settings.timeout_s)
        app.state.dashboard = State(settings, Services(http, settings), templates)
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            await http.aclose()

    app = FastAPI(
        title="Waybill dashboard",
        description="Stock, batches, alerts and shipments per shop, and for operators across shops.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(RequestContextMiddleware, service=SERVICE, max_body_bytes=64_000)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(metrics_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


app = create_app()
