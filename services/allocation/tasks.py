"""Allocation's arq worker: ``arq services.allocation.tasks.WorkerSettings``.

Courier calls happen here, outside any database transaction (no locks held over the network);
each step that writes opens its own short transaction.
"""

from __future__ import annotations

import math
from datetime import timedelta
from enum import StrEnum
from typing import Any

from arq import Retry, cron

from runtime.backoff import Backoff
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from runtime.worker import Ctx, build_worker_settings, job_transaction, job_try, resources
from services.allocation.courier.protocol import CourierError, IssueRequest
from services.allocation.models import Outbox, PurchaseStatus
from services.allocation.resources import AllocationResources, open_resources
from services.allocation.service import expiry, fulfilment, pools, voids, waybills
from services.allocation.settings import get_settings
from shared.allocation import VoidCourierOutcome

log = get_logger(__name__)
# Expired numbers are taken out a bounded batch at a time, each batch its own transaction.
EXPIRE_BATCH = 10_000
# Unanswered voids asked about again per sweep (each its own job).
VOID_RESEND_BATCH = 500
# Purchases about to expire looked at per sweep, for their notice and for their shop's action.
EXPIRY_BATCH = 500


class Outcome(StrEnum):
    """What a purchase job did (arq keeps it as the job's result)."""

    NOT_PENDING = "not pending"
    COMPLETED = "completed"
    FAILED = "failed"
    NOTHING_TO_DO = "nothing to do"
    NO_COURIER_RECORD = "courier has no record"
    RECONCILED = "reconciled"


def _res(ctx: Ctx) -> AllocationResources:
    return resources(ctx, AllocationResources)


def retry_delay(ctx: Ctx) -> float:
    """Before the next try of a courier call. Nominal, not jittered, and uncapped, as it always was: each
    purchase's job retries on its own schedule (no herd to spread), and the tries are few (courier_max_tries)."""
    return Backoff(_res(ctx).settings.courier_retry_base_s, math.inf).nominal(job_try(ctx))


async def fetch_purchase_numbers(ctx: Ctx, purchase_id: str) -> Outcome:
    """Ask the courier for a pending purchase's numbers; retry with backoff; refund when it fails."""
    async with job_transaction(ctx) as uow:
        purchase = await fulfilment.pending_purchase(uow, purchase_id)
    if purchase is None:
        return Outcome.NOT_PENDING
    try:
        # The purchase id is the courier's object_id: asking again returns the same numbers.
        issued = await _res(ctx).courier.issue(
            purchase.carrier, purchase.shop_id, purchase.validity_days, [IssueRequest(purchase_id, purchase.quantity)]
        )
    except CourierError as exc:
        return await _courier_refused(ctx, purchase_id, exc)
    batch = next((b for b in issued if b.object_id == purchase_id), None)
    if batch is None or not batch.numbers:
        return await _give_up(ctx, purchase_id, "courier answered without numbers")
    async with job_transaction(ctx) as uow:
        done = await fulfilment.store_issued_numbers(uow, purchase_id, batch.numbers, batch.expires_at)
        await fulfilment.record_attempt(uow, purchase_id, None)
    log.info("purchase_completed", purchase_id=purchase_id, numbers=done.numbers_received if done else 0)
    return Outcome.COMPLETED


async def _courier_refused(ctx: Ctx, purchase_id: str, exc: CourierError) -> Outcome:
    """Try again later when the courier may answer next time, else give up."""
    async with job_transaction(ctx) as uow:
        await fulfilment.record_attempt(uow, purchase_id, str(exc))
    final = job_try(ctx) >= _res(ctx).settings.courier_max_tries
    if exc.retryable and not final:
        log.warning("courier_retry", purchase_id=purchase_id, error=str(exc), job_try=job_try(ctx))
        raise Retry(defer=retry_delay(ctx)) from exc
    return await _give_up(ctx, purchase_id, str(exc))


