"""The worker's long-lived loops: the push processor claims stored pushes in batches (so throughput is not
bounded by one arq job per push, and a push survives Redis being flushed), and the notifier sends pending
updates to shipping. A hint on Redis pub/sub (services.tracking.wake) wakes the processor; without one each
loop looks every ``ingest_idle_s``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from runtime.logging import get_logger
from runtime.worker import Ctx, resources
from services.tracking import metrics, wake
from services.tracking.notifier import send_notifications
from services.tracking.resources import TrackingResources
from services.tracking.service.ingestion import BatchResult, process_pushes

log = get_logger(__name__)

Step = Callable[[TrackingResources], Awaitable[int]]


async def wake_ingest(ctx: Ctx) -> None:
    """A hint that pushes are waiting (the older form of the pub/sub hint, kept so queued ones drain)."""
    resources(ctx, TrackingResources).loops.ingest_wake.set()


async def process_one_batch(res: TrackingResources) -> BatchResult:
    async with res.transaction() as uow:
        return await process_pushes(uow, await res.clock.now(), res.settings.ingest_batch_size)


async def ingest_step(res: TrackingResources) -> int:
    result = await process_one_batch(res)
    # Lag in real time, not the (possibly simulated) service clock.
    metrics.record_batch(
        result.pushes, result.duplicates, result.errors, result.events, result.received, datetime.now(UTC)
    )
    if result.pushes:
        log.debug("batch_processed", pushes=result.pushes, events=result.events, changes=result.status_changes)
        res.loops.notify_wake.set()
    return result.pushes


async def run_loop(
    res: TrackingResources, name: str, step: Step, wake_up: asyncio.Event, *, full: int = 0, gather_s: float = 0.0
) -> None:
    """``step`` again at once while it finds work; else at the next hint, or after ``ingest_idle_s``. A step
    that did less than half of ``full`` waits ``gather_s`` before the next: under a steady flow of pushes a
    processor woken by every hint would run batches of a few pushes each, paying a transaction's fixed cost
    (a session, seven statements, a commit) per handful; a short wait lets a batch gather, and the pushes
    are acknowledged already, so only their processing waits."""
    idle = res.settings.ingest_idle_s
    while True:
        try:
            done = await step(res)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bad batch must not stop the loop; its transaction rolled back
            log.exception("loop_step_failed", loop=name, error=repr(exc))
            done = 0
            await asyncio.sleep(idle)
        if 0 < done < full // 2 and gather_s > 0:
            await asyncio.sleep(gather_s)
        if done == 0:
            wake_up.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake_up.wait(), idle)


def start_loops(res: TrackingResources) -> None:
    loops = res.loops
    loops.tasks.append(asyncio.create_task(wake.listen(res.redis, loops.ingest_wake)))
    s = res.settings
    ingest = run_loop(
        res, "ingest", ingest_step, loops.ingest_wake, full=s.ingest_batch_size, gather_s=s.ingest_gather_s
    )
    loops.tasks.append(asyncio.create_task(ingest))
    if res.settings.notify_shipping:
        loops.tasks.append(asyncio.create_task(run_loop(res, "notify", send_notifications, loops.notify_wake)))
