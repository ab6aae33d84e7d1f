"""Tracking's arq worker: ``arq services.tracking.tasks.WorkerSettings``.

Besides arq jobs (subscribing, crons), every worker process runs two long-lived loops:
- the push processor claims unprocessed raw pushes from PostgreSQL in batches (FOR UPDATE SKIP LOCKED),
  so throughput is not bounded by one arq job per push and a push survives Redis being flushed;
- the notifier sends pending TrackingUpdates to shipping, leased so a dead worker's sends are retried.
A hint on Redis pub/sub (services.tracking.wake) tells the processor to look now; without it the loops look
every ``ingest_idle_s``. The arq ``wake_ingest`` job is the older form of that hint, kept so queued ones drain.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from arq import Retry, cron

from runtime.db import transaction
from runtime.logging import get_logger
from runtime.worker import Ctx, build_worker_settings, job_transaction
from services.tracking import metrics, service, wake
from services.tracking.clock import Clock, StoredClock
from services.tracking.kuaidi100.client import Kuaidi100Client
from services.tracking.kuaidi100.protocol import QueryOutcome, SubscribeOutcome, SubscribeResult
from services.tracking.models import Outbox
from services.tracking.ratelimit import RateLimiter
from services.tracking.repository import DueNotification, NotificationRepository
from services.tracking.settings import TrackingSettings, get_settings
from shared.carriers import to_kuaidi100
from shared.tracking import MAX_BATCH_TRACKING_UPDATES, TrackingUpdateBatchResult, TrackingUpdateOutcome

log = get_logger(__name__)

CALLBACK_PATH = "/webhooks/tracking/kuaidi100"
NOTIFY_LEASE_S = 60.0
NOTIFY_CONCURRENCY = 16


def _settings(ctx: Ctx) -> TrackingSettings:
    settings = ctx["settings"]
    assert isinstance(settings, TrackingSettings)
    return settings


def clock(ctx: Ctx) -> Clock:
    found: Clock = ctx["clock"]
    return found


def provider(ctx: Ctx) -> Kuaidi100Client:
    s = _settings(ctx)
    return Kuaidi100Client(
        ctx["http"], s.provider_url, s.provider_key.get_secret_value(), s.provider_customer, s.provider_timeout_s
    )


def stored_clock(sessionmaker: Any) -> StoredClock:
    async def load() -> Any:
        async with transaction(sessionmaker, None) as uow:
            return await service.get_clock(uow)

    return StoredClock(load)


def alert_defaults(s: TrackingSettings) -> service.AlertDefaults:
    return service.AlertDefaults(
        s.alert_not_collected_hours, s.alert_no_update_hours, s.alert_late_grace_hours, s.alert_transit_days
    )


# -- subscribing ----------------------------------------------------------------------------------------


async def subscribe_with_provider(ctx: Ctx, subscription_id: int) -> str:
    """Subscribe one parcel with the provider: 200/501 done, 700/702 flagged, 701/500/network retried
    with backoff, then flagged."""
    async with job_transaction(ctx) as uow:
        target = await service.subscription_to_send(uow, subscription_id)
    if target is None:
        return "nothing to do"
    s = _settings(ctx)
    callback = s.public_url.rstrip("/") + CALLBACK_PATH
    result = await provider(ctx).subscribe(to_kuaidi100(target.carrier), target.number, callback, target.salt)
    final = ctx.get("job_try", 1) >= s.subscribe_max_tries
    async with job_transaction(ctx) as uow:
        state = await service.record_subscribe_result(uow, subscription_id, result, final, await clock(ctx).now())
    if state == "pending" and result.outcome in (SubscribeOutcome.RETRY, SubscribeOutcome.REFUSED):
        delay = s.subscribe_retry_base_s * 2 ** (ctx.get("job_try", 1) - 1)
        log.info("subscribe_retry", subscription_id=subscription_id, code=result.code, defer_s=delay)
        raise Retry(defer=delay)
    return state


PROVIDER_CALLS_IN_FLIGHT = 16


async def subscribe_many_with_provider(ctx: Ctx, subscription_ids: list[int]) -> dict[str, int]:
    """A bulk handoff's provider subscriptions: read in one query, sent concurrently, recorded in one
    transaction. Each answer is handled as the single job handles a first one; what is left pending (701,
    500, network) gets a job of its own, which carries on with that job's backoff and final flag."""
    async with job_transaction(ctx) as uow:
        targets = await service.subscriptions_to_send(uow, subscription_ids)
    if not targets:
        return {}
    callback = _settings(ctx).public_url.rstrip("/") + CALLBACK_PATH
    client, gate = provider(ctx), asyncio.Semaphore(PROVIDER_CALLS_IN_FLIGHT)

    async def one(t: service.SubscribeTarget) -> SubscribeResult:
        async with gate:
            return await client.subscribe(to_kuaidi100(t.carrier), t.number, callback, t.salt)

    results = await asyncio.gather(*(one(t) for t in targets))
    async with job_transaction(ctx) as uow:
        states = await service.record_subscribe_results(
            uow, {t.id: r for t, r in zip(targets, results, strict=True)}, await clock(ctx).now()
        )
        for sid, state in states.items():
            if state == "pending":
                uow.enqueue(
                    "subscribe_with_provider", subscription_id=sid, _defer_by=_settings(ctx).subscribe_retry_base_s
                )
    return dict(Counter(states.values()))


