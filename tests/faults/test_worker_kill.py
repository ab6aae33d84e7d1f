"""Scenario 1: the shipping worker SIGKILLed in the middle of a 2,000-order batch, then started again."""

from __future__ import annotations

import time

import pytest

from tests.faults import report
from tests.faults.flows import assert_batch_shipped_once, batch_view, env_int, shop_with_orders, start_batch, wait_done
from tests.faults.invariants import AFTER_WORKER_KILL, assert_invariants, batch_jobs
from tests.faults.system import FaultSystem, since

pytestmark = pytest.mark.faults

ORDERS = env_int("FAULTS_BATCH_ORDERS", 2000)


async def test_shipping_worker_killed_mid_batch(system: FaultSystem, request: pytest.FixtureRequest) -> None:
    s = system
    async with s.client() as http:
        shop, tids, order_ids = await shop_with_orders(s, http, ORDERS)
        batch_id = await start_batch(s, http, shop, order_ids)
        await wait_done(s, http, shop, batch_id, ORDERS // 10)
        s.kill("shipping-worker")
        killed = time.monotonic()
        at_kill = await batch_view(s, http, shop, batch_id)
        assert at_kill["pending"] > 0, "the kill came too late to test anything"
        s.start(["shipping-worker"])
        restarted = time.monotonic()
        batch = await wait_done(s, http, shop, batch_id, ORDERS)
        # The batch must also say it is finished (its leases lapsed and were taken over).
        batch = await s.wait_batch(http, shop, batch_id, within=300)
        report.record(
            request.node.nodeid,
            "1. shipping worker SIGKILL mid-batch",
            orders=ORDERS,
            done_at_kill=at_kill["done"],
            worker_down_s=round(restarted - killed, 1),
            batch_finished_after_restart_s=since(restarted),
        )
        await assert_batch_shipped_once(s, http, shop, tids, batch)
    settled = await assert_invariants(s, checks=AFTER_WORKER_KILL)
    report.record(
        request.node.nodeid,
        "1. shipping worker SIGKILL mid-batch",
        invariants_settled_s=settled,
        killed_process_batch_jobs_awaiting_arq_retry=await batch_jobs(s, finished=True),
    )
