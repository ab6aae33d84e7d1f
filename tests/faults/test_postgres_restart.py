"""Scenario 3: PostgreSQL restarted under allocation load. While it is down clients get 503 in the error shape
with Retry-After (never a 500, never a partial write); afterwards every service works again by itself."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from tests.e2e.harness import wait_for
from tests.faults import report
from tests.faults.flows import env_int
from tests.faults.invariants import assert_invariants
from tests.faults.load import Answers, assert_error_shape_503, call_until_done
from tests.faults.system import FaultSystem, since
from tests.support import ADMIN_KEY, bearer

pytestmark = pytest.mark.faults

CLIENTS = env_int("FAULTS_PG_CLIENTS", 16)
DOWN_S = env_int("FAULTS_PG_DOWN_S", 6)
TOPUP_CENTS = 7


async def test_postgres_restarted_under_allocation_load(system: FaultSystem, request: pytest.FixtureRequest) -> None:
    s = system
    run = uuid.uuid4().hex[:8]
    async with s.client() as http:
        shop = await s.create_shop(http, "数据库重启店")
        await s.top_up(http, shop, 100_000_000)
        await s.buy(http, shop, "ZTO", "ZTO-5000")
        before = (await http.get(f"{s.allocation}/v1/balance", headers=shop.headers)).json()
        allocations, topups = Answers(), Answers()
        stop = asyncio.Event()
        counter = iter(range(1_000_000))

        async def allocating() -> None:
            while not stop.is_set():
                order = f"pg-{run}-{next(counter)}"
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
                    # The same order again: the same number, whether or not the database restarted between.
                    again = await call_until_done(
                        http,
                        "POST",
                        f"{s.allocation}/v1/allocations",
                        allocations,
                        json={"carrier": "ZTO", "order_id": order},
                        headers=shop.headers,
                    )
                    allocations.success(order, again.json()["number"])

        async def topping_up() -> None:
            # Not idempotent: a 503 means "did not happen" except when the commit's answer itself was lost.
            while not stop.is_set():
                try:
                    resp = await http.post(
                        f"{s.allocation}/v1/shops/{shop.id}/topups",
                        json={"amount_cents": TOPUP_CENTS},
                        headers=bearer(ADMIN_KEY),
                    )
                except httpx.TransportError:
                    topups.transport_errors += 1
                    continue
                topups.statuses[resp.status_code] += 1
                if resp.status_code == 503:
                    topups.unavailable(resp)
                    await asyncio.sleep(0.2)
                elif resp.status_code != 201:
                    topups.unexpected.append((resp.status_code, resp.text[:300]))

        tasks = [asyncio.create_task(allocating()) for _ in range(CLIENTS)] + [asyncio.create_task(topping_up())]
        await asyncio.sleep(3)
        await asyncio.to_thread(s.postgres.stop)
        stopped = time.monotonic()
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(s.postgres.start)
        started = time.monotonic()
        successes_at_start = sum(map(len, allocations.results.values()))

        async def allocating_again() -> bool:
            return sum(map(len, allocations.results.values())) > successes_at_start

        await wait_for(allocating_again, 120, "allocations to succeed again after the restart", every=0.05)
        recovered_s = since(started)
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*tasks)

        # Every other service works again without being restarted: a request that needs the database each.
        async def shipping_back() -> bool:
            r = await http.get(f"{s.shipping}/v1/orders", params={"limit": 1}, headers=shop.headers)
            return r.status_code == 200

        async def tracking_back() -> bool:
            r = await http.get(f"{s.tracking}/v1/alerts", params={"limit": 1}, headers=shop.headers)
            return r.status_code == 200

        await wait_for(shipping_back, 60, "shipping to answer from the database")
        await wait_for(tracking_back, 60, "tracking to answer from the database")
        assert s.dead() == [], f"processes died with the database: {s.dead()}"
        report.record(
            request.node.nodeid,
            "3. PostgreSQL restart under allocation load",
            postgres_down_s=round(started - stopped, 1),
            first_allocation_after_start_s=recovered_s,
            answers=dict(allocations.statuses),
            topup_answers=dict(topups.statuses),
        )

        # While it was down: 503s in the error shape with Retry-After, and nothing else went wrong.
        assert allocations.statuses[503] > 0, allocations.statuses
        assert allocations.unexpected == [], allocations.unexpected
        assert topups.unexpected == [], topups.unexpected
        assert set(allocations.statuses) <= {200, 503}
        assert set(topups.statuses) <= {201, 503}
        assert_error_shape_503(allocations)
        assert_error_shape_503(topups)
        # Every order holds one number, the same on every answer, and no number went to two orders.
        numbers = {order: set(got) for order, got in allocations.results.items()}
        assert all(len(n) == 1 for n in numbers.values()), [o for o, n in numbers.items() if len(n) > 1]
        assert len({next(iter(n)) for n in numbers.values()}) == len(numbers)
        # No partial write: the database holds exactly the allocations the clients were given.
        rows = await s.sql(
            "SELECT order_ref, number FROM allocation.waybills WHERE order_ref LIKE $1 AND status IN (1, 2, 3)",
            f"pg-{run}-%",
        )
        assert {r["order_ref"]: {r["number"]} for r in rows} == numbers
        # Top-ups: each acknowledged one is in the ledger; a 503 may hide one whose commit answer was lost.
        after = (await http.get(f"{s.allocation}/v1/balance", headers=shop.headers)).json()
        added = (after["balance_cents"] - before["balance_cents"]) // TOPUP_CENTS
        assert topups.statuses[201] <= added <= topups.statuses[201] + topups.statuses[503]
    report.record(
        request.node.nodeid,
        "3. PostgreSQL restart under allocation load",
        invariants_settled_s=await assert_invariants(s),
    )