# -- push processing ------------------------------------------------------------------------------------


async def wake_ingest(ctx: Ctx) -> None:
    """A hint that pushes are waiting (the loops also look on their own)."""
    ctx["ingest_wake"].set()


async def process_one_batch(ctx: Ctx) -> service.BatchResult:
    async with job_transaction(ctx) as uow:
        return await service.process_pushes(uow, await clock(ctx).now(), _settings(ctx).ingest_batch_size)


async def _loop(ctx: Ctx, name: str, step: Callable[[Ctx], Awaitable[int]]) -> None:
    idle = _settings(ctx).ingest_idle_s
    wake: asyncio.Event = ctx["ingest_wake"]
    while True:
        try:
            done = await step(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bad batch must not stop the loop; its transaction rolled back
            log.exception("loop_step_failed", loop=name, error=repr(exc))
            done = 0
            await asyncio.sleep(idle)
        if done == 0:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), idle)


async def _ingest_step(ctx: Ctx) -> int:
    result = await process_one_batch(ctx)
    # Lag in real time, not the (possibly simulated) service clock.
    metrics.record_batch(
        result.pushes, result.duplicates, result.errors, result.events, result.received, datetime.now(UTC)
    )
    if result.pushes:
        log.debug("batch_processed", pushes=result.pushes, events=result.events, changes=result.status_changes)
        ctx["notify_wake"].set()
    return result.pushes


# -- notifying shipping ---------------------------------------------------------------------------------


async def send_notifications(ctx: Ctx) -> int:
    """One round: lease due notifications, send them to shipping in one batch call per shop (in the order
    they were recorded, so each parcel's in order), record the outcome."""
    s = _settings(ctx)
    async with job_transaction(ctx) as uow:
        due = await NotificationRepository(uow.session).claim_due(s.notify_batch_size, NOTIFY_LEASE_S)
    if not due:
        return 0
    by_shop: dict[str, list[DueNotification]] = defaultdict(list)
    for n in due:
        by_shop[n.shop_id].append(n)
    round_ = _NotifyRound(ctx["http"], s)
    await asyncio.gather(*(round_.send_shop(items) for items in by_shop.values()))
    async with job_transaction(ctx) as uow:
        repo = NotificationRepository(uow.session)
        await repo.mark_sent(round_.sent)
        for nid, error in round_.refused:
            log.error("notification_refused", notification_id=nid, error=error)
            await repo.mark_sent([nid], f"refused: {error}"[:500])
        for nid, delay, error in round_.later:
            await repo.retry_later(nid, delay, error[:500])
    if round_.later:
        log.warning("notifications_deferred", count=len(round_.later))
    return len(due)


