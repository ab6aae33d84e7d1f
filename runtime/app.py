"""Builds a service's FastAPI app: lifespan resources, middleware, error shape, health, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from runtime.address_limit import AddressLimitMiddleware
from runtime.auth import BEARER_SCHEME, AuthConfig, CachedResolver, RevocationFeed, ShopKeyResolver
from runtime.db import UnitOfWork, make_engine, make_sessionmaker, unit_of_work
from runtime.errors import error_response, install_error_handlers
from runtime.http import make_http_client
from runtime.jobs import JobQueue, queue_name
from runtime.logging import configure_logging, get_logger
from runtime.metrics import router as metrics_router
from runtime.middleware import RequestContextMiddleware
from runtime.openapi import API_GUIDE, ERROR_RESPONSES
from runtime.ratelimit import RateLimit, RateLimiter
from runtime.redis_clients import open_redis
from runtime.redis_health import REDIS_ERRORS
from runtime.settings import ServiceSettings
from shared.errors import ErrorCode

log = get_logger(__name__)

REDIS_PING_TIMEOUT_S = 0.5


@dataclass
class ServiceRuntime:
    """The process's shared clients, built once in the lifespan."""

    service: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Any
    queue: JobQueue
    http: httpx.AsyncClient
    extras: dict[str, Any] = field(default_factory=dict)


ResolverFactory = Callable[[ServiceRuntime], ShopKeyResolver]
Hook = Callable[[ServiceRuntime], Awaitable[None]]


async def get_runtime(request: Request) -> ServiceRuntime:
    # async: FastAPI would run a plain function in a worker thread, on every request.
    rt: ServiceRuntime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    rt: ServiceRuntime = request.app.state.runtime
    async for uow in unit_of_work(rt.sessionmaker, rt.queue):
        yield uow


# scope="function": the commit runs when the endpoint returns, before the response is sent, so a
# failed commit becomes an error answer instead of a 2xx for something that did not happen.
UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/healthz",
        summary="Liveness: the process is up",
        description=(
            "No key needed. Answers as long as the process serves requests; it touches no dependency, so a "
            "database outage does not get the process restarted (that is what `/readyz` is for)."
        ),
        responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the database answers",
        description=(
            "No key needed. Runs `SELECT 1`; when it fails the answer is 503 in the error shape with "
            '`Retry-After`, naming the database in `details` (e.g. `{"database": "ConnectionRefusedError"}`), '
            "so the balancer takes the instance out of rotation. Redis is checked too (a PING) and reported in "
            "`checks`, but it does not make the instance unready: everything that does not need Redis is served "
            "without it, and jobs wait in the outbox until it is back."
        ),
        responses={
            200: {
                "content": {
                    "application/json": {
                        "examples": {
                            "ready": {"value": {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}},
                            "redis down": {
                                "value": {"status": "ready", "checks": {"database": "ok", "redis": "ConnectionError"}}
                            },
                        }
                    }
                }
            },
            503: ERROR_RESPONSES[503],
        },
    )
    async def readyz(rt: RuntimeDep) -> Any:
        checks: dict[str, str] = {"database": "ok", "redis": "ok"}
        try:
            async with rt.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            checks["database"] = type(exc).__name__
        try:
            # Bounded well inside a probe's timeout: a Redis that hangs must not make the probe fail.
            await asyncio.wait_for(rt.redis.ping(), REDIS_PING_TIMEOUT_S)
        except REDIS_ERRORS as exc:  # TimeoutError (wait_for) is an OSError
            checks["redis"] = type(exc).__name__
        if checks["database"] != "ok":
            return error_response(503, ErrorCode.UNAVAILABLE, "not ready", checks, {"Retry-After": "2"})
        return {"status": "ready", "checks": checks}

    return router


def create_service_app(
    *,
    service: str,
    settings: ServiceSettings,
    outbox: Table,
    routers: Sequence[APIRouter],
    resolver: ResolverFactory,
    title: str,
    description: str,
    version: str = "0.1.0",
    openapi_tags: list[dict[str, Any]] | None = None,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service, settings.log_level, settings.log_json)
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        # Not connected yet: the API starts and serves while Redis is down (see runtime.redis_clients).
        redis = open_redis(settings.redis_url)
        rt = ServiceRuntime(
            service=service,
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine),
            redis=redis,
            queue=JobQueue(redis, outbox, queue_name(service)),
            http=make_http_client(settings),
        )
        app.state.runtime = rt
        limiter = None
        if settings.rate_limit_per_s > 0:
            limiter = RateLimiter(redis, service, RateLimit(settings.rate_limit_per_s, settings.rate_limit_burst))
        address_limiter = None
        if settings.address_rate_limit_per_s > 0:
            address_limit = RateLimit(settings.address_rate_limit_per_s, settings.address_rate_limit_burst)
            address_limiter = RateLimiter(redis, service, address_limit, scope="address")
        shop_keys = resolver(rt)
        # Every API process follows key revocations (allocation's revoke route publishes them).
        revocations = RevocationFeed(redis, shop_keys if isinstance(shop_keys, CachedResolver) else None)
        app.state.auth = AuthConfig(
            settings.admin_key.get_secret_value(),
            settings.internal_key.get_secret_value(),
            shop_keys,
            limiter,
            address_limiter,
            revocations,
        )
        if on_startup is not None:
            await on_startup(rt)
        revocations.start()
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            await revocations.close()
            if on_shutdown is not None:
                await on_shutdown(rt)
            await rt.http.aclose()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title=title,
        description=description + "\n" + API_GUIDE,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        # Every operation can meet these: a missing key (401), invalid input (422, bodies that are not
        # JSON included), a key over its rate limit (429).
        responses={code: ERROR_RESPONSES[code] for code in (401, 422, 429)},
    )
    # Added first, so it runs inside the request context (the last added is the outermost): its 429s get a
    # request id, a log line and the latency metric like any answer.
    app.add_middleware(AddressLimitMiddleware, service=service)
    app.add_middleware(RequestContextMiddleware, service=service, max_body_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    # Routes are matched in order: the service's own (hot) routes first.
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    app.include_router(metrics_router)
    _declare_security(app)
    return app


def _declare_security(app: FastAPI) -> None:
    """Document the bearer key once for every operation (the auth dependency reads the header
    itself), so /docs offers "Authorize" and each operation shows it needs a key."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "The admin key, the internal key (with X-Shop-Id) or a shop API key (wbk_...).",
        }
        schema["security"] = [{BEARER_SCHEME: []}]
        for path in ("/healthz", "/readyz"):
            for op in schema.get("paths", {}).get(path, {}).values():
                op["security"] = []
                # No key and no input: the app-wide 401/422/429 cannot happen here.
                for code in ("401", "422", "429"):
                    op.get("responses", {}).pop(code, None)
        for path, ops in schema.get("paths", {}).items():
            if path.startswith("/webhooks/"):
                for op in ops.values():
                    # Marketplace and provider pushes authenticate by their own signature, not a key,
                    # and only shop keys are rate limited.
                    op["security"] = []
                    op.get("responses", {}).pop("429", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
