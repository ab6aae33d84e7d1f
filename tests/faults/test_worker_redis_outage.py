"""The services' worker (runtime.arq_worker) outlives a real Redis killed and restarted empty, and runs the jobs
sent after it. Whether the kill lands while arq reads (a reset) or between commands (refused) is a matter of
timing here; tests/integration/test_redis_resilience.py reproduces each case on its own through a proxy."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from arq.worker import func

from runtime.arq_worker import ResilientWorker
from runtime.redis_clients import open_redis
from tests.e2e.harness import wait_for
from tests.faults.infra import PrivateRedis

pytestmark = pytest.mark.faults

RAN: list[str] = []


async def note(_: dict[str, Any], value: str) -> None:
    RAN.append(value)


async def test_worker_survives_redis_restart_with_data_lost() -> None:
    server = PrivateRedis(Path(tempfile.mkdtemp(prefix="waybill-faults-redis-")))
    server.start()
    worker = ResilientWorker(
        functions=[func(note, name="note")],  # type: ignore[arg-type]
        redis_url=server.url,
        poll_delay=0.05,
        handle_signals=False,
    )
    running = asyncio.create_task(worker.async_run())
    pool = open_redis(server.url)
    try:
        await pool.enqueue_job("note", "before")
        await wait_for(lambda: _ran("before"), 30, "the job sent before the outage")
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(2)
        assert not running.done(), running.exception() if running.done() else None
        await asyncio.to_thread(server.start)
        await pool.enqueue_job("note", "after")
        await wait_for(lambda: _ran("after"), 60, "the job sent after Redis came back")
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await asyncio.wait_for(worker.close(), 15)
        await pool.aclose()
        server.kill()


async def _ran(value: str) -> bool:
    return value in RAN
