"""The sandbox: the outside world (marketplace, couriers, tracking provider) as one HTTP app.

It shares no code with the services, not even ``shared/``: it is the other side of each protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.sandbox import control, couriers, marketplace, tracking_provider
from services.sandbox.settings import SandboxSettings
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

    app = FastAPI(
        title="Waybill sandbox",
        description="Marketplace, couriers and tracking provider imitations.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(marketplace.router)
    app.include_router(couriers.router)
    app.include_router(tracking_provider.router)
    app.include_router(control.router)
    return app


app = create_app()
