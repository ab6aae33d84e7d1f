"""Shipping's arq worker: ``arq services.shipping.tasks.WorkerSettings``."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import orjson
from arq import Retry, cron

from runtime import egress
from runtime.db import UnitOfWork
from runtime.logging import get_logger
from runtime.worker import Ctx, build_worker_settings, job_transaction
from services.shipping import batches, confirm, webhooks
from services.shipping.allocation_client import AllocationClient, AllocationError
from services.shipping.http import sharded_client
from services.shipping.marketplace.client import MarketplaceClient
from services.shipping.models import Order, Outbox, Shipment
from services.shipping.repository import BatchRepository, ShipmentRepository, WebhookRepository
from services.shipping.service import Clients
from services.shipping.settings import ShippingSettings, get_settings
from shared.allocation import MAX_BATCH_MARK
from shared.tracking import (
    MAX_BATCH_SUBSCRIPTIONS,
    SubscriptionBatch,
    SubscriptionBatchResult,
    SubscriptionOutcome,
    SubscriptionRequest,
)

log = get_logger(__name__)

SIGNATURE_HEADER = "X-Waybill-Signature"
TIMESTAMP_HEADER = "X-Waybill-Timestamp"
EVENT_ID_HEADER = "X-Waybill-Event-Id"
EVENT_TYPE_HEADER = "X-Waybill-Event-Type"


def make_clients(settings: ShippingSettings) -> tuple[Clients, list[httpx.AsyncClient]]:
    """Clients for allocation and the marketplace, each over its own sharded pools (see
    services.shipping.http), and the httpx clients to close at shutdown."""
    market_http = sharded_client(settings.batch_concurrency * 2, settings.marketplace_timeout_s)
    service_http = sharded_client(settings.batch_concurrency * 2, settings.service_timeout_s)
    clients = Clients(
        settings=settings,
        allocation=AllocationClient(
            service_http, settings.allocation_url, settings.internal_key.get_secret_value(), settings.service_timeout_s
        ),
        marketplace=MarketplaceClient(
            market_http,
            settings.marketplace_url,
            settings.marketplace_app_key,
            settings.marketplace_app_secret.get_secret_value(),
            settings.marketplace_sign_method,
            settings.marketplace_timeout_s,
        ),
    )
    return clients, [market_http, service_http]


def _clients(ctx: Ctx) -> Clients:
    if "clients" not in ctx:
        ctx["clients"], ctx["pooled_http"] = make_clients(_settings(ctx))
    clients: Clients = ctx["clients"]
    return clients


def _tx(ctx: Ctx) -> confirm.Tx:
    def tx() -> AbstractAsyncContextManager[UnitOfWork]:
        return job_transaction(ctx)

    return tx


async def confirm_shipment(ctx: Ctx, shipment_id: str) -> str:
    """Confirm a shipment on the marketplace; transient trouble is retried with backoff."""
    result = await confirm.confirm(_tx(ctx), _clients(ctx), shipment_id)
    if result.kind in ("retry", "busy"):
        raise Retry(defer=result.retry_in)
    return result.kind if not result.detail else f"{result.kind}: {result.detail}"


async def process_batch(ctx: Ctx, batch_id: str) -> int:
    async def enqueue_retry(retries: list[tuple[str, float]]) -> None:
        async with job_transaction(ctx) as uow:
            for shipment_id, delay in retries:
                # _defer_by goes to arq with the outbox row: the retry waits out the backoff.
                uow.enqueue("confirm_shipment", shipment_id=shipment_id, _defer_by=delay)

    runner = batches.ChunkRunner(_tx(ctx), _clients(ctx), batch_id, enqueue_retry)
    return await runner.run()


async def resume_batches(ctx: Ctx) -> int:
    """Chunks nobody works on (a killed worker's lapsed lease, or lost jobs) get a worker again."""
    async with job_transaction(ctx) as uow:
        open_ids = await BatchRepository(uow.session).open_batches()
    settings = _settings(ctx)
    bucket = int(time.time() // max(1, settings.batch_sweep_s))
    for batch_id in open_ids:
        await ctx["redis"].enqueue_job("process_batch", batch_id=batch_id, _job_id=f"resume-{batch_id}-{bucket}")
    # Confirmations whose job went missing (Redis lost it, or a worker died holding it) are asked again.
    idle = settings.confirm_retry_max_s + settings.confirm_lease_s + 30
    async with job_transaction(ctx) as uow:
        stuck = await ShipmentRepository(uow.session).stuck(idle, 1000)
    for shipment_id in stuck:
        await ctx["redis"].enqueue_job(
            "confirm_shipment", shipment_id=shipment_id, _job_id=f"sweep-{shipment_id}-{bucket}"
        )
    return len(open_ids) + len(stuck)


def _settings(ctx: Ctx) -> ShippingSettings:
    settings = ctx["settings"]
    assert isinstance(settings, ShippingSettings)
    return settings


def _retry_delay(ctx: Ctx, base: float) -> float:
    return float(min(300.0, base * 2 ** (ctx.get("job_try", 1) - 1)))


async def release_number(ctx: Ctx, shop_id: str, number: str, order_ref: str, void: bool = False) -> str:
    """Give a number back. ``void``: its label may exist (batch labels are never marked printed one by one),
    so it is marked printed first and the release voids it instead of returning it to the pool."""
    allocation = _clients(ctx).allocation
    try:
        if void:
            try:
                await allocation.mark(shop_id, number, "printed", order_ref)
            except AllocationError as exc:
                if exc.transient:
                    raise
        return await allocation.release(shop_id, number, order_ref)
    except AllocationError as exc:
        if exc.transient:
            raise Retry(defer=_retry_delay(ctx, 1.0)) from exc
        log.warning("release_refused", number=number, code=exc.code, error=exc.message)
        return f"refused: {exc.code}"


async def mark_number(ctx: Ctx, shop_id: str, number: str, status: str, order_ref: str) -> str:
    try:
        await _clients(ctx).allocation.mark(shop_id, number, status, order_ref)
    except AllocationError as exc:
        if exc.transient:
            raise Retry(defer=_retry_delay(ctx, 1.0)) from exc
        log.warning("mark_refused", number=number, code=exc.code, error=exc.message)
        return f"refused: {exc.code}"
    return status


async def mark_numbers(ctx: Ctx, shop_id: str, status: str, pairs: list[list[str]]) -> int:
    """Record many numbers' progress in allocation ([number, order ref] pairs), one call per
    MAX_BATCH_MARK of them. Allocation unreachable: the whole job retries (marking is idempotent)."""
    allocation = _clients(ctx).allocation
    marked = 0
    for start in range(0, len(pairs), MAX_BATCH_MARK):
        part = [(number, order_ref) for number, order_ref in pairs[start : start + MAX_BATCH_MARK]]
        try:
            result = await allocation.mark_many(shop_id, status, part)
        except AllocationError as exc:
            if exc.transient:
                raise Retry(defer=_retry_delay(ctx, 1.0)) from exc
            log.error("mark_many_refused", count=len(part), code=exc.code, error=exc.message)
            continue
        marked += result.marked
        for outcome in result.results:
            if outcome.error_code:
                log.warning("mark_refused", number=outcome.number, code=outcome.error_code, error=outcome.error)
    return marked


async def subscribe_tracking(ctx: Ctx, shipment_id: str) -> int:
    """One shipment's handoff: jobs of this name queued by an earlier release go the bulk way too."""
    return await subscribe_tracking_many(ctx, [shipment_id])


async def subscribe_tracking_many(ctx: Ctx, shipment_ids: list[str]) -> int:
    """Hand confirmed shipments to tracking: read in one query, sent in one bulk call per shop and
    MAX_BATCH_SUBSCRIPTIONS. Tracking unreachable: the whole job retries (the bulk call is idempotent)."""
    async with job_transaction(ctx) as uow:
        handoffs = await ShipmentRepository(uow.session).confirmed_with_orders(shipment_ids)
        by_shop: dict[str, list[tuple[str, SubscriptionRequest]]] = defaultdict(list)
        for s, o in handoffs:
            by_shop[s.shop_id].append((s.id, _subscription(s, o)))
    handed = 0
    for shop_id, pairs in by_shop.items():
        for start in range(0, len(pairs), MAX_BATCH_SUBSCRIPTIONS):
            part = pairs[start : start + MAX_BATCH_SUBSCRIPTIONS]
            outcome = await _post_subscriptions(ctx, shop_id, part)
            if outcome == "retry":
                _tracking_retry(ctx, "tracking unavailable")  # raises Retry until the last try
                return handed
            handed += len(part) if outcome == "subscribed" else 0
    return handed


async def _post_subscriptions(ctx: Ctx, shop_id: str, part: list[tuple[str, SubscriptionRequest]]) -> str:
    settings = _settings(ctx)
    body = SubscriptionBatch(items=[req for _, req in part])
    try:
        resp = await _clients(ctx).allocation.http.post(
            settings.tracking_url.rstrip("/") + "/internal/v1/subscriptions/batch",
            content=body.model_dump_json(),
            headers=_tracking_headers(settings, shop_id),
            timeout=settings.service_timeout_s,
        )
    except httpx.HTTPError as exc:
        log.info("tracking_unreachable", shipments=len(part), error=repr(exc))
        return "retry"
    if resp.status_code >= 500 or resp.status_code == 429:
        return "retry"
    if resp.status_code >= 300:
        log.error("tracking_refused_subscriptions", shipments=len(part), status=resp.status_code, body=resp.text[:300])
        return f"refused: HTTP {resp.status_code}"
    result = SubscriptionBatchResult.model_validate_json(resp.content)
    for (shipment_id, _), item in zip(part, result.results, strict=True):
        if item.outcome is SubscriptionOutcome.CONFLICT:
            # The single handoff's 409: tracking follows this number for another order; nothing to retry.
            log.error("tracking_subscription_conflict", shipment_id=shipment_id, number=item.number, error=item.message)
    return "subscribed"


def _tracking_headers(settings: ShippingSettings, shop_id: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {settings.internal_key.get_secret_value()}",
        "X-Shop-Id": shop_id,
        "Content-Type": "application/json",
    }


def _subscription(shipment: Shipment, order: Order) -> SubscriptionRequest:
    return SubscriptionRequest(
        order_id=order.id,
        carrier=shipment.carrier,
        number=shipment.number,
        shipped_at=shipment.confirmed_at or shipment.updated_at,
        destination_province=order.receiver_state or None,
    )


def _tracking_retry(ctx: Ctx, error: str) -> str:
    if ctx.get("job_try", 1) >= _settings(ctx).tracking_max_tries:
        log.error("tracking_handoff_gave_up", error=error)
        return f"gave up: {error}"
    raise Retry(defer=_retry_delay(ctx, 2.0))


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp + "." + raw body``, hex: what shops verify."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def deliver_webhook(ctx: Ctx, delivery_id: str) -> str:
    settings = _settings(ctx)
    async with job_transaction(ctx) as uow:
        repo = WebhookRepository(uow.session)
        delivery = await repo.delivery(uuid.UUID(delivery_id))
        if delivery is None or delivery.status != "pending":
            return "nothing to do"
        endpoint = await repo.endpoint(delivery.endpoint_id)
        if endpoint is None:
            return "endpoint gone"
        if not endpoint.active:
            # Disabled after the event was queued: never sent, kept as failed with our reason.
            delivery.status, delivery.last_error = "failed", webhooks.DISABLED_REASON
            return "endpoint disabled"
        url, secret, payload = endpoint.url, endpoint.secret, delivery.payload
        event_id, event_type = str(delivery.event_id), delivery.event_type
    body = orjson.dumps(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event_type,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: f"v1={sign_webhook(secret, timestamp, body)}",
    }
    # Checked again here (the name resolved now, the address pinned): what was public when saved may not be.
    outcome = await webhooks.send(_egress_http(ctx), settings, url, body, headers)
    error = outcome.error
    async with job_transaction(ctx) as uow:
        delivery = await WebhookRepository(uow.session).delivery(uuid.UUID(delivery_id), for_update=True)
        if delivery is None:
            return "gone"
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        delivery.last_error = error
        if error is None:
            delivery.status = "delivered"
            from datetime import UTC, datetime

            delivery.delivered_at = datetime.now(UTC)
            return "delivered"
        attempts = delivery.attempts
        if attempts >= settings.webhook_max_tries or outcome.final:
            delivery.status = "failed"
            log.warning("webhook_failed", delivery_id=delivery_id, error=error)
            return "failed"
    raise Retry(defer=min(3600.0, settings.webhook_retry_base_s * 2 ** (attempts - 1)))


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def _egress_http(ctx: Ctx) -> httpx.AsyncClient:
    """The client for shops' URLs (runtime.egress): no proxy, no redirects, no pooled connections."""
    if "egress_http" not in ctx:
        ctx["egress_http"] = egress.make_client(timeout=_settings(ctx).webhook_timeout_s)
    client: httpx.AsyncClient = ctx["egress_http"]
    return client


async def _shutdown(ctx: Ctx) -> None:
    for http in ctx.get("pooled_http", []):
        await http.aclose()
    if "egress_http" in ctx:
        await ctx.pop("egress_http").aclose()


def _worker_settings() -> type:
    settings = get_settings()
    every = set(range(0, 60, settings.batch_sweep_s))
    return build_worker_settings(
        "shipping",
        get_settings,
        Outbox,
        functions=[
            confirm_shipment,
            process_batch,
            release_number,
            mark_number,
            mark_numbers,
            subscribe_tracking,
            subscribe_tracking_many,
            deliver_webhook,
        ],
        cron_jobs=[cron(resume_batches, second=every, unique=True, run_at_startup=True)],
        on_shutdown=_shutdown,
        max_tries=max(settings.confirm_max_tries, settings.webhook_max_tries, settings.tracking_max_tries) + 2,
        max_jobs=40,
    )


WorkerSettings = _worker_settings()

__all__ = ["Any"]

# A process_batch job loops over chunks; its chunks carry their own leases, so a long job is not an error.
WorkerSettings.job_timeout = 3600  # type: ignore[attr-defined]