class _NotifyRound:
    """The outcome of one round's calls: sent, refused for good, or to be tried again later."""

    def __init__(self, http: httpx.AsyncClient, s: TrackingSettings) -> None:
        self.http, self.s = http, s
        base = s.shipping_url.rstrip("/") + "/internal/v1/tracking-updates"
        self.batch_url, self.single_url = base + "/batch", base
        self.key = s.internal_key.get_secret_value()
        self.gate = asyncio.Semaphore(NOTIFY_CONCURRENCY)
        self.sent: list[int] = []
        self.refused: list[tuple[int, str]] = []
        self.later: list[tuple[int, float, str]] = []

    async def send_shop(self, items: list[DueNotification]) -> None:
        for start in range(0, len(items), MAX_BATCH_TRACKING_UPDATES):
            chunk = items[start : start + MAX_BATCH_TRACKING_UPDATES]
            async with self.gate:
                answer = await _post_batch(self.http, self.batch_url, self.key, chunk)
            if isinstance(answer, list):
                for n, outcome in zip(chunk, answer, strict=True):
                    if outcome.error is None:
                        self.sent.append(n.id)
                    else:
                        self.refused.append((n.id, outcome.error))
                continue
            error, permanent = answer
            if not permanent:
                self._defer(items[start:], error)
                return
            if len(chunk) == 1:
                self.refused.append((chunk[0].id, error))
                continue
            # Shipping refused the batch as a whole (one update it cannot read spoils the body): one by one,
            # so that only that update is refused.
            if not await self._one_by_one(items[start:], len(chunk)):
                return

    async def _one_by_one(self, rest: list[DueNotification], count: int) -> bool:
        """The first ``count`` of ``rest`` sent singly; False when a failure deferred the rest."""
        for i, n in enumerate(rest[:count]):
            async with self.gate:
                error, permanent = await _post(self.http, self.single_url, self.key, n)
            if error is None:
                self.sent.append(n.id)
            elif permanent:
                self.refused.append((n.id, error))
            else:
                self._defer(rest[i:], error)
                return False
        return True

    def _defer(self, rest: list[DueNotification], error: str) -> None:
        # The rest of this shop's updates wait too, so shipping hears each parcel's in order.
        delay = min(self.s.notify_retry_base_s * 2 ** (rest[0].attempts - 1), self.s.notify_retry_max_s)
        self.later.extend((n.id, delay, error) for n in rest)


async def _post_batch(
    http: httpx.AsyncClient, url: str, key: str, chunk: list[DueNotification]
) -> list[TrackingUpdateOutcome] | tuple[str, bool]:
    """One result per notification when shipping took the batch, else (error, permanent)."""
    answer = await _call_shipping(http, url, key, chunk[0].shop_id, {"updates": [n.payload for n in chunk]}, 30.0)
    if isinstance(answer, tuple):
        return answer
    try:
        results = TrackingUpdateBatchResult.model_validate_json(answer.content).results
    except ValueError as exc:
        return f"unreadable answer: {exc}"[:300], False
    if len(results) == len(chunk):
        return results
    return f"{len(results)} results for {len(chunk)} updates", False


async def _post(http: httpx.AsyncClient, url: str, key: str, n: DueNotification) -> tuple[str | None, bool]:
    """One update: (error, permanent), error None when shipping took it."""
    answer = await _call_shipping(http, url, key, n.shop_id, n.payload, 10.0)
    return answer if isinstance(answer, tuple) else (None, False)


async def _call_shipping(
    http: httpx.AsyncClient, url: str, key: str, shop_id: str, body: object, wait_s: float
) -> httpx.Response | tuple[str, bool]:
    """Shipping's answer when it took the call, else (error, permanent)."""
    try:
        resp = await http.post(
            url, json=body, headers={"Authorization": f"Bearer {key}", "X-Shop-Id": shop_id}, timeout=wait_s
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}", False
    if resp.is_success:
        return resp
    # Shipping refuses the body or does not know the shop or order: repeating it will not help.
    return f"HTTP {resp.status_code}: {resp.text[:200]}", resp.status_code in (400, 404, 422)


