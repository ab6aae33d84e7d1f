"""Scenario 1: the shipping worker SIGKILLed in the middle of a 2,000-order batch, then started again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.shipping.settings import ShippingSettings
from tests.e2e.harness import wait_for
from tests.faults import report
from tests.faults.flows import assert_batch_shipped_once, batch_view, env_int, shop_with_orders, start_batch, wait_done
from tests.faults.invariants import AFTER_WORKER_KILL, assert_invariants, batch_jobs
from tests.faults.system import FaultSystem, since

pytestmark = pytest.mark.faults

ORDERS = env_int("FAULTS_BATCH_ORDERS", 2000)
# Issue 20: the batch resumes within 10 s of the worker's restart (it waited about 75 s on 60 s leases). Measured
# 7.7 s at a load of 6.5 on two cores and 28 s at 9.5 (a 10,000-order bench beside it): a machine that loaded may
# set FAULTS_RESUME_WITHIN_S higher. The figure printed is the one to report.
RESUME_WITHIN_S = float(env_int("FAULTS_RESUME_WITHIN_S", 10))
# The settings recovery depends on, at their production defaults rather than the e2e harness's short ones.
LEASE_SETTINGS = ("batch_lease_s", "batch_sweep_s", "confirm_lease_s")


@contextmanager
def production_leases(s: FaultSystem) -> Iterator[None]:
    """The shipping worker restarted with production's leases and sweeps for the scenario, then with the
    harness's again (the other scenarios rely on its short ones)."""
    names = [f"SHIPPING_{n.upper()}" for n in LEASE_SETTINGS]
    saved = {n: s.env.get(n) for n in names}
    s.env.update({n: str(ShippingSettings.model_fields[f].default) for n, f in zip(names, LEASE_SETTINGS, strict=True)})
    try:
        s.restart("shipping-worker")
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                s.env.pop(name, None)
            else:
                s.env[name] = value
        s.restart("shipping-worker")


async def shipments_of(s: FaultSystem, batch_id: str) -> int:
    rows = await s.sql(
        "SELECT count(*) AS n FROM shipping.shipments sh JOIN shipping.batch_items i ON i.order_id = sh.order_id "
        "WHERE i.batch_id = $1",
        batch_id,
    )
    return int(rows[0]["n"])


async def wait_mid_chunk(s: FaultSystem, batch_id: str, at_least: int) -> int:
    """Until the workers hold numbers for ``at_least`` orders of the batch: numbers allocated, shipments
    made, confirmations being sent. The batch's chunks work side by side and finish within moments of each
    other, so waiting for shipped orders instead could miss the middle altogether."""

    async def enough() -> int | None:
        s.assert_alive()
        n = await shipments_of(s, batch_id)
        return n if n >= at_least else None

    found: int = await wait_for(enough, 600, f"{at_least} shipments of batch {batch_id}", every=0.05)
    return found


async def test_shipping_worker_killed_mid_batch(system: FaultSystem, request: pytest.FixtureRequest) -> None:
    s = system
    with production_leases(s):
        await _kill_mid_batch(s, request)
    settled = await assert_invariants(s, checks=AFTER_WORKER_KILL)
    report.record(
        request.node.nodeid,
        "1. shipping worker SIGKILL mid-batch",
        invariants_settled_s=settled,
        killed_process_batch_jobs_awaiting_arq_retry=await batch_jobs(s, finished=True),
    )


async def _kill_mid_batch(s: FaultSystem, request: pytest.FixtureRequest) -> None:
    async with s.client() as http:
        shop, tids, order_ids = await shop_with_orders(s, http, ORDERS)
        batch_id = await start_batch(s, http, shop, order_ids)
        await wait_mid_chunk(s, batch_id, ORDERS // 10)
        s.kill("shipping-worker")
        killed = time.monotonic()
        at_kill = await batch_view(s, http, shop, batch_id)
        shipments_at_kill = await shipments_of(s, batch_id)
        assert at_kill["pending"] > 0, "the kill came too late to test anything"
        s.start(["shipping-worker"])
        restarted = time.monotonic()
        # Resumed: the first order shipped after the restart (the killed worker's chunks taken over).
        await wait_done(s, http, shop, batch_id, at_kill["done"] + 1, within=300)
        resumed = since(restarted)
        print(f"\n[faults] batch resumed {resumed:.1f} s after the worker's restart")
        batch = await wait_done(s, http, shop, batch_id, ORDERS)
        # The batch must also say it is finished (its leases lapsed and were taken over).
        batch = await s.wait_batch(http, shop, batch_id, within=300)
        report.record(
            request.node.nodeid,
            "1. shipping worker SIGKILL mid-batch",
            orders=ORDERS,
            shipments_at_kill=shipments_at_kill,
            done_at_kill=at_kill["done"],
            worker_down_s=round(restarted - killed, 1),
            batch_resumed_after_restart_s=resumed,
            batch_finished_after_restart_s=since(restarted),
        )
        await assert_batch_shipped_once(s, http, shop, tids, batch)
        assert resumed < RESUME_WITHIN_S, f"the batch resumed {resumed} s after the restart"
