"""The sandbox: the outside world (marketplace, couriers, tracking provider) as one HTTP app.

It shares no code with the services, not even ``shared/``: it is the other side of each protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from services.sandbox import couriers
from services.sandbox.control import couriers as courier_control
from services.sandbox.control import marketplace as marketplace_control
from services.sandbox.control import pinduoduo as pinduoduo_control
from services.sandbox.control import setup as setup_control
from services.sandbox.control import tracking as tracking_control
from services.sandbox.marketplace import routes as marketplace_routes
from services.sandbox.pinduoduo import routes as pinduoduo_routes
from services.sandbox.settings import SandboxSettings
from services.sandbox.tracking_provider import routes as tracking_routes
from services.sandbox.world import World


def create_app(settings: SandboxSettings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The sandbox app. ``transport`` carries its outgoing pushes; tests inject an ASGI transport to a receiver."""
    settings = settings or SandboxSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        world = World(settings, transport)
        app.state.world = world
        await world.start()
        try:
            yield
        finally:
            await world.stop()

    app = FastAPIOffline(
        title="Waybill sandbox",
        description="Marketplace, couriers and tracking provider imitations.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(marketplace_routes.router)
    app.include_router(couriers.router)
    app.include_router(tracking_routes.router)
    app.include_router(pinduoduo_routes.router)
    app.include_router(pinduoduo_control.router)
    for control in (setup_control, courier_control, marketplace_control, tracking_control):
        app.include_router(control.router)
    return app


app = create_app()
