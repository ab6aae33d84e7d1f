"""A statement on a pooled connection that PostgreSQL cut during a restart is a 503 to retry, not a 500
(found by the fault suite: tests/faults/test_postgres_restart.py)."""

from __future__ import annotations

import asyncpg
import httpx
from fastapi import FastAPI

from runtime.errors import install_error_handlers, is_connection_error

BROKEN_PROTOCOL = "cannot switch to state 12; another operation (2) is in progress"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/cut")
    async def cut() -> None:
        raise asyncpg.exceptions.InternalClientError(BROKEN_PROTOCOL)

    return app


async def test_a_connection_cut_by_a_restart_is_503_with_retry_after() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.post("/cut")
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "unavailable"
    assert int(resp.headers["retry-after"]) > 0


def test_only_the_base_client_error_counts_not_its_subclasses() -> None:
    assert is_connection_error(asyncpg.exceptions.InternalClientError(BROKEN_PROTOCOL))
    assert not is_connection_error(asyncpg.exceptions.ProtocolError("unexpected message"))
