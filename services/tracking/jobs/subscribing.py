"""Subscribing parcels with the provider, one at a time with retries, or a bulk handoff's at once."""

from __future__ import annotations

import asyncio
from collections import Counter

from arq import Retry

from runtime.logging import get_logger
from runtime.worker import Ctx, job_transaction, job_try, resources
from services.tracking.domain.states import ProviderState
from services.tracking.domain.subscriptions import worth_retrying
from services.tracking.kuaidi100.protocol import SubscribeResult
from services.tracking.resources import TrackingResources
from services.tracking.service import subscriptions
from services.tracking.service.subscriptions import SUBSCRIBE_JOB, SubscribeTarget
from shared.carriers import to_kuaidi100

log = get_logger(__name__)

CALLBACK_PATH = "/webhooks/tracking/kuaidi100"
PROVIDER_CALLS_IN_FLIGHT = 16


def _callback(res: TrackingResources) -> str:
    return res.settings.public_url.rstrip("/") + CALLBACK_PATH


async def subscribe_with_provider(ctx: Ctx, subscription_id: int) -> str:
    """Subscribe one parcel with the provider: 200/501 done, 700/702 flagged, 701/500/network retried
    with backoff, then flagged."""
    res = resources(ctx, TrackingResources)
    async with job_transaction(ctx) as uow:
        target = await subscriptions.subscription_to_send(uow, subscription_id)
    if target is None:
        return "nothing to do"
    s = res.settings
    result = await res.provider.subscribe(to_kuaidi100(target.carrier), target.number, _callback(res), target.salt)
    attempt = job_try(ctx)
    async with job_transaction(ctx) as uow:
        state = await subscriptions.record_subscribe_result(
            uow, subscription_id, result, attempt >= s.subscribe_max_tries, await res.clock.now()
        )
    if state is None:
        return "gone"
    if worth_retrying(state, result.outcome):
        delay = s.subscribe_backoff().nominal(attempt)
        log.info("subscribe_retry", subscription_id=subscription_id, code=result.code, defer_s=delay)
        raise Retry(defer=delay)
    return state.value


async def subscribe_many_with_provider(ctx: Ctx, subscription_ids: list[int]) -> dict[str, int]:
    """A bulk handoff's provider subscriptions: read in one query, sent concurrently, recorded in one
    transaction. Each answer is handled as the single job handles a first one; what is left pending (701,
    500, network) gets a job of its own, which carries on with that job's backoff and final flag."""
    res = resources(ctx, TrackingResources)
    async with job_transaction(ctx) as uow:
        targets = await subscriptions.subscriptions_to_send(uow, subscription_ids)
    if not targets:
        return {}
    callback, gate = _callback(res), asyncio.Semaphore(PROVIDER_CALLS_IN_FLIGHT)

    async def one(t: SubscribeTarget) -> SubscribeResult:
        async with gate:
            return await res.provider.subscribe(to_kuaidi100(t.carrier), t.number, callback, t.salt)

    results = await asyncio.gather(*(one(t) for t in targets))
    async with job_transaction(ctx) as uow:
        states = await subscriptions.record_subscribe_results(
            uow, {t.id: r for t, r in zip(targets, results, strict=True)}, await res.clock.now()
        )
        # The first retry waits as the single job's first retry would.
        defer = res.settings.subscribe_backoff().nominal(1)
        for sid, state in states.items():
            if state == ProviderState.PENDING:
                uow.enqueue(SUBSCRIBE_JOB, subscription_id=sid, _defer_by=defer)
    return dict(Counter(s.value for s in states.values()))
