"""Polling the provider for quiet parcels, and the time-based alert scan: the worker's crons."""

from __future__ import annotations

import asyncio

from runtime.logging import get_logger
from runtime.worker import Ctx, job_transaction, resources
from services.tracking import metrics
from services.tracking.kuaidi100.protocol import QueryOutcome
from services.tracking.resources import TrackingResources
from services.tracking.service import alerts, polling
from services.tracking.service.polling import PollTarget
from shared.carriers import to_kuaidi100

log = get_logger(__name__)


async def scan_alerts(ctx: Ctx) -> int:
    res = resources(ctx, TrackingResources)
    async with job_transaction(ctx) as uow:
        opened = await alerts.scan_time_alerts(uow, await res.clock.now(), res.settings.alert_defaults())
    if opened:
        log.info("alerts_opened", count=opened)
        res.loops.notify_wake.set()
    return opened


async def poll_quiet(ctx: Ctx) -> int:
    """Query the provider for parcels that have gone quiet, within the provider's rate limit (shared by
    every worker through Redis)."""
    res = resources(ctx, TrackingResources)
    s = res.settings
    budget = max(1, int(s.provider_query_rate_per_s * s.poll_interval_s))
    async with job_transaction(ctx) as uow:
        targets = await polling.claim_quiet(uow, await res.clock.now(), s.poll_quiet_hours, budget)
    stored = 0
    for i, target in enumerate(targets):
        if not await res.query_limiter.acquire(max_wait=s.poll_interval_s * 2):
            await _release(ctx, targets[i:])
            break
        result = await res.provider.query(to_kuaidi100(target.carrier), target.number)
        metrics.POLLS.labels(result.outcome.value).inc()
        if result.outcome in (QueryOutcome.RATE_LIMITED, QueryOutcome.RETRY):
            await _release(ctx, [target])
            if result.outcome == QueryOutcome.RATE_LIMITED:
                await asyncio.sleep(1.0)
            continue
        async with job_transaction(ctx) as uow:
            stored += await polling.record_poll(uow, target, result)
    if stored:
        res.loops.ingest_wake.set()
    return stored


async def _release(ctx: Ctx, targets: list[PollTarget]) -> None:
    async with job_transaction(ctx) as uow:
        await polling.release_poll(uow, [t.id for t in targets])
