"""The sandbox: the outside world (marketplace, couriers, tracking provider) as one HTTP app.

It shares no code with the services, not even ``shared/``: it is the other side of each protocol.
"""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(title="Waybill sandbox", description="Marketplace, couriers and tracking provider imitations.")

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()