async def _notify_step(ctx: Ctx) -> int:
    return await send_notifications(ctx)


# -- crons ----------------------------------------------------------------------------------------------


async def scan_alerts(ctx: Ctx) -> int:
    s = _settings(ctx)
    async with job_transaction(ctx) as uow:
        opened = await service.scan_time_alerts(uow, await clock(ctx).now(), alert_defaults(s))
    if opened:
        log.info("alerts_opened", count=opened)
        ctx["notify_wake"].set()
    return opened


async def poll_quiet(ctx: Ctx) -> int:
    """Query the provider for parcels that have gone quiet, within the provider's rate limit (shared by
    every worker through Redis)."""
    s = _settings(ctx)
    budget = max(1, int(s.provider_query_rate_per_s * s.poll_interval_s))
    async with job_transaction(ctx) as uow:
        targets = await service.claim_quiet(uow, await clock(ctx).now(), s.poll_quiet_hours, budget)
    if not targets:
        return 0
    limiter: RateLimiter = ctx["query_limiter"]
    client = provider(ctx)
    stored = 0
    for i, target in enumerate(targets):
        if not await limiter.acquire(max_wait=s.poll_interval_s * 2):
            await _release(ctx, targets[i:])
            break
        result = await client.query(to_kuaidi100(target.carrier), target.number)
        metrics.POLLS.labels(result.outcome.value).inc()
        if result.outcome in (QueryOutcome.RATE_LIMITED, QueryOutcome.RETRY):
            await _release(ctx, [target])
            if result.outcome == QueryOutcome.RATE_LIMITED:
                await asyncio.sleep(1.0)
            continue
        async with job_transaction(ctx) as uow:
            stored += (await service.record_poll(uow, target, result)) == "stored"
    if stored:
        ctx["ingest_wake"].set()
    return stored


async def _release(ctx: Ctx, targets: list[service.PollTarget]) -> None:
    async with job_transaction(ctx) as uow:
        await service.release_poll(uow, [t.id for t in targets])


# -- the worker -----------------------------------------------------------------------------------------


async def _startup(ctx: Ctx) -> None:
    s = _settings(ctx)
    ctx.setdefault("clock", stored_clock(ctx["sessionmaker"]))
    ctx["ingest_wake"] = asyncio.Event()
    ctx["notify_wake"] = asyncio.Event()
    ctx["query_limiter"] = RateLimiter(ctx["redis"], "tracking:ratelimit:kuaidi100:query", s.provider_query_rate_per_s)
    tasks = []
    if ctx.get("background_loops", s.ingest_consumer):
        tasks.append(asyncio.create_task(wake.listen(ctx["redis"], ctx["ingest_wake"])))
        tasks.append(asyncio.create_task(_loop(ctx, "ingest", _ingest_step)))
        if s.notify_shipping:
            tasks.append(asyncio.create_task(_loop({**ctx, "ingest_wake": ctx["notify_wake"]}, "notify", _notify_step)))
    ctx["background_tasks"] = tasks


async def _shutdown(ctx: Ctx) -> None:
    for task in ctx.get("background_tasks", []):
        task.cancel()
    for task in ctx.get("background_tasks", []):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _every(seconds: int) -> set[int]:
    return set(range(0, 60, max(1, min(seconds, 60))))


def _worker_settings() -> type:
    settings = get_settings()
    return build_worker_settings(
        "tracking",
        get_settings,
        Outbox,
        functions=[subscribe_with_provider, subscribe_many_with_provider, wake_ingest],
        cron_jobs=[
            cron(scan_alerts, second=_every(settings.alert_scan_interval_s), unique=True),
            cron(poll_quiet, second=_every(settings.poll_interval_s), unique=True),
        ],
        on_startup=_startup,
        on_shutdown=_shutdown,
        max_tries=max(settings.subscribe_max_tries, 2),
    )


WorkerSettings = _worker_settings()
