"""The database, not luck, keeps a number on one order: racing clients across OS processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from runtime.settings import to_asyncpg_dsn
from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.support import Env

# 64 connections of PostgreSQL's 100: next to the other test worker's apps, one of the two runs out. `make
# test` runs these by themselves, after the rest.
pytestmark = pytest.mark.alone


def _race(env: Env, pool_id: int, total: int, processes: int, clients: int, mode: str, tmp: Path) -> list[list[str]]:
    per = total // processes
    procs, outs = [], []
    for p in range(processes):
        out = tmp / f"race-{mode}-{p}.json"
        outs.append(out)
        args = [to_asyncpg_dsn(env.database_url), pool_id, p * per, per, clients // processes, mode, out]
        procs.append(subprocess.Popen([sys.executable, "-m", "tests.integration.allocation_race", *map(str, args)]))
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    results: list[list[str]] = []
    for out in outs:
        chunk: list[list[str]] = json.loads(out.read_text())
        results.extend(chunk)
    return results


async def _db_rows(env: Env, pool_id: int) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        rows: list[asyncpg.Record] = await conn.fetch(
            "SELECT number, order_ref FROM allocation.waybills WHERE pool_id = $1 AND status = 1", pool_id
        )
        return rows
    finally:
        await conn.close()


async def test_64_clients_in_2_processes_never_share_a_number(env: Env, shop: ShopCreds, tmp_path: Path) -> None:
    total = 20_000
    # A little spare stock: with exactly 20,000, the last few requests can find every remaining number
    # locked by in-flight allocations for other orders and rightly answer "no stock".
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(total + 200))
    results = await asyncio.to_thread(_race, env, pool_id, total, 2, 64, "locked", tmp_path)

    numbers = Counter(n for _, n in results)
    orders = Counter(o for o, _ in results)
    assert len(results) == total
    assert max(numbers.values()) == 1, "a number was handed to two orders"
    assert max(orders.values()) == 1
    rows = await _db_rows(env, pool_id)
    assert len(rows) == total
    assert len({r["order_ref"] for r in rows}) == total
    assert {r["number"]: r["order_ref"] for r in rows} == {n: o for o, n in results}


async def test_the_race_check_catches_an_allocator_without_row_locks(env: Env, shop: ShopCreds, tmp_path: Path) -> None:
    # The same race with FOR UPDATE SKIP LOCKED removed from the statement: the check above must
    # see numbers handed to two orders, or it would prove nothing.
    total = 2_000
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(total))
    results = await asyncio.to_thread(_race, env, pool_id, total, 2, 32, "unlocked", tmp_path)
    numbers = Counter(n for _, n in results)
    assert max(numbers.values()) > 1


async def test_20_concurrent_requests_for_one_order_get_one_number(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(50))
    body = {"carrier": "ZTO", "order_id": "same-order-1"}
    answers = await asyncio.gather(
        *(allocation_client.post("/v1/allocations", json=body, headers=shop.headers) for _ in range(20))
    )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["number"] for a in answers}) == 1
    assert sum(a.json()["created"] for a in answers) == 1
    later = await allocation_client.post("/v1/allocations", json=body, headers=shop.headers)
    assert later.json()["number"] == answers[0].json()["number"]
    assert later.json()["created"] is False


async def test_overlapping_batches_give_each_order_one_number(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(600))
    a = [f"b-{i}" for i in range(0, 300)]
    b = [f"b-{i}" for i in range(150, 450)]
    answers = await asyncio.gather(
        *(
            allocation_client.post(
                "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": ids}, headers=shop.headers
            )
            for ids in (a, b, a, b)
        )
    )
    assert {r.status_code for r in answers} == {200}
    by_order: dict[str, set[str]] = {}
    for r in answers:
        for alloc in r.json()["allocations"]:
            by_order.setdefault(alloc["order_id"], set()).add(alloc["number"])
    assert len(by_order) == 450
    assert all(len(n) == 1 for n in by_order.values())
    assert len({next(iter(n)) for n in by_order.values()}) == 450
