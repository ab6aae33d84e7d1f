"""Allocation's arq worker: ``arq services.allocation.tasks.WorkerSettings``.

Courier calls happen here, outside any database transaction (no locks held over the network);
each step that writes opens its own short transaction.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from arq import Retry, cron

from runtime.logging import get_logger
from runtime.settings import to_asyncpg_dsn
from runtime.worker import Ctx, build_worker_settings, job_transaction
from services.allocation import service
from services.allocation.courier.client import CourierClient
from services.allocation.courier.protocol import CourierError, IssueRequest
from services.allocation.models import Outbox
from services.allocation.settings import AllocationSettings, get_settings

log = get_logger(__name__)


def _settings(ctx: Ctx) -> AllocationSettings:
    settings = ctx["settings"]
    assert isinstance(settings, AllocationSettings)
    return settings


def courier_client(ctx: Ctx) -> CourierClient:
    s = _settings(ctx)
    return CourierClient(
        ctx["http"], s.courier_url, s.courier_app_key, s.courier_secret.get_secret_value(), s.courier_timeout_s
    )


def retry_delay(ctx: Ctx) -> float:
    return float(_settings(ctx).courier_retry_base_s * 2 ** (ctx.get("job_try", 1) - 1))


async def fetch_purchase_numbers(ctx: Ctx, purchase_id: str) -> str:
    """Ask the courier for a pending purchase's numbers; retry with backoff; refund when it fails."""
    async with job_transaction(ctx) as uow:
        purchase = await service.pending_purchase(uow, purchase_id)
        if purchase is None:
            return "not pending"
        carrier, shop_id, quantity, validity = (
            purchase.carrier,
            purchase.shop_id,
            purchase.quantity,
            purchase.validity_days,
        )
    courier = courier_client(ctx)
    try:
        # The purchase id is the courier's object_id: asking again returns the same numbers.
        issued = await courier.issue(carrier, shop_id, validity, [IssueRequest(purchase_id, quantity)])
    except CourierError as exc:
        async with job_transaction(ctx) as uow:
            await service.record_attempt(uow, purchase_id, str(exc))
        final = ctx.get("job_try", 1) >= _settings(ctx).courier_max_tries
        if exc.retryable and not final:
            log.warning("courier_retry", purchase_id=purchase_id, error=str(exc), job_try=ctx.get("job_try"))
            raise Retry(defer=retry_delay(ctx)) from exc
        return await _give_up(ctx, purchase_id, str(exc))
    batch = next((b for b in issued if b.object_id == purchase_id), None)
    if batch is None or not batch.numbers:
        return await _give_up(ctx, purchase_id, "courier answered without numbers")
    async with job_transaction(ctx) as uow:
        done = await service.store_issued_numbers(uow, purchase_id, batch.numbers, batch.expires_at)
        await service.record_attempt(uow, purchase_id, None)
    log.info("purchase_completed", purchase_id=purchase_id, numbers=done.numbers_received if done else 0)
    return "completed"


async def _give_up(ctx: Ctx, purchase_id: str, error: str) -> str:
    # Before refunding, make sure the courier really issued nothing (an answer may have been lost).
    async with job_transaction(ctx) as uow:
        purchase = await service.pending_purchase(uow, purchase_id)
        if purchase is None:
            return "not pending"
        carrier, shop_id = purchase.carrier, purchase.shop_id
    try:
        found = await courier_client(ctx).query_object(carrier, shop_id, purchase_id)
    except CourierError:
        found = None
    async with job_transaction(ctx) as uow:
        if found is not None and found.numbers:
            await service.store_issued_numbers(uow, purchase_id, found.numbers, found.expires_at)
            return "completed"
        await service.fail_and_refund(uow, purchase_id, error)
    log.error("purchase_failed", purchase_id=purchase_id, error=error)
    return "failed"


async def resync_purchase(ctx: Ctx, purchase_id: str) -> str:
    """Reconcile a purchase with what the courier recorded for it."""
    async with job_transaction(ctx) as uow:
        purchase = await service.find_purchase(uow, purchase_id)
        if purchase is None or purchase.status == "failed":
            return "nothing to do"
        carrier, shop_id, status = purchase.carrier, purchase.shop_id, purchase.status
    try:
        found = await courier_client(ctx).query_object(carrier, shop_id, purchase_id)
    except CourierError as exc:
        if exc.retryable:
            raise Retry(defer=retry_delay(ctx)) from exc
        raise
    if found is None:
        if status == "pending":
            # The courier never saw the request: ask again (same object id, so no double issue).
            return await fetch_purchase_numbers(ctx, purchase_id)
        return "courier has no record"
    async with job_transaction(ctx) as uow:
        await service.store_issued_numbers(uow, purchase_id, found.numbers, found.expires_at)
    return "reconciled"


async def discard_numbers(ctx: Ctx, carrier: str, shop_id: str, numbers: list[str]) -> int:
    """Tell the courier that refunded numbers will not be used (best effort, per number)."""
    courier = courier_client(ctx)
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


async def handle_low_stock(ctx: Ctx, pool_id: int, since: str) -> str | None:
    async with job_transaction(ctx) as uow:
        return await service.replenish(uow, pool_id, since)


async def check_low_stock(ctx: Ctx) -> int:
    async with job_transaction(ctx) as uow:
        return await service.check_low_stock(uow)


async def expire_numbers(ctx: Ctx) -> int:
    total = 0
    while True:
        async with job_transaction(ctx) as uow:
            n = await service.expire_due(uow, 10_000)
        total += n
        if n < 10_000:
            return total


async def vacuum_waybills(ctx: Ctx) -> None:
    """Allocation leaves a dead entry in the free-number index per number handed out; scans then
    wade through them and the rate halves within a minute. Autovacuum wakes at most once a minute
    (autovacuum_naptime), so the worker vacuums the table itself, often and cheaply."""
    conn = await asyncpg.connect(to_asyncpg_dsn(_settings(ctx).database_url))
    try:
        await conn.execute("VACUUM (SKIP_LOCKED) allocation.waybills")
    finally:
        await conn.close()


def _every(seconds: int) -> set[int]:
    return set(range(0, 60, max(1, min(seconds, 60))))


def _worker_settings() -> type:
    settings = get_settings()
    cron_jobs: list[Any] = [
        cron(check_low_stock, second={15, 45}, unique=True),
        cron(expire_numbers, second={5}, unique=True),
    ]
    if settings.vacuum_interval_s:
        cron_jobs.append(cron(vacuum_waybills, second=_every(settings.vacuum_interval_s), unique=True))
    return build_worker_settings(
        "allocation",
        get_settings,
        Outbox,
        functions=[fetch_purchase_numbers, resync_purchase, discard_numbers, handle_low_stock],
        cron_jobs=cron_jobs,
        max_tries=max(settings.courier_max_tries, 2),
    )


WorkerSettings = _worker_settings()
