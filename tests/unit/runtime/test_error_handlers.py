"""Inputs PostgreSQL or the JSON parser refuse are the client's fault: 422 in the error shape, not 500
(both found by schemathesis)."""

from __future__ import annotations

import asyncpg
import httpx
import sqlalchemy.exc
from fastapi import FastAPI
from pydantic import BaseModel

from runtime.errors import install_error_handlers


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
        cause = asyncpg.exceptions.UndefinedTableError("relation does not exist")
        raise sqlalchemy.exc.DBAPIError("SELECT 1", {}, cause) from cause

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
            assert "0x00" in resp.json()["error"]["message"]


async def test_other_database_errors_stay_500() -> None:
    async with _client() as client:
        resp = await client.post("/other-db-error")
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "internal_error"


async def test_a_body_that_is_not_utf8_is_422() -> None:
    async with _client() as client:
        resp = await client.post("/body", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert resp.json()["error"]["details"]["fields"][0]["in"] == "body"