async def _give_up(ctx: Ctx, purchase_id: str, error: str) -> Outcome:
    # Before refunding, make sure the courier really issued nothing (an answer may have been lost).
    async with job_transaction(ctx) as uow:
        purchase = await fulfilment.pending_purchase(uow, purchase_id)
    if purchase is None:
        return Outcome.NOT_PENDING
    try:
        found = await _res(ctx).courier.query_object(purchase.carrier, purchase.shop_id, purchase_id)
    except CourierError:
        found = None
    async with job_transaction(ctx) as uow:
        if found is not None and found.numbers:
            await fulfilment.store_issued_numbers(uow, purchase_id, found.numbers, found.expires_at)
            return Outcome.COMPLETED
        await fulfilment.fail_and_refund(uow, purchase_id, error)
    log.error("purchase_failed", purchase_id=purchase_id, error=error)
    return Outcome.FAILED


async def resync_purchase(ctx: Ctx, purchase_id: str) -> Outcome:
    """Reconcile a purchase with what the courier recorded for it."""
    async with job_transaction(ctx) as uow:
        purchase = await fulfilment.find_purchase(uow, purchase_id)
    if purchase is None or purchase.status == PurchaseStatus.FAILED:
        return Outcome.NOTHING_TO_DO
    try:
        found = await _res(ctx).courier.query_object(purchase.carrier, purchase.shop_id, purchase_id)
    except CourierError as exc:
        if exc.retryable:
            raise Retry(defer=retry_delay(ctx)) from exc
        raise
    if found is None:
        if purchase.status == PurchaseStatus.PENDING:
            # The courier never saw the request: ask again (same object id, so no double issue).
            return await fetch_purchase_numbers(ctx, purchase_id)
        return Outcome.NO_COURIER_RECORD
    async with job_transaction(ctx) as uow:
        await fulfilment.store_issued_numbers(uow, purchase_id, found.numbers, found.expires_at)
    return Outcome.RECONCILED


async def discard_numbers(ctx: Ctx, carrier: str, shop_id: str, numbers: list[str]) -> int:
    """Tell the courier that refunded numbers will not be used (best effort, per number)."""
    courier = _res(ctx).courier
    done = 0
    for number in numbers:
        try:
            await courier.discard(carrier, shop_id, number)
            done += 1
        except CourierError as exc:
            if exc.retryable:
                raise Retry(defer=retry_delay(ctx)) from exc
            log.info("discard_refused", number=number, code=exc.code)
    return done


async def discard_voided_number(ctx: Ctx, void_id: int) -> VoidCourierOutcome | None:
    """Ask the courier to cancel a voided number (回收单号), then settle the void with its answer: credited when
    it cancelled, not when it had collected the parcel or refused. None: settled already (a repeated job).

    While the courier cannot answer the job retries with backoff; out of tries, the void stays pending and
    ``resend_unanswered_voids`` asks again later. The cancellation is idempotent at the courier."""
    async with job_transaction(ctx) as uow:
        ticket = await voids.take_pending(uow, void_id)
    if ticket is None:
        return None
    error_code: str | None = None
    try:
        await _res(ctx).courier.discard(ticket.carrier, ticket.shop_id, ticket.number)
    except CourierError as exc:
        if exc.retryable:
            if job_try(ctx) < _res(ctx).settings.courier_max_tries:
                log.warning("void_discard_retry", number=ticket.number, error=str(exc), job_try=job_try(ctx))
                raise Retry(defer=retry_delay(ctx)) from exc
            log.error("void_discard_unanswered", number=ticket.number, error=str(exc))
            return VoidCourierOutcome.PENDING
        error_code = exc.code
    async with job_transaction(ctx) as uow:
        settled = await voids.settle(uow, void_id, error_code)
    if settled is None:
        return None
    log.info("void_settled", number=ticket.number, courier=settled.courier, credited_cents=settled.credited_cents)
    return settled.courier


