"""Scenario 4: a service process SIGKILLed while it handles requests, then started again. Clients that retry
with the same Idempotency-Key (or the same order) get one result; nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.e2e.harness import wait_for
from tests.faults import report
from tests.faults.flows import env_int
from tests.faults.invariants import assert_invariants
from tests.faults.load import Answers, assert_error_shape_503, call_until_done
from tests.faults.system import FaultSystem, since

pytestmark = pytest.mark.faults

ALLOCATING_CLIENTS = env_int("FAULTS_KILL_ALLOCATING_CLIENTS", 8)
PURCHASING_CLIENTS = env_int("FAULTS_KILL_PURCHASING_CLIENTS", 2)
TRADES = env_int("FAULTS_KILL_TRADES", 300)


async def test_allocation_api_killed_under_purchases_and_allocations(
    system: FaultSystem, request: pytest.FixtureRequest
) -> None:
    s = system
    name = "4a. allocation API SIGKILL under purchases and allocations"
    run = uuid.uuid4().hex[:8]
    async with s.client() as http:
        shop = await s.create_shop(http, "进程被杀店")
        await s.top_up(http, shop, 100_000_000)
        await s.buy(http, shop, "ZTO", "ZTO-5000")
        purchases, allocations = Answers(), Answers()
        stop = asyncio.Event()
        counter = iter(range(1_000_000))

        async def purchasing() -> None:
            while not stop.is_set():
                key = f"kill-{run}-{next(counter)}"
                resp = await call_until_done(
                    http,
                    "POST",
                    f"{s.allocation}/v1/purchases",
                    purchases,
                    json={"carrier": "ZTO", "package_id": "ZTO-1000"},
                    headers={**shop.headers, "Idempotency-Key": key},
                )
                if resp.status_code in (200, 202):
                    purchases.success(key, resp.json()["id"])
                    # The same key again after whatever happened: the same purchase, not a second one.
                    again = await call_until_done(
                        http,
                        "POST",
                        f"{s.allocation}/v1/purchases",
                        purchases,
                        json={"carrier": "ZTO", "package_id": "ZTO-1000"},
                        headers={**shop.headers, "Idempotency-Key": key},
                    )
                    purchases.success(key, again.json()["id"])
                await asyncio.sleep(0.5)

        async def allocating() -> None:
            while not stop.is_set():
                order = f"kill-{run}-{next(counter)}"
                for _ in range(2):
                    resp = await call_until_done(
                        http,
                        "POST",
                        f"{s.allocation}/v1/allocations",
                        allocations,
                        json={"carrier": "ZTO", "order_id": order},
                        headers=shop.headers,
                    )
                    if resp.status_code == 200:
                        allocations.success(order, resp.json()["number"])

        tasks = [asyncio.create_task(purchasing()) for _ in range(PURCHASING_CLIENTS)]
        tasks += [asyncio.create_task(allocating()) for _ in range(ALLOCATING_CLIENTS)]
        await asyncio.sleep(3)
        s.kill("allocation")
        killed = time.monotonic()
        await asyncio.sleep(1)
        await asyncio.to_thread(s.start, ["allocation"])
        started = time.monotonic()
        done_at_start = sum(map(len, allocations.results.values()))

        async def serving_again() -> bool:
            return sum(map(len, allocations.results.values())) > done_at_start

        await wait_for(serving_again, 120, "allocations to succeed again", every=0.05)
        serving_s = since(started)
        await asyncio.sleep(2)
        stop.set()
        await asyncio.gather(*tasks)

        # Each key: one purchase, the one every answer named; charged once.
        ids = {key: set(got) for key, got in purchases.results.items()}
        assert all(len(v) == 1 for v in ids.values()), {k: v for k, v in ids.items() if len(v) > 1}
        rows = await s.sql(
            "SELECT idempotency_key, id FROM allocation.purchases WHERE shop_id = $1 AND idempotency_key LIKE $2",
            shop.id,
            f"kill-{run}-%",
        )
        assert {r["idempotency_key"]: {r["id"]} for r in rows} == ids
        charged = await s.sql(
            "SELECT reference, count(*) AS n FROM allocation.ledger_entries WHERE shop_id = $1 AND kind = 'purchase' "
            "GROUP BY reference",
            shop.id,
        )
        assert all(r["n"] == 1 for r in charged), charged
        assert {r["reference"] for r in charged} >= {next(iter(v)) for v in ids.values()}

        # Each purchase completes: its job was not lost with the process that committed it.
        async def purchases_done() -> bool:
            found = await s.sql(
                "SELECT count(*) FILTER (WHERE status <> 'completed') AS open FROM allocation.purchases "
                "WHERE shop_id = $1",
                shop.id,
            )
            return bool(found[0]["open"] == 0)

        await wait_for(purchases_done, 300, "every purchase completed")
        # Each order: one number, the same on every answer, none on two orders, exactly what the database holds.
        numbers = {order: set(got) for order, got in allocations.results.items()}
        assert all(len(v) == 1 for v in numbers.values())
        assert len({next(iter(v)) for v in numbers.values()}) == len(numbers)
        held = await s.sql(
            "SELECT order_ref, number FROM allocation.waybills WHERE order_ref LIKE $1 AND status IN (1, 2, 3)",
            f"kill-{run}-%",
        )
        assert {r["order_ref"]: {r["number"]} for r in held} == numbers
        assert purchases.unexpected == [], purchases.unexpected
        assert allocations.unexpected == [], allocations.unexpected
        assert_error_shape_503(purchases)
        assert_error_shape_503(allocations)
        report.record(
            request.node.nodeid,
            name,
            down_s=round(started - killed, 1),
            serving_after_start_s=serving_s,
            purchases=len(ids),
            allocations=len(numbers),
            client_retries_on_dropped_connections=purchases.transport_errors + allocations.transport_errors,
        )
    report.record(request.node.nodeid, name, invariants_settled_s=await assert_invariants(s))


async def test_shipping_api_killed_while_order_messages_arrive(
    system: FaultSystem, request: pytest.FixtureRequest
) -> None:
    s = system
    name = "4b. shipping API SIGKILL while order messages arrive"
    async with s.client() as http:
        shop = await s.ready_shop(http, (("ZTO", "ZTO-1000"),))
        tids = await s.paid_trades(http, shop, TRADES)

        async def some_delivered() -> bool:
            stats = (await http.get(f"{s.sandbox}/control/marketplace/messages/stats")).json()
            return bool(stats["delivered"] >= 20)

        await wait_for(some_delivered, 120, "order messages to arrive", every=0.05)
        s.kill("shipping")
        killed = time.monotonic()
        pending = (await http.get(f"{s.sandbox}/control/marketplace/messages/stats")).json()["pending"]
        assert pending > 0, "every message was in before the kill: nothing was tested"
        await asyncio.sleep(1)
        await asyncio.to_thread(s.start, ["shipping"])
        started = time.monotonic()
        order_ids = await s.orders_for(http, shop, tids, within=300)
        assert len(set(order_ids)) == TRADES
        report.record(
            request.node.nodeid,
            name,
            trades=TRADES,
            pending_at_kill=pending,
            down_s=round(started - killed, 1),
            all_orders_in_after_start_s=since(started),
        )
    report.record(request.node.nodeid, name, invariants_settled_s=await assert_invariants(s))
