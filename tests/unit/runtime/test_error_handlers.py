"""Inputs PostgreSQL or the JSON parser refuse are the client's fault: 422 in the error shape, not 500
(both found by schemathesis)."""

from __future__ import annotations

import asyncpg
import httpx
import sqlalchemy.exc
from fastapi import FastAPI
from pydantic import BaseModel

from runtime.errors import install_error_handlers

OUT_OF_RANGE = 'value "99999999999999999999" is out of range for type bigint'
ARGUMENT_REFUSED = "invalid input for query argument $1: 99999999999999999999 (value out of int64 range)"
SECRET_TABLE = 'relation "allocation.secret_table" does not exist'


class Body(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/nul")
    async def nul() -> None:
        # What SQLAlchemy raises when asyncpg refuses a NUL character in a text parameter.
        cause = asyncpg.exceptions.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00')
        raise sqlalchemy.exc.DBAPIError("SELECT 1", {}, cause) from cause

    @app.post("/raw-nul")
    async def raw_nul() -> None:
        raise asyncpg.exceptions.CharacterNotInRepertoireError('invalid byte sequence for encoding "UTF8": 0x00')

    @app.post("/other-db-error")
    async def other() -> None:
        cause = asyncpg.exceptions.UndefinedTableError(SECRET_TABLE)
        raise sqlalchemy.exc.DBAPIError("SELECT 1", {}, cause) from cause

    @app.post("/out-of-range")
    async def out_of_range() -> None:
        # PostgreSQL refusing a number (SQLSTATE 22003), wrapped by SQLAlchemy as the ORM raises it.
        cause = asyncpg.exceptions.NumericValueOutOfRangeError(OUT_OF_RANGE)
        raise sqlalchemy.exc.DBAPIError("SELECT * FROM allocation.waybills OFFSET $1", {}, cause) from cause

    @app.post("/raw-argument")
    async def raw_argument() -> None:
        # asyncpg refusing to encode a parameter (the raw pools of the hot paths raise it unwrapped).
        raise asyncpg.exceptions.DataError(ARGUMENT_REFUSED)

    @app.post("/body")
    async def body(b: Body) -> Body:
        return b

    return app


def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_values_the_database_refuses_are_422() -> None:
    async with _client() as client:
        for path in ("/nul", "/raw-nul"):
            resp = await client.post(path)
            assert resp.status_code == 422, resp.text
            assert resp.json()["error"]["code"] == "validation_error"
            # The database's own words stay in the log.
            assert "0x00" not in resp.text
            assert "UTF8" not in resp.text


async def test_a_number_the_database_refuses_is_422_without_the_databases_text() -> None:
    async with _client() as client:
        for path in ("/out-of-range", "/raw-argument"):
            resp = await client.post(path)
            assert resp.status_code == 422, resp.text
            assert set(resp.json()) == {"error"}
            assert resp.json()["error"]["code"] == "validation_error"
            for leaked in ("99999999999999999999", "bigint", "int64", "query argument", "allocation.", "OFFSET"):
                assert leaked not in resp.text, (path, leaked)


async def test_other_database_errors_stay_500() -> None:
    async with _client() as client:
        resp = await client.post("/other-db-error")
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal_error"
    assert "secret_table" not in resp.text
    assert "SELECT" not in resp.text


async def test_a_body_that_is_not_utf8_is_422() -> None:
    async with _client() as client:
        resp = await client.post("/body", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert resp.json()["error"]["details"]["fields"][0]["in"] == "body"


def _app_with_context() -> FastAPI:
    """An app as the services build it: the request-context middleware around the handlers."""
    from runtime.middleware import RequestContextMiddleware

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="test", max_body_bytes=1000)

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    @app.get("/database-down")
    async def database_down() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    return app


async def test_a_bug_and_a_database_outage_carry_the_request_id() -> None:
    # Answered inside the request context (not by Starlette's outermost handler, after it): the header and
    # the body name the request, as in every other answer.
    transport = httpx.ASGITransport(app=_app_with_context(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        bug = await client.get("/bug")
        down = await client.get("/database-down", headers={"X-Request-ID": "rid-from-the-caller"})
    assert bug.status_code == 500
    assert bug.json()["error"]["code"] == "internal_error"
    assert bug.json()["error"]["request_id"] == bug.headers["x-request-id"]
    assert "a bug" not in bug.text
    assert down.status_code == 503
    assert down.headers["retry-after"] == "2"
    assert down.json()["error"]["request_id"] == down.headers["x-request-id"] == "rid-from-the-caller"
