"""The push processor's loop: a batch less than half full lets the next one gather for ``gather_s``; a full
batch is followed at once (a backlog drains at full speed)."""

from __future__ import annotations

import asyncio
import itertools
import time
from types import SimpleNamespace
from typing import Any

from services.tracking.jobs.loops import run_loop


async def _gaps(results: list[int], gather_s: float) -> list[float]:
    """The time between successive steps of a loop whose steps find ``results`` pushes in turn."""
    res: Any = SimpleNamespace(settings=SimpleNamespace(ingest_idle_s=5.0))
    at: list[float] = []
    done = asyncio.Event()

    async def step(_: Any) -> int:
        at.append(time.perf_counter())
        if len(at) > len(results):
            done.set()
            await asyncio.sleep(3600)
        return results[len(at) - 1]

    wake = asyncio.Event()
    task = asyncio.create_task(run_loop(res, "ingest", step, wake, full=100, gather_s=gather_s))
    await asyncio.wait_for(done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return [b - a for a, b in itertools.pairwise(at)]


async def test_a_batch_less_than_half_full_lets_the_next_gather() -> None:
    gaps = await _gaps([10, 49], gather_s=0.2)
    assert all(g >= 0.19 for g in gaps), gaps


async def test_a_full_or_half_full_batch_is_followed_at_once() -> None:
    gaps = await _gaps([100, 50, 100], gather_s=0.2)
    assert all(g < 0.1 for g in gaps), gaps


async def test_no_gathering_when_it_is_off() -> None:
    gaps = await _gaps([1, 1, 1], gather_s=0.0)
    assert all(g < 0.1 for g in gaps), gaps