async def resend_unanswered_voids(ctx: Ctx) -> int:
    after = timedelta(seconds=_res(ctx).settings.void_resend_after_s)
    async with job_transaction(ctx) as uow:
        return await voids.resend_unanswered(uow, after, VOID_RESEND_BATCH)


async def check_expiring(ctx: Ctx) -> int:
    """Purchases about to expire: the ``expiring`` notices due, then each shop's on_expiry action due (each
    purchase in a transaction of its own, so that one shop's failure stops nobody else's)."""
    lead = timedelta(hours=_res(ctx).settings.expiry_action_lead_hours)
    async with job_transaction(ctx) as uow:
        done = await expiry.notify_expiring(uow, lead, EXPIRY_BATCH)
    async with job_transaction(ctx) as uow:
        due = await expiry.due_actions(uow, lead, EXPIRY_BATCH)
    for purchase_id in due:
        async with job_transaction(ctx) as uow:
            acted = await expiry.act_on_expiry(uow, purchase_id, lead)
        if acted is not None:
            log.info("expiry_action", purchase_id=purchase_id, outcome=acted.value)
            done += 1
    return done


async def relay_stock_event(ctx: Ctx, event_id: int) -> str:
    """Send a purchase's expiry event to the shop's webhook endpoints (through shipping, which owns them);
    retried with backoff while shipping cannot take it."""
    async with job_transaction(ctx) as uow:
        event = await expiry.relayed_event(uow, event_id)
    if event is None:
        return "nothing to relay"
    try:
        receipt = await _res(ctx).shipping.shop_event(event.shop_id, event)
    except ServiceError as exc:
        if exc.transient and job_try(ctx) < _res(ctx).settings.courier_max_tries:
            log.warning("relay_retry", event_id=event_id, error=str(exc), job_try=job_try(ctx))
            raise Retry(defer=retry_delay(ctx)) from exc
        log.error("relay_failed", event_id=event_id, error=str(exc))
        return f"failed: {exc.code}"
    return f"queued for {receipt.deliveries} endpoints"


async def handle_low_stock(ctx: Ctx, pool_id: int, since: str) -> str | None:
    async with job_transaction(ctx) as uow:
        return await pools.replenish(uow, pool_id, since)


async def check_low_stock(ctx: Ctx) -> int:
    async with job_transaction(ctx) as uow:
        return await pools.check_low_stock(uow)


async def expire_numbers(ctx: Ctx) -> int:
    total = 0
    while True:
        async with job_transaction(ctx) as uow:
            n = await waybills.expire_due(uow, EXPIRE_BATCH)
        total += n
        if n < EXPIRE_BATCH:
            return total


async def vacuum_waybills(ctx: Ctx) -> None:
    await waybills.vacuum_waybills(_res(ctx).statements)


def _every(seconds: int) -> set[int]:
    return set(range(0, 60, max(1, min(seconds, 60))))


def _worker_settings() -> type:
    settings = get_settings()
    cron_jobs: list[Any] = [
        cron(check_low_stock, second={15, 45}, unique=True),
        cron(expire_numbers, second={5}, unique=True),
        cron(resend_unanswered_voids, second={35}, unique=True),
        cron(check_expiring, second={25}, unique=True),
    ]
    if settings.vacuum_interval_s:
        cron_jobs.append(cron(vacuum_waybills, second=_every(settings.vacuum_interval_s), unique=True))
    return build_worker_settings(
        "allocation",
        get_settings,
        Outbox,
        resources_factory=open_resources,
        functions=[
            fetch_purchase_numbers,
            resync_purchase,
            discard_numbers,
            discard_voided_number,
            handle_low_stock,
            relay_stock_event,
        ],
        cron_jobs=cron_jobs,
        max_tries=max(settings.courier_max_tries, 2),
    )


WorkerSettings = _worker_settings()
