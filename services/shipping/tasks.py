"""Shipping's arq worker: ``arq services.shipping.tasks.WorkerSettings``.

Each job reads what it needs from the worker's typed Resources, calls the service that does the work, and
decides only when to run again: the services say what happened, the jobs turn a transient failure into a
deferred retry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from arq import Retry, cron, func

from runtime.backoff import Backoff
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from runtime.worker import Ctx, build_worker_settings, job_try, resources
from services.shipping.models import DeliveryStatus, Outbox
from services.shipping.resources import ShippingResources, open_resources
from services.shipping.service import (
    address_changes,
    auto_ship,
    batches,
    confirmation,
    held,
    numbers,
    order_alerts,
    routing,
    shipments,
    tmc_intake,
    tracking_handoff,
    webhook_deliveries,
    webhook_sending,
)
from services.shipping.service.batch_runner import BATCH_RUN_BUDGET_S, ChunkRunner
from services.shipping.settings import get_settings
from shared.allocation import MarkItem, MarkState

log = get_logger(__name__)

# Calls to our own services that failed: jittered, since a restart of one fails many jobs at once and they
# should not all come back in the same second.
ALLOCATION_RETRY = Backoff(base_s=1.0, cap_s=300.0)
TRACKING_RETRY = Backoff(base_s=2.0, cap_s=300.0)
WEBHOOK_RETRY_CAP_S = 3600.0
# A courier that cannot route for this long (about an hour of tries) leaves the labels without sort codes.
ROUTING_RETRY = Backoff(base_s=2.0, cap_s=600.0)
ROUTING_MAX_TRIES = 12
# A process_batch job takes chunks for BATCH_RUN_BUDGET_S at most, then hands the batch to a job of its own (see
# ChunkRunner.run), so its timeout stays that of any job: arq holds a killed worker's running jobs, all of them,
# "in progress" for its longest job timeout + 10 s before running them again (3,610 s while this was 3,600; now
# 610 s, the auto-ship sweep's).
BATCH_JOB_TIMEOUT_S = 300
# A sweep reads and batches every shop with an active rule, one after another.
AUTO_SHIP_TIMEOUT_S = 600


def _res(ctx: Ctx) -> ShippingResources:
    return resources(ctx, ShippingResources)


def _retry(ctx: Ctx, backoff: Backoff) -> Retry:
    return Retry(defer=backoff.delay(job_try(ctx)))


async def confirm_shipment(ctx: Ctx, shipment_id: str) -> str:
    """Confirm a shipment on the marketplace; transient trouble is retried with backoff."""
    result = await confirmation.confirm(_res(ctx), shipment_id)
    if result.again:
        raise Retry(defer=result.retry_in)
    return result.summary()


async def process_batch(ctx: Ctx, batch_id: str) -> int:
    return await ChunkRunner(_res(ctx), batch_id, budget_s=BATCH_RUN_BUDGET_S).run()


async def resume_batches(ctx: Ctx) -> int:
    """Chunks nobody works on (a killed worker's lapsed lease, or lost jobs) get a worker again, and
    confirmations whose job went missing (Redis lost it, or a worker died holding it) are asked again."""
    res = _res(ctx)
    settings = res.settings
    async with res.transaction() as uow:
        open_ids = await batches.abandoned_batches(uow)
    idle = settings.confirm_retry_max_s + settings.confirm_lease_s + 30
    async with res.transaction() as uow:
        stuck = await shipments.stuck_shipments(uow, idle)
    # Sent straight to arq, not through the outbox: the job id (one per sweep period) makes sweeps that
    # overlap ask once, and a sweep that fails is simply the next one's work.
    bucket = int(time.time() // max(1, settings.batch_sweep_s))
    queue = res.queue
    for batch_id, runners in open_ids.items():
        # A runner per abandoned chunk (a killed worker held several): its chunks are redone side by side.
        for k in range(runners):
            await queue.redis.enqueue_job(
                "process_batch",
                batch_id=batch_id,
                _job_id=f"resume-{batch_id}-{bucket}-{k}",
                _queue_name=queue.default_queue,
            )
    for shipment_id in stuck:
        await queue.redis.enqueue_job(
            "confirm_shipment",
            shipment_id=shipment_id,
            _job_id=f"sweep-{shipment_id}-{bucket}",
            _queue_name=queue.default_queue,
        )
    return sum(open_ids.values()) + len(stuck)


async def release_held_shipments(ctx: Ctx) -> int:
    """Held shipments (confirmed at collection) whose shop's confirmation time has come are confirmed now; those
    still held past their order's ship-by time raise an alert."""
    res = _res(ctx)
    async with res.transaction() as uow:
        released = await held.release_due(uow)
    async with res.transaction() as uow:
        await held.alert_uncollected(uow)
    return released


async def sweep_ship_by(ctx: Ctx) -> int:
    """Open the ship-by alerts due (late_to_ship, ship_by_passed) and resolve those whose orders shipped or were
    cancelled: one indexed read per batch of due orders, each batch its own transaction. Sweeps that overlap
    open each alert once: the database refuses a second unresolved one."""
    res = _res(ctx)
    now = datetime.now(UTC)
    after: tuple[datetime, str] | None = None
    changed = 0
    while True:
        async with res.transaction() as uow:
            batch = await order_alerts.sweep_ship_by(uow, now, after, res.settings.ship_by_sweep_batch)
        changed += batch.opened + batch.resolved
        if batch.next_after is None:
            return changed
        after = batch.next_after


async def sweep_auto_ship(ctx: Ctx) -> int:
    """Each shop's auto-ship rules over its paid orders: a batch per rule that takes orders. A sweep that
    overlaps another (a slow one, or another worker's) leaves a shop the other is sweeping alone."""
    return await auto_ship.sweep(_res(ctx))


async def update_recipient(ctx: Ctx, shop_id: str, order_id: str, number: str) -> str:
    """Tell a parcel's courier its order's current receiver (an address change before collection); retried
    while allocation or the courier cannot answer, a refusal recorded on the order."""
    res = _res(ctx)
    async with res.transaction() as uow:
        target = await address_changes.current_recipient(uow, shop_id, order_id, number)
    if target is None:
        return "gone"
    try:
        updated = await res.allocation.update_recipient(shop_id, number, target)
    except ServiceError as exc:
        if exc.transient:
            raise _retry(ctx, ALLOCATION_RETRY) from exc
        async with res.transaction() as uow:
            await address_changes.courier_refused(uow, shop_id, order_id, number, exc.code, exc.message)
        return f"refused: {exc.code}"
    # The courier's routing for the new destination, on the parcel (its label's sort code).
    async with res.transaction() as uow:
        await address_changes.rerouted(uow, shop_id, number, target, updated)
    return "updated"


async def route_parcels(ctx: Ctx, shop_id: str, shipment_ids: list[str]) -> int:
    """Ask again for the routing the ship path could not get (allocation or the courier not answering), or for
    a destination that moved meanwhile: every live parcel of these shipments, retried with backoff."""
    res = _res(ctx)
    async with res.transaction() as uow:
        wanted = await routing.to_route(uow, shop_id, shipment_ids)
    routed = await routing.ask(res.allocation, shop_id, wanted)
    if routed.again and job_try(ctx) < ROUTING_MAX_TRIES:
        # Nothing written yet: the next try asks for every parcel again (the courier's binding is idempotent).
        raise _retry(ctx, ROUTING_RETRY)
    async with res.transaction() as uow:
        return await routing.store(uow, shop_id, dict(wanted), routed)


async def release_number(ctx: Ctx, shop_id: str, number: str, order_ref: str, void: bool = False) -> str:
    try:
        return await numbers.release(_res(ctx).allocation, shop_id, number, order_ref, void=void)
    except ServiceError as exc:  # only the transient ones reach here
        raise _retry(ctx, ALLOCATION_RETRY) from exc


async def mark_number(
    ctx: Ctx,
    shop_id: str,
    number: str,
    status: str,
    order_ref: str,
    store_id: str | None = None,
    channel: str | None = None,
) -> str:
    """``store_id``, ``channel``: a shipped number's store and channel (jobs queued before they were sent
    have neither: allocation then leaves them unknown)."""
    try:
        return await numbers.mark(
            _res(ctx).allocation, shop_id, number, MarkState(status), order_ref, store_id=store_id, channel=channel
        )
    except ServiceError as exc:
        raise _retry(ctx, ALLOCATION_RETRY) from exc


async def mark_numbers(ctx: Ctx, shop_id: str, status: str, pairs: list[list[str | None]]) -> int:
    """Record many numbers' progress in allocation: [number, order ref] pairs, or [number, order ref, store id,
    channel] (a shipped number's store and channel). Allocation unreachable: the whole job retries (marking
    is idempotent)."""
    # Built unvalidated, as the typed client sends them: allocation is the one that validates.
    items = [
        MarkItem.model_construct(number=str(p[0]), order_id=p[1], store_id=_at(p, 2), channel=_at(p, 3)) for p in pairs
    ]
    try:
        return await numbers.mark_many(_res(ctx).allocation, shop_id, MarkState(status), items)
    except ServiceError as exc:
        raise _retry(ctx, ALLOCATION_RETRY) from exc


def _at(values: list[str | None], index: int) -> str | None:
    return values[index] if len(values) > index else None


async def subscribe_tracking(ctx: Ctx, shipment_id: str) -> int:
    """One shipment's handoff: jobs of this name queued by an earlier release go the bulk way too."""
    return await subscribe_tracking_many(ctx, [shipment_id])


async def subscribe_tracking_many(ctx: Ctx, shipment_ids: list[str]) -> int:
    """Hand confirmed shipments to tracking. Tracking unreachable: the whole job retries (the bulk call is
    idempotent) until its last try."""
    res = _res(ctx)
    async with res.transaction() as uow:
        by_shop = await tracking_handoff.followed_by_shop(uow, shipment_ids)
    handed = await tracking_handoff.hand_over(res.tracking, by_shop)
    if handed.unreachable is not None:
        if job_try(ctx) < res.settings.tracking_max_tries:
            raise _retry(ctx, TRACKING_RETRY)
        log.error("tracking_handoff_gave_up", error=str(handed.unreachable))
    return handed.count


async def deliver_webhook(ctx: Ctx, delivery_id: str) -> str:
    res = _res(ctx)
    settings = res.settings
    async with res.transaction() as uow:
        found = await webhook_deliveries.to_send(uow, uuid.UUID(delivery_id))
    if isinstance(found, webhook_deliveries.NotSent):
        return found.value
    attempt = await webhook_sending.send_event(res.egress, settings, found)
    async with res.transaction() as uow:
        recorded = await webhook_deliveries.record_attempt(uow, found.delivery_id, attempt, settings.webhook_max_tries)
    if recorded.status is None:
        return "gone"
    if recorded.status is DeliveryStatus.PENDING:
        # Nominal (no jitter): the settings document the first delay and its doubling.
        backoff = Backoff(settings.webhook_retry_base_s, WEBHOOK_RETRY_CAP_S)
        raise Retry(defer=backoff.nominal(recorded.attempts))
    return recorded.status.value


async def _start_tmc(ctx: Ctx) -> None:
    """Consume Taobao's message service beside the HTTP pushes, when its URL is set."""
    res = _res(ctx)
    if res.settings.tmc_url:
        consumer = tmc_intake.consumer(res)
        ctx["tmc"] = (consumer, asyncio.create_task(consumer.run(), name="tmc-consumer"))


async def _stop_tmc(ctx: Ctx) -> None:
    running = ctx.pop("tmc", None)
    if running is not None:
        consumer, task = running
        consumer.stop()
        await task


def _worker_settings() -> type:
    settings = get_settings()
    every = set(range(0, 60, settings.batch_sweep_s))
    return build_worker_settings(
        "shipping",
        get_settings,
        Outbox,
        functions=[
            confirm_shipment,
            func(process_batch, timeout=BATCH_JOB_TIMEOUT_S),
            release_number,
            update_recipient,
            func(route_parcels, max_tries=ROUTING_MAX_TRIES),
            mark_number,
            mark_numbers,
            subscribe_tracking,
            subscribe_tracking_many,
            deliver_webhook,
        ],
        cron_jobs=[
            cron(resume_batches, second=every, unique=True, run_at_startup=True),
            cron(sweep_auto_ship, second={0}, unique=True, timeout=AUTO_SHIP_TIMEOUT_S),
            cron(release_held_shipments, second={0, 30}, unique=True),
            cron(sweep_ship_by, second=set(range(0, 60, settings.ship_by_sweep_s)), unique=True),
        ],
        resources_factory=open_resources,
        on_startup=_start_tmc,
        on_shutdown=_stop_tmc,
        max_tries=max(settings.confirm_max_tries, settings.webhook_max_tries, settings.tracking_max_tries) + 2,
        max_jobs=40,
    )


WorkerSettings = _worker_settings()
