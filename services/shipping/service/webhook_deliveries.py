"""Deliveries of events to shops' endpoints: listed and resent by the shop, and read and recorded by the
``deliver_webhook`` job around its attempt (``services.shipping.service.webhook_sending``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import Conflict, NotFound
from runtime.logging import get_logger
from runtime.pagination import PageRequest
from services.shipping.models import DeliveryStatus
from services.shipping.repository.webhooks import WebhookEndpointRepository, WebhookRepository
from services.shipping.schemas.webhooks import WebhookDeliveryOut
from shared.errors import ErrorCode
from shared.pages import Page

log = get_logger(__name__)

# What a delivery of a disabled endpoint is kept with: it was never sent.
DISABLED_REASON = "refused: endpoint disabled"


async def deliveries(uow: UnitOfWork, shop_id: str, status: str | None, page: PageRequest) -> Page[WebhookDeliveryOut]:
    rows = await WebhookRepository(uow.session).deliveries(shop_id, status, page)
    return rows.page(WebhookDeliveryOut.model_validate)


async def resend(uow: UnitOfWork, shop_id: str, delivery_id: uuid.UUID) -> WebhookDeliveryOut:
    delivery = await WebhookRepository(uow.session).get_owned(shop_id, delivery_id, for_update=True)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} not found")
    endpoint = await WebhookEndpointRepository(uow.session).endpoint(delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        raise Conflict(
            f"the endpoint of delivery {delivery_id} is disabled: nothing is sent to it",
            code=ErrorCode.WEBHOOK_ENDPOINT_DISABLED,
            details={"endpoint_id": delivery.endpoint_id},
        )
    delivery.status, delivery.attempts = DeliveryStatus.PENDING, 0
    uow.enqueue("deliver_webhook", delivery_id=str(delivery.id))
    await uow.session.flush()
    return WebhookDeliveryOut.model_validate(delivery)


class NotSent(StrEnum):
    """Why a queued delivery is not sent."""

    NOTHING_TO_DO = "nothing to do"  # gone, or not pending any more (delivered, failed, resent and done)
    ENDPOINT_GONE = "endpoint gone"
    ENDPOINT_DISABLED = "endpoint disabled"  # disabled after the event was queued: kept as failed


@dataclass(frozen=True)
class ToSend:
    delivery_id: uuid.UUID
    url: str
    secret: str
    payload: dict[str, Any]
    event_id: str
    event_type: str


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt as recorded: the status code (when an answer came) and a short reason of ours
    (None: delivered). ``final``: trying again cannot help (the URL itself is refused)."""

    status_code: int | None
    error: str | None
    final: bool = False


@dataclass(frozen=True)
class Recorded:
    """The delivery after an attempt: delivered, failed for good, or pending (the job tries again)."""

    status: DeliveryStatus | None  # None: the row is gone
    attempts: int


async def to_send(uow: UnitOfWork, delivery_id: uuid.UUID) -> ToSend | NotSent:
    delivery = await WebhookRepository(uow.session).delivery(delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return NotSent.NOTHING_TO_DO
    endpoint = await WebhookEndpointRepository(uow.session).endpoint(delivery.endpoint_id)
    if endpoint is None:
        return NotSent.ENDPOINT_GONE
    if not endpoint.active:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, DISABLED_REASON
        return NotSent.ENDPOINT_DISABLED
    return ToSend(
        delivery_id=delivery.id,
        url=endpoint.url,
        secret=endpoint.secret,
        payload=delivery.payload,
        event_id=str(delivery.event_id),
        event_type=delivery.event_type,
    )


async def record_attempt(uow: UnitOfWork, delivery_id: uuid.UUID, attempt: Attempt, max_tries: int) -> Recorded:
    delivery = await WebhookRepository(uow.session).delivery(delivery_id, for_update=True)
    if delivery is None:
        return Recorded(None, 0)
    delivery.attempts += 1
    delivery.last_status_code = attempt.status_code
    delivery.last_error = attempt.error
    if attempt.error is None:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = datetime.now(UTC)
    elif delivery.attempts >= max_tries or attempt.final:
        delivery.status = DeliveryStatus.FAILED
        log.warning("webhook_failed", delivery_id=str(delivery_id), error=attempt.error)
    return Recorded(DeliveryStatus(delivery.status), delivery.attempts)
