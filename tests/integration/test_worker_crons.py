"""Every service's cron jobs get their own arq job ids, so one service's sweeper never crowds out another's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from arq.cron import CronJob
from arq.worker import Worker
from redis.asyncio import Redis

from runtime.redis_clients import open_redis
from services.allocation.settings import get_settings
from services.allocation.tasks import WorkerSettings as AllocationWorker
from services.shipping.tasks import WorkerSettings as ShippingWorker
from services.tracking.tasks import WorkerSettings as TrackingWorker
from tests.support import Env

WORKERS: dict[str, Any] = {"allocation": AllocationWorker, "shipping": ShippingWorker, "tracking": TrackingWorker}


def _crons(settings: Any) -> list[CronJob]:
    return list(settings.cron_jobs)


def test_cron_names_carry_their_service() -> None:
    for service, settings in WORKERS.items():
        for job in _crons(settings):
            assert job.name.startswith(f"cron:{service}:"), job.name
    names = [job.name for settings in WORKERS.values() for job in _crons(settings)]
    assert len(names) == len(set(names))


async def test_each_services_outbox_sweeper_is_enqueued_at_the_same_tick(env: Env, redis: Redis) -> None:
    """The three workers enqueue their crons for one tick, as arq's scheduler does (same tick, same Redis):
    each service's sweep_outbox must be queued on its own queue. With one shared name only the first was."""
    await redis.flushdb()
    arq = open_redis(get_settings().redis_url)
    tick = datetime(2026, 12, 1, 0, 22, 0, tzinfo=UTC)
    try:
        for settings in WORKERS.values():
            worker = Worker(
                functions=[],
                cron_jobs=[j for j in _crons(settings) if j.name.endswith(":sweep_outbox")],
                queue_name=settings.queue_name,
                redis_pool=arq,
                burst=True,
            )
            for job in worker.cron_jobs:
                job.next_run = tick
            await worker.run_cron(tick, 0.5)
        for settings in WORKERS.values():
            assert await arq.zcard(settings.queue_name) == 1, settings.queue_name
    finally:
        await arq.aclose()
