"""Tracking's arq worker: ``arq services.tracking.tasks.WorkerSettings``.

Besides arq jobs (subscribing: services.tracking.jobs.subscribing; crons: .crons), every worker process runs
the long-lived loops of services.tracking.jobs.loops: the push processor and the notifier.
"""

from __future__ import annotations

from arq import cron

from runtime.worker import Ctx, build_worker_settings, resources
from services.tracking.jobs.crons import poll_quiet, scan_alerts
from services.tracking.jobs.loops import start_loops, wake_ingest
from services.tracking.jobs.subscribing import subscribe_many_with_provider, subscribe_with_provider
from services.tracking.models import Outbox
from services.tracking.resources import TrackingResources, open_resources
from services.tracking.settings import get_settings


async def _start_loops(ctx: Ctx) -> None:
    start_loops(resources(ctx, TrackingResources))


async def _shutdown(ctx: Ctx) -> None:
    try:
        res = resources(ctx, TrackingResources)
    except KeyError:  # the startup failed before building the resources: no loop was started
        return
    await res.loops.stop()


def _every(seconds: int) -> set[int]:
    return set(range(0, 60, max(1, min(seconds, 60))))


def worker_settings(*, background_loops: bool | None = None) -> type:
    """The worker's settings. ``background_loops``: run the push processor and the notifier in this worker
    (default: ``TRACKING_INGEST_CONSUMER``); a worker run for its jobs alone (a test's burst worker) says
    False, or it would never finish."""
    settings = get_settings()
    loops = settings.ingest_consumer if background_loops is None else background_loops
    return build_worker_settings(
        "tracking",
        get_settings,
        Outbox,
        resources_factory=open_resources,
        functions=[subscribe_with_provider, subscribe_many_with_provider, wake_ingest],
        cron_jobs=[
            cron(scan_alerts, second=_every(settings.alert_scan_interval_s), unique=True),
            cron(poll_quiet, second=_every(settings.poll_interval_s), unique=True),
        ],
        on_startup=_start_loops if loops else None,
        on_shutdown=_shutdown,
        max_tries=max(settings.subscribe_max_tries, 2),
    )


WorkerSettings = worker_settings()
