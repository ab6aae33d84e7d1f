"""A database with no connection to give is a 503 to come back to, not a 500: PostgreSQL refusing one
(too many clients, SQLSTATE 53300) and our pool finding none free in time. Found in CI, where several test
systems shared one server of 100 connections and the demo's list request answered 500."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from runtime.db import make_engine
from runtime.errors import install_error_handlers
from tests.support import Env


@pytest.fixture
async def limited_role_url(env: Env) -> AsyncIterator[str]:
    """The test database, as a role PostgreSQL lets hold one connection at a time."""
    role = f"overload_{uuid.uuid4().hex[:8]}"
    admin = make_engine(env.database_url, pool_size=1)
    async with admin.begin() as conn:
        await conn.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1"))
    try:
        yield make_url(env.database_url).set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"))
            await conn.execute(text(f"DROP ROLE {role}"))
        await admin.dispose()


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


def _assert_unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "unavailable"
    assert int(resp.headers["retry-after"]) > 0


async def test_postgresql_refusing_a_connection_for_load_is_503(limited_role_url: str) -> None:
    holder = make_engine(limited_role_url, pool_size=1)
    engine = make_engine(limited_role_url, pool_size=1)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/count")
    async def count() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    try:
        async with holder.connect() as held:
            await held.execute(text("SELECT 1"))  # the role's one connection, taken
            _assert_unavailable(await _get(app, "/count"))
        await holder.dispose()  # the connection closed, not only back in its pool
        assert (await _get(app, "/count")).json() == 1  # the load passed: the same request succeeds
    finally:
        await holder.dispose()
        await engine.dispose()


async def test_no_free_connection_in_the_pool_in_time_is_503(env: Env) -> None:
    engine = make_engine(env.database_url, pool_size=1, pool_timeout=0.2)  # max_overflow = pool_size: 2 in all
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/count")
    async def count() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    try:
        async with engine.connect() as a, engine.connect() as b:
            await a.execute(text("SELECT 1"))
            await b.execute(text("SELECT 1"))
            _assert_unavailable(await _get(app, "/count"))
        assert (await _get(app, "/count")).json() == 1
    finally:
        await engine.dispose()
