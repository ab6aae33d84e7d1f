"""Scenario 2: Redis stopped and started again empty (every queued job and cron lock gone), once during a
batch and once during tracking ingestion. The outbox sweeper and the batch resume cron must bring back what
was lost, and no process may need a hand."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from tests.e2e.harness import wait_for
from tests.faults import report
from tests.faults.flows import (
    assert_batch_shipped_once,
    batch_view,
    env_int,
    shop_with_orders,
    start_batch,
    wait_progress,
)
from tests.faults.invariants import assert_invariants
from tests.faults.system import FaultSystem, since
from tests.faults.tracking_flow import accelerate, real_time, use_tracking_env, wait_settled, wait_subscribed

pytestmark = pytest.mark.faults

BATCH_ORDERS = env_int("FAULTS_REDIS_BATCH_ORDERS", 600)
PARCELS = env_int("FAULTS_TRACKING_PARCELS", 150)
DOWN_S = env_int("FAULTS_REDIS_DOWN_S", 3)


def restart_redis_empty(s: FaultSystem) -> tuple[float, float]:
    s.redis.kill()
    stopped = time.monotonic()
    time.sleep(DOWN_S)
    s.redis.start()
    return stopped, time.monotonic()


async def test_redis_lost_during_batch(system: FaultSystem, request: pytest.FixtureRequest) -> None:
    s = system
    name = "2a. Redis lost (data gone) during a batch"
    async with s.client() as http:
        shop, tids, order_ids = await shop_with_orders(s, http, BATCH_ORDERS)
        # Right after the batch is accepted: its jobs are in Redis, some maybe already taken by the worker.
        batch_id = await start_batch(s, http, shop, order_ids)
        stopped, started = await asyncio.to_thread(restart_redis_empty, s)
        at_restart = await batch_view(s, http, shop, batch_id)
        assert at_restart["pending"] > 0, "the batch ended before Redis came back: nothing was tested"
        progress_s = await wait_progress(s, http, shop, batch_id, within=300)
        batch = await s.wait_batch(http, shop, batch_id, within=600)
        report.record(
            request.node.nodeid,
            name,
            orders=BATCH_ORDERS,
            redis_down_s=round(started - stopped, 1),
            pending_at_restart=at_restart["pending"],
            first_progress_after_restart_s=progress_s,
            batch_finished_after_restart_s=since(started),
        )
        assert s.dead() == [], f"processes died with Redis: {s.dead()}"
        await assert_batch_shipped_once(s, http, shop, tids, batch)
    report.record(request.node.nodeid, name, invariants_settled_s=await assert_invariants(s))


async def test_redis_lost_during_tracking_ingestion(system: FaultSystem, request: pytest.FixtureRequest) -> None:
    s = system
    name = "2b. Redis lost (data gone) during tracking ingestion"
    use_tracking_env(s)
    async with s.client() as http:
        shop, _, order_ids = await shop_with_orders(s, http, PARCELS, package="ZTO-1000")
        batch_id = await start_batch(s, http, shop, order_ids)
        assert (await s.wait_batch(http, shop, batch_id, within=600))["done"] == PARCELS
        numbers = await wait_subscribed(s, http, shop, order_ids)
        await accelerate(s, http)
        try:

            async def pushes_flowing() -> bool:
                stats = (await http.get(f"{s.sandbox}/control/tracking/stats")).json()
                return bool(stats["pushes"]["acked"] >= PARCELS)

            await wait_for(pushes_flowing, 300, "tracking pushes to flow")
            stopped, started = await asyncio.to_thread(restart_redis_empty, s)
            restarted_at = datetime.now(UTC)

            async def processed_after_restart() -> bool:
                rows = await s.sql(
                    "SELECT count(*) AS n FROM tracking.raw_pushes WHERE received_at > $1 AND processed_at IS NOT NULL",
                    restarted_at,
                )
                return bool(rows[0]["n"])

            await wait_for(processed_after_restart, 300, "a push received after the restart to be processed")
            first_processed_s = since(started)
            truth = await wait_settled(s, http, shop, order_ids, numbers, within=900)
        finally:
            await real_time(s, http)
        pushes = {k: sum(t["pushes"][k] for t in truth.values()) for k in ("acked", "failed")}
        report.record(
            request.node.nodeid,
            name,
            parcels=PARCELS,
            redis_down_s=round(started - stopped, 1),
            first_push_processed_after_restart_s=first_processed_s,
            all_settled_after_restart_s=since(started),
            pushes=pushes,
        )
        assert s.dead() == [], f"processes died with Redis: {s.dead()}"
    report.record(request.node.nodeid, name, invariants_settled_s=await assert_invariants(s))
