"""An arq worker built with the services' Redis settings outlives a Redis restart that lost every key, and
runs the jobs sent after it (before runtime.worker.worker_redis_settings, the first poll during the outage
raised out of arq's loop and ended the process)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from arq import Worker
from arq.connections import create_pool
from arq.worker import func

from runtime.worker import worker_redis_settings
from tests.e2e.harness import wait_for
from tests.faults.infra import PrivateRedis

pytestmark = pytest.mark.faults

RAN: list[str] = []


async def note(_: dict[str, Any], value: str) -> None:
    RAN.append(value)


async def test_worker_survives_redis_restart_with_data_lost() -> None:
    server = PrivateRedis(Path(tempfile.mkdtemp(prefix="waybill-faults-redis-")))
    server.start()
    settings = worker_redis_settings(server.url)
    worker = Worker(
        functions=[func(note, name="note")],  # type: ignore[arg-type]
        redis_settings=settings,
        poll_delay=0.05,
        handle_signals=False,
    )
    running = asyncio.create_task(worker.async_run())
    try:
        pool = await create_pool(settings)
        await pool.enqueue_job("note", "before")
        await wait_for(lambda: _ran("before"), 30, "the job sent before the outage")
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(2)
        assert not running.done(), running.exception() if running.done() else None
        await asyncio.to_thread(server.start)
        await pool.enqueue_job("note", "after")
        await wait_for(lambda: _ran("after"), 60, "the job sent after Redis came back")
        assert not running.done()
        await pool.aclose()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
        server.kill()


async def _ran(value: str) -> bool:
    return value in RAN
