"""Concurrent single allocations coalesced into one statement (services.allocation.coalescer): each caller still
gets exactly its own order's number, the same order from two callers one number, a cancelled caller never loses
a number, a dry pool answers "no stock" only for the orders left without one; and across real API processes no
number goes to two orders."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from devstack.infra import free_port
from runtime.settings import to_asyncpg_dsn
from services.allocation.coalescer import Coalescer
from services.allocation.repository.statements import AllocatedRow, AllocationStatements, skip_reset
from tests.e2e.harness import wait_for
from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.conftest import ShopCreds, make_shop
from tests.support import ADMIN_KEY, Env, bearer, outside_env

# Gated statements stand still on purpose: a coalescer in these tests must not take them for stalled ones.
STALL_NEVER = 3600.0


class Spy(AllocationStatements):
    """The real statements, recording each coalesced call (its orders and the task it ran on); with ``gated``,
    each call waits until the test releases it, so a test can act while a statement is in flight."""

    def __init__(self, pool: asyncpg.Pool, *, gated: bool = False) -> None:
        super().__init__(pool)
        self.gated = gated
        self.calls: list[list[str]] = []
        self.tasks: list[asyncio.Task[object] | None] = []
        self.entered: asyncio.Queue[asyncio.Event] = asyncio.Queue()
        self.fail_with: Exception | None = None
        self.looked_again: list[str] = []  # orders that went on to the single path's re-looks

    async def allocate_one(self, pool_id: int, order_ref: str) -> AllocatedRow | None:
        self.looked_again.append(order_ref)
        return await super().allocate_one(pool_id, order_ref)

    async def allocate_coalesced(self, pool_id: int, order_refs: list[str]) -> dict[str, AllocatedRow]:
        self.calls.append(list(order_refs))
        self.tasks.append(asyncio.current_task())
        if self.gated:
            gate = asyncio.Event()
            await self.entered.put(gate)
            await gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return await super().allocate_coalesced(pool_id, order_refs)


@pytest.fixture
async def pg(env: Env) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(to_asyncpg_dsn(env.database_url), min_size=1, max_size=4, reset=skip_reset)
    yield pool
    await pool.close()


async def _live(pg: asyncpg.Pool, pool_id: int) -> dict[str, str]:
    """Order -> number of every live allocation of the pool; fails if a number or an order is there twice."""
    rows = await pg.fetch(
        "SELECT order_ref, number FROM allocation.waybills WHERE pool_id = $1 AND status IN (1, 2, 3)", pool_id
    )
    assert len({r["number"] for r in rows}) == len(rows), "a number went to two orders"
    assert len({r["order_ref"] for r in rows}) == len(rows), "an order holds two numbers"
    return {r["order_ref"]: r["number"] for r in rows}


async def test_concurrent_callers_share_statements_and_each_gets_its_own_number(
    pg: asyncpg.Pool, env: Env, shop: ShopCreds
) -> None:
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(300))
    spy = Spy(pg)
    coalescer = Coalescer(spy, max_batch=64, stall_s=STALL_NEVER)
    orders = [f"many-{i}" for i in range(200)]
    rows = await asyncio.gather(*(coalescer.allocate(pool_id, o) for o in orders))

    assert all(r is not None and r.created for r in rows)
    assert [r.order_ref for r in rows if r is not None] == orders
    assert len({r.number for r in rows if r is not None}) == 200
    assert coalescer.flushes == len(spy.calls) < 200 // 4, "the callers were not coalesced"
    assert max(len(c) for c in spy.calls) <= 64
    assert await _live(pg, pool_id) == {r.order_ref: r.number for r in rows if r is not None}


async def test_a_request_alone_goes_out_at_once_on_its_own_task(pg: asyncpg.Pool, env: Env, shop: ShopCreds) -> None:
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(5))
    spy = Spy(pg)
    coalescer = Coalescer(spy, stall_s=STALL_NEVER)
    row = await coalescer.allocate(pool_id, "idle-1")
    assert row is not None
    assert row.created
    # One statement, sent from the caller's own task: no flush task, no timer, nothing waited for.
    assert coalescer.flushes == 1
    assert spy.calls == [["idle-1"]]
    assert spy.tasks == [asyncio.current_task()]
    again = await coalescer.allocate(pool_id, "idle-1")
    assert again == AllocatedRow("idle-1", row.number, row.expires_at, False)


async def test_the_same_order_from_two_callers_in_one_window_gets_one_number(
    pg: asyncpg.Pool, env: Env, shop: ShopCreds
) -> None:
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(10))
    spy = Spy(pg, gated=True)
    coalescer = Coalescer(spy, stall_s=STALL_NEVER)
    first = asyncio.create_task(coalescer.allocate(pool_id, "ahead"))
    gate = await spy.entered.get()  # a statement in flight: what comes now waits for the next one
    twins = [asyncio.create_task(coalescer.allocate(pool_id, "twin")) for _ in range(2)]
    other = asyncio.create_task(coalescer.allocate(pool_id, "other"))
    await asyncio.sleep(0)
    gate.set()
    await first
    (await spy.entered.get()).set()
    a, b = await asyncio.gather(*twins)
    await other
    assert spy.calls == [["ahead"], ["other", "twin"]]  # both twins in one statement, as one order
    assert a is not None
    assert b is not None
    assert a.number == b.number
    assert (a.created, b.created) == (True, False)
    assert (await _live(pg, pool_id))["twin"] == a.number


async def test_cancelled_callers_never_lose_a_number(pg: asyncpg.Pool, env: Env, shop: ShopCreds) -> None:
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(10))
    spy = Spy(pg, gated=True)
    coalescer = Coalescer(spy, stall_s=STALL_NEVER)
    ahead = asyncio.create_task(coalescer.allocate(pool_id, "ahead"))
    gate = await spy.entered.get()
    before = asyncio.create_task(coalescer.allocate(pool_id, "cancel-before"))
    during = asyncio.create_task(coalescer.allocate(pool_id, "cancel-during"))
    stays = asyncio.create_task(coalescer.allocate(pool_id, "stays"))
    await asyncio.sleep(0)
    before.cancel()  # still waiting for the next statement: it leaves the queue
    with pytest.raises(asyncio.CancelledError):
        await before
    gate.set()
    await ahead
    gate = await spy.entered.get()  # the next statement has begun, with the two still waiting
    assert spy.calls[1] == ["cancel-during", "stays"]
    during.cancel()
    with pytest.raises(asyncio.CancelledError):
        await during
    gate.set()
    assert (await stays) is not None
    await coalescer.aclose()  # the cancelled caller's statement finishes all the same

    live = await _live(pg, pool_id)
    assert set(live) == {"ahead", "cancel-during", "stays"}, "a number for a caller that left, or one lost"
    spy.gated = False
    retry = await coalescer.allocate(pool_id, "cancel-during")
    assert retry is not None
    assert (retry.number, retry.created) == (live["cancel-during"], False)
    free = await pg.fetchval("SELECT count(*) FROM allocation.waybills WHERE pool_id = $1 AND status = 0", pool_id)
    assert free == 10 - 3, "a number left its free list without reaching an order"


async def test_a_stalled_statement_does_not_hold_its_pool_back(pg: asyncpg.Pool, env: Env, shop: ShopCreds) -> None:
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(10))
    spy = Spy(pg, gated=True)
    coalescer = Coalescer(spy, stall_s=0.05, stalled_in_flight=2)
    stalled = asyncio.create_task(coalescer.allocate(pool_id, "stall-0"))
    first_gate = await spy.entered.get()
    await asyncio.sleep(0.1)  # past stall_s: the next request goes out beside the stalled statement
    beside = asyncio.create_task(coalescer.allocate(pool_id, "stall-1"))
    second_gate = await spy.entered.get()
    assert spy.calls == [["stall-0"], ["stall-1"]]
    await asyncio.sleep(0.1)  # two in flight now: the cap, so the next one waits
    waits = asyncio.create_task(coalescer.allocate(pool_id, "stall-2"))
    await asyncio.sleep(0.01)
    assert len(spy.calls) == 2
    second_gate.set()
    assert await beside is not None
    (await spy.entered.get()).set()
    assert await waits is not None
    first_gate.set()
    assert await stalled is not None
    assert spy.calls == [["stall-0"], ["stall-1"], ["stall-2"]]
    assert len(set((await _live(pg, pool_id)).values())) == 3


async def test_a_pool_running_dry_inside_a_window(pg: asyncpg.Pool, env: Env, shop: ShopCreds) -> None:
    stock, extra = 20, 7
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(stock))
    spy = Spy(pg)
    coalescer = Coalescer(spy, stall_s=STALL_NEVER)
    orders = [f"dry-{i}" for i in range(stock + extra)]
    rows = await asyncio.gather(*(coalescer.allocate(pool_id, o) for o in orders))
    got = [r for r in rows if r is not None]
    assert len(got) == stock
    assert rows.count(None) == extra
    assert len({r.number for r in got}) == stock
    assert len(spy.calls) < len(orders), "the callers were not coalesced"
    assert await _live(pg, pool_id) == {r.order_ref: r.number for r in got}


async def test_stock_locked_for_the_same_order_elsewhere_is_not_no_stock(
    pg: asyncpg.Pool, env: Env, shop: ShopCreds
) -> None:
    """The last free number taken for order x by another process's statement not yet committed: a window with x
    finds no free row and no number for x, and must look again (the single path's re-looks) rather than answer
    "no stock"; an order with no number anywhere then gets "no stock"."""
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(2))
    spy = Spy(pg, gated=True)
    coalescer = Coalescer(spy, stall_s=STALL_NEVER)
    async with pg.acquire() as holder:
        tx = holder.transaction()
        await tx.start()
        held = await holder.fetchrow(
            "UPDATE allocation.waybills SET status = 1, order_ref = 'locked-x', allocated_at = now() "
            "WHERE id = (SELECT min(id) FROM allocation.waybills WHERE pool_id = $1) RETURNING number",
            pool_id,
        )
        assert held is not None
        ahead = asyncio.create_task(coalescer.allocate(pool_id, "locked-y"))  # takes the other number
        gate = await spy.entered.get()
        xs = [asyncio.create_task(coalescer.allocate(pool_id, "locked-x")) for _ in range(2)]
        z = asyncio.create_task(coalescer.allocate(pool_id, "locked-z"))
        await asyncio.sleep(0)
        gate.set()
        assert await ahead is not None
        (await spy.entered.get()).set()
        assert spy.calls[1] == ["locked-x", "locked-z"]
        await wait_for(lambda: _true(spy.looked_again), 10, "the window's callers to look again", every=0.001)
        await tx.commit()  # while they look again
    a, b = await asyncio.gather(*xs)
    assert a is not None
    assert b is not None
    assert (a.number, a.created, b.number, b.created) == (held["number"], False, held["number"], False)
    assert await z is None
    assert sorted(spy.looked_again) == ["locked-x", "locked-x", "locked-z"]
    assert await _live(pg, pool_id) == {"locked-x": held["number"], "locked-y": (await _live(pg, pool_id))["locked-y"]}


async def test_a_dry_pool_answers_409_to_the_orders_left_over_through_the_api(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    stock = 12
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(stock))
    answers = await asyncio.gather(
        *(
            allocation_client.post(
                "/v1/allocations", json={"carrier": "ZTO", "order_id": f"api-dry-{i}"}, headers=shop.headers
            )
            for i in range(stock + 5)
        )
    )
    ok = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(ok) == stock
    assert {a.status_code for a in refused} == {409}
    assert {a.json()["error"]["code"] for a in refused} == {"pool_exhausted"}
    assert len({a.json()["number"] for a in ok}) == stock
    assert all(a.json()["order_id"] == f"api-dry-{i}" for i, a in enumerate(answers) if a.status_code == 200)


async def test_a_statement_error_reaches_every_caller_of_its_statement(
    pg: asyncpg.Pool, env: Env, shop: ShopCreds
) -> None:
    pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(10))
    spy = Spy(pg, gated=True)
    coalescer = Coalescer(spy, stall_s=STALL_NEVER)
    ahead = asyncio.create_task(coalescer.allocate(pool_id, "err-ahead"))
    gate = await spy.entered.get()
    waiting = [asyncio.create_task(coalescer.allocate(pool_id, f"err-{i}")) for i in range(3)]
    await asyncio.sleep(0)
    spy.fail_with = ConnectionRefusedError("database down")
    gate.set()
    with pytest.raises(ConnectionRefusedError):
        await ahead
    (await spy.entered.get()).set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionRefusedError) for r in results)
    assert await _live(pg, pool_id) == {}


# -- real API processes ------------------------------------------------------------------------------------------


@pytest.mark.alone
async def test_api_processes_racing_on_one_pool_with_overlapping_orders(env: Env) -> None:
    """Three API processes, each coalescing its own requests, on one pool; every order asked for twice, by
    two different processes. In the table: no number twice, no order with two live numbers; every answer's
    number is its order's; each order created once."""
    processes, orders, per_process = 3, 600, 24
    ports = [free_port() for _ in range(processes)]
    environ = {**outside_env(), **env.settings_env(), "WAYBILL_LOG_LEVEL": "WARNING"}
    argv = [sys.executable, "-m", "runtime.serve", "services.allocation.main:app", "--port"]
    procs = [
        await asyncio.create_subprocess_exec(
            *argv, str(p), env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.getcwd()
        )
        for p in ports
    ]
    try:
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=60) for p in ports]

        async def up(client: httpx.AsyncClient) -> bool:
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        for client in clients:
            await wait_for(lambda c=client: up(c), 60, "an API process to start")  # type: ignore[misc]
        shop = await make_shop(clients[0], "合并分配")
        pool_id = await seed_numbers(env, shop.id, "ZTO", zto_numbers(orders + 50))

        # Each process gets every order once, in its own order: each order is asked of every process.
        answers: list[tuple[str, int, dict[str, object]]] = []

        async def hammer(n: int) -> None:
            work = [f"mp-{i}" for i in range(orders)]
            work = work[n * orders // processes :] + work[: n * orders // processes]
            queue = iter(work[: orders * 2 // processes + 1])  # two of three processes ask for each order

            async def one() -> None:
                for order in queue:
                    body = {"carrier": "ZTO", "order_id": order}
                    resp = await clients[n].post("/v1/allocations", json=body, headers=bearer(shop.key))
                    answers.append((order, resp.status_code, resp.json()))

            await asyncio.gather(*(one() for _ in range(per_process)))

        await asyncio.gather(*(hammer(n) for n in range(processes)))
        metrics = [(await c.get("/metrics", headers=bearer(ADMIN_KEY))).text for c in clients]
        for client in clients:
            await client.aclose()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 10)

    assert Counter(status for _, status, _ in answers) == {200: len(answers)}
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        rows = await conn.fetch(
            "SELECT order_ref, number FROM allocation.waybills WHERE pool_id = $1 AND status IN (1, 2, 3)", pool_id
        )
    finally:
        await conn.close()
    assert len({r["number"] for r in rows}) == len(rows), "a number went to two orders"
    assert len({r["order_ref"] for r in rows}) == len(rows), "an order holds two numbers"
    live = {r["order_ref"]: r["number"] for r in rows}
    assert set(live) == {order for order, _, _ in answers} == {f"mp-{i}" for i in range(orders)}
    assert all(body["number"] == live[order] for order, _, body in answers), "an answer's number is not its order's"
    created = Counter(order for order, _, body in answers if body["created"])
    assert set(created.values()) == {1}
    assert len(created) == orders
    asked = Counter(order for order, _, _ in answers)
    assert min(asked.values()) >= 2
    # The processes coalesced: fewer statements than requests (the flush-size histogram of each process).
    statements = sum(_metric(m, "waybill_allocation_flush_size_count") for m in metrics)
    requests = sum(_metric(m, "waybill_allocation_flush_size_sum") for m in metrics)
    assert requests == len(answers)
    assert statements < len(answers)


async def _true(value: object) -> bool:
    return bool(value)


def _metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))
