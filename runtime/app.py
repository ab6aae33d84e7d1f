"""Builds a service's FastAPI app: lifespan resources, middleware, error shape, health, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy import Table, text

from runtime.address_limit import AddressLimitMiddleware
from runtime.auth import BEARER_SCHEME, AuthConfig, CachedResolver, RevocationFeed, ShopKeyResolver
from runtime.db import UnitOfWork, unit_of_work
from runtime.errors import error_response, install_error_handlers
from runtime.logging import configure_logging, get_logger
from runtime.metrics import router as metrics_router
from runtime.middleware import RequestContextMiddleware
from runtime.openapi import API_GUIDE, ERROR_RESPONSES, operation_id
from runtime.ratelimit import RateLimit, RateLimiter
from runtime.redis_clients import open_redis
from runtime.redis_health import REDIS_ERRORS
from runtime.resources import R, Resources, ResourcesFactory, core_only, open_core
from runtime.service_client import ServiceError
from runtime.settings import ServiceSettings
from shared.errors import ErrorCode

log = get_logger(__name__)

REDIS_PING_TIMEOUT_S = 0.5


ResolverFactory = Callable[[Any], ShopKeyResolver]  # given the service's own Resources
Hook = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Periodic:
    """A chore an API process repeats in the background while it runs (e.g. refreshing /metrics gauges, so a
    scrape never runs the query): ``run(resources)`` every ``every_s`` seconds; a failure (the database
    briefly away) is logged and the next round tries again."""

    name: str
    every_s: float
    run: Hook


async def _repeat(chore: Periodic, res: Resources) -> None:
    while True:
        try:
            await chore.run(res)
        except Exception as exc:
            log.warning("periodic_failed", chore=chore.name, error=repr(exc))
        await asyncio.sleep(chore.every_s)


async def get_resources(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def resources_dependency(cls: type[R]) -> Callable[[Request], Awaitable[R]]:
    """A dependency giving a service's own Resources subclass, typed (``Annotated[X, Depends(...)]``)."""

    async def dependency(request: Request) -> R:
        res = request.app.state.resources
        assert isinstance(res, cls)
        return res

    return dependency


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    res: Resources = request.app.state.resources
    async for uow in unit_of_work(res.sessionmaker, res.queue):
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def health_router(service: str) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/healthz",
        # Named per service: operation ids are unique across the three (one generated client may hold all).
        operation_id=f"{service}Liveness",
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
        operation_id=f"{service}Readiness",
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
    async def readyz(rt: ResourcesDep) -> Any:
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
    resources: ResourcesFactory = core_only,
    title: str,
    description: str,
    version: str = "0.1.0",
    openapi_tags: list[dict[str, Any]] | None = None,
    periodic: Sequence[Periodic] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service, settings.log_level, settings.log_json)
        redis = open_redis(settings.redis_url)
        rt = await resources(open_core(service, settings, outbox, redis))
        app.state.resources = rt
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
        chores = [asyncio.create_task(_repeat(chore, rt)) for chore in periodic]
        revocations.start()
        log.info("service_started", port=settings.port)
        try:
            yield
        finally:
            await revocations.close()
            for task in chores:
                task.cancel()
            await asyncio.gather(*chores, return_exceptions=True)
            await rt.aclose()
            await redis.aclose()

    # /docs and /redoc with their Swagger UI and ReDoc assets served by the process itself (fastapi-offline
    # ships them), not from a CDN: the docs open on a machine without internet.
    app = FastAPIOffline(
        title=title,
        description=description + "\n" + API_GUIDE,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        # Every operation can meet these: a missing key (401), invalid input (422, bodies that are not
        # JSON included), a key over its rate limit (429).
        responses={code: ERROR_RESPONSES[code] for code in (401, 422, 429)},
        generate_unique_id_function=operation_id,
    )
    # Added first, so it runs inside the request context (the last added is the outermost): its 429s get a
    # request id, a log line and the latency metric like any answer.
    app.add_middleware(AddressLimitMiddleware, service=service)
    app.add_middleware(RequestContextMiddleware, service=service, max_body_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    # Another of our services refused or did not answer: its refusal is passed on, its outage is a 503.
    app.add_exception_handler(ServiceError, _service_error)
    # Routes are matched in order: the service's own (hot) routes first.
    for router in routers:
        app.include_router(router)
    app.include_router(health_router(service))
    app.include_router(metrics_router)
    _declare_security(app)
    return app


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    error = exc.as_app_error()
    return error_response(error.status_code, error.code, error.message, error.details, error.headers)


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
