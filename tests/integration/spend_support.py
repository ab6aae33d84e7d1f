"""Helpers of the spend report tests: the report over the API, SQL against the test database, and numbers
taken through their lifecycle as shipping would (allocated, printed, shipped with a store and channel)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from runtime.settings import to_asyncpg_dsn
from tests.integration.conftest import ShopCreds
from tests.support import INTERNAL_KEY, Env, bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_in_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


async def report(
    client: httpx.AsyncClient, headers: dict[str, str], first: date, last: date, **params: Any
) -> dict[str, Any]:
    resp = await client.get(
        "/v1/reports/spend", params={"from_date": str(first), "to_date": str(last), **params}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def around_today(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """Yesterday to tomorrow in Shanghai: a test that crosses midnight still finds its day."""
    today = today_in_shanghai()
    return await report(client, headers, today - timedelta(days=1), today + timedelta(days=1), **params)


async def sql(env: Env, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def allocate(client: httpx.AsyncClient, shop: ShopCreds, orders: list[str]) -> dict[str, str]:
    resp = await client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": orders}, headers=shop.headers
    )
    assert resp.status_code == 200, resp.text
    return {a["order_id"]: a["number"] for a in resp.json()["allocations"]}


async def mark(client: httpx.AsyncClient, shop: ShopCreds, number: str, **body: Any) -> None:
    resp = await client.post(f"/v1/waybills/{number}/mark", json=body, headers=bearer(INTERNAL_KEY, shop.id))
    assert resp.status_code == 200, resp.text


async def ship(
    client: httpx.AsyncClient, shop: ShopCreds, number: str, store_id: str | None, channel: str | None
) -> None:
    await mark(client, shop, number, status="printed")
    await mark(client, shop, number, status="shipped", store_id=store_id, channel=channel)


def figures(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: body[n] for n in names}


def sum_rows(rows: list[dict[str, Any]], name: str) -> Any:
    return sum(r[name] for r in rows)
