"""The dashboard's ASGI app: ``uvicorn services.dashboard.main:app`` (port 8004 by default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError as PydanticError
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.errors import install_error_handlers
from runtime.http import make_http_client
from runtime.logging import configure_logging, get_logger
from runtime.metrics import router as metrics_router
from runtime.middleware import RequestContextMiddleware
from runtime.ratelimit import RateLimit, RateLimiter
from runtime.redis_clients import open_redis
from services.dashboard.api import make_client
from services.dashboard.pages import (
    alerts,
    auth,
    auto_ship,
    batches,
    home,
    money,
    operations,
    order,
    order_alerts,
    orders,
    purchases,
    reports,
    shipments,
    shop_settings,
    stores,
)
from services.dashboard.pages.operations import http_error, refused_request, sessions_unavailable, unreadable_answer
from services.dashboard.session import SessionStore, SessionStoreUnavailable
from services.dashboard.settings import DashboardSettings, get_settings
from services.dashboard.web import State

SERVICE = "dashboard"
HERE = Path(__file__).parent
PAGES = (
    *(auth, home, orders, order, shipments, batches, auto_ship, purchases, money, reports, order_alerts, alerts),
    stores,
    *(shop_settings, operations),
)
log = get_logger(__name__)


def create_app(settings: DashboardSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    templates = Jinja2Templates(directory=HERE / "templates")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level, settings.log_json)
        http = make_http_client(timeout=settings.timeout_s)
        # Not connected yet: the dashboard starts, and its sign-in page renders, while Redis is down.
        redis = open_redis(settings.redis_url)
        sessions = SessionStore(
            redis,
            settings.secret_key.get_secret_value(),
            idle_s=settings.session_idle_hours * 3600,
            max_s=settings.session_max_hours * 3600,
        )
        login_limiter = None
        if settings.login_attempts_per_minute > 0:
            limit = RateLimit(settings.login_attempts_per_minute / 60, settings.login_attempts_burst)
            login_limiter = RateLimiter(redis, SERVICE, limit, scope="login")
        app.state.dashboard = State(settings, make_client(http, settings), templates, sessions, login_limiter)
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            await http.aclose()
            await redis.aclose()

    app = FastAPI(
        title="Waybill dashboard",
        description="Where sellers ship their orders, print labels, buy numbers and read their alerts; operators "
        "see every shop.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(RequestContextMiddleware, service=SERVICE, max_body_bytes=64_000)
    install_error_handlers(app)
    app.add_exception_handler(SessionStoreUnavailable, sessions_unavailable)
    app.add_exception_handler(PydanticError, unreadable_answer)
    # People read these answers: pages in their language, where the services answer JSON.
    app.add_exception_handler(RequestValidationError, refused_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for page in PAGES:
        app.include_router(page.router)
    app.include_router(metrics_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


app = create_app()
