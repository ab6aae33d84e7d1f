"""A shipped mark records when and where the number was used (a0005's ``shipped_at``, ``store_id``,
``channel``): shipped_at the first time only, store and channel as the first mark that says them, and a mark
that says neither (an older sender) still marks."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from runtime.settings import to_asyncpg_dsn
from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.support import INTERNAL_KEY, Env, bearer


async def _row(env: Env, number: str) -> asyncpg.Record:
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        row = await conn.fetchrow(
            "SELECT status, shipped_at, store_id, channel FROM allocation.waybills WHERE number = $1", number
        )
        assert row is not None
        return row
    finally:
        await conn.close()


async def _sql(env: Env, query: str, *args: Any) -> None:
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def _allocated(env: Env, client: httpx.AsyncClient, shop: ShopCreds, orders: list[str]) -> dict[str, str]:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(len(orders)))
    resp = await client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": orders}, headers=shop.headers
    )
    assert resp.status_code == 200, resp.text
    return {a["order_id"]: a["number"] for a in resp.json()["allocations"]}


async def _mark(client: httpx.AsyncClient, shop: ShopCreds, number: str, **body: Any) -> None:
    resp = await client.post(f"/v1/waybills/{number}/mark", json=body, headers=bearer(INTERNAL_KEY, shop.id))
    assert resp.status_code == 200, resp.text


async def test_a_shipped_mark_records_the_time_store_and_channel_once(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    number = (await _allocated(env, allocation_client, shop, ["use-1"]))["use-1"]
    await _mark(allocation_client, shop, number, status="printed", store_id="sto-a", channel="taobao")
    printed = await _row(env, number)
    assert (printed["shipped_at"], printed["store_id"], printed["channel"]) == (None, None, None)

    await _mark(allocation_client, shop, number, status="shipped", store_id="sto-a", channel="taobao")
    first = await _row(env, number)
    assert first["shipped_at"] is not None
    assert (first["store_id"], first["channel"]) == ("sto-a", "taobao")
    # A repeat (a retried job) moves nothing: not the day it was used, not where.
    await _mark(allocation_client, shop, number, status="shipped", store_id="sto-b", channel="pinduoduo")
    again = await _row(env, number)
    assert (again["shipped_at"], again["store_id"], again["channel"]) == (first["shipped_at"], "sto-a", "taobao")


async def test_a_mark_that_says_no_store_still_marks_and_a_later_one_fills_it_in(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    number = (await _allocated(env, allocation_client, shop, ["use-2"]))["use-2"]
    await _mark(allocation_client, shop, number, status="shipped", order_id="use-2")
    bare = await _row(env, number)
    assert bare["status"] == 3
    assert bare["shipped_at"] is not None
    assert (bare["store_id"], bare["channel"]) == (None, None)
    await _mark(allocation_client, shop, number, status="shipped", store_id="sto-a", channel="own")
    filled = await _row(env, number)
    assert (filled["shipped_at"], filled["store_id"], filled["channel"]) == (bare["shipped_at"], "sto-a", "own")


async def test_a_number_shipped_before_a0005_keeps_no_shipped_at_when_marked_again(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    """Reports count such a number by updated_at: a repeat mark today must not date it today."""
    number = (await _allocated(env, allocation_client, shop, ["use-3"]))["use-3"]
    await _sql(env, "UPDATE allocation.waybills SET status = 3 WHERE number = $1", number)
    await _mark(allocation_client, shop, number, status="shipped", store_id="sto-a", channel="taobao")
    row = await _row(env, number)
    assert (row["shipped_at"], row["store_id"], row["channel"]) == (None, "sto-a", "taobao")


async def test_a_batch_mark_records_each_numbers_own_store_and_channel(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    numbers = await _allocated(env, allocation_client, shop, ["use-b1", "use-b2", "use-b3"])
    items = [
        {"number": numbers["use-b1"], "order_id": "use-b1", "store_id": "sto-t", "channel": "taobao"},
        {"number": numbers["use-b2"], "order_id": "use-b2", "store_id": "sto-p", "channel": "pinduoduo"},
        {"number": numbers["use-b3"], "order_id": "use-b3"},
    ]
    resp = await allocation_client.post(
        "/v1/waybills/batch-mark", json={"status": "shipped", "items": items}, headers=bearer(INTERNAL_KEY, shop.id)
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["marked"] == 3
    rows = {o: await _row(env, n) for o, n in numbers.items()}
    assert {o: (r["store_id"], r["channel"]) for o, r in rows.items()} == {
        "use-b1": ("sto-t", "taobao"),
        "use-b2": ("sto-p", "pinduoduo"),
        "use-b3": (None, None),
    }
    assert all(r["shipped_at"] is not None for r in rows.values())


async def test_a_store_or_channel_of_the_wrong_shape_is_refused(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    number = (await _allocated(env, allocation_client, shop, ["use-4"]))["use-4"]
    for body in ({"store_id": "a b"}, {"channel": "Taobao!"}, {"store_id": "x" * 65}):
        resp = await allocation_client.post(
            f"/v1/waybills/{number}/mark", json={"status": "shipped", **body}, headers=bearer(INTERNAL_KEY, shop.id)
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "validation_error"
