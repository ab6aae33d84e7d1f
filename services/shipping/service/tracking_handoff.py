"""Handing confirmed shipments to tracking: read in one query, sent in one bulk call per shop and
MAX_BATCH_SUBSCRIPTIONS (idempotent, so a part sent twice changes nothing)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.apis.tracking import TrackingApi
from runtime.db import UnitOfWork
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from services.shipping.repository.shipments import FollowedParcel, ShipmentRepository
from shared.carriers import CarrierCode
from shared.tracking import MAX_BATCH_SUBSCRIPTIONS, SubscriptionOutcome, SubscriptionRequest

log = get_logger(__name__)


@dataclass(frozen=True)
class Handoff:
    shipment_id: str
    request: SubscriptionRequest


@dataclass(frozen=True)
class Handed:
    """How many shipments tracking took, and, when it could not be reached, why (the rest was not sent)."""

    count: int
    unreachable: ServiceError | None = None


def _subscription(row: FollowedParcel) -> SubscriptionRequest:
    parcel, shipment, order = row
    return SubscriptionRequest(
        order_id=order.id,
        carrier=CarrierCode(parcel.carrier),
        number=parcel.number,
        shipped_at=shipment.confirmed_at or shipment.updated_at,
        destination_province=order.receiver_state or None,
    )


async def followed_by_shop(uow: UnitOfWork, shipment_ids: Sequence[str]) -> dict[str, list[Handoff]]:
    """Every parcel tracking should follow among ``shipment_ids`` (confirmed, or held until collected), as
    subscriptions, per shop: a parcel is a subscription of its own."""
    by_shop: dict[str, list[Handoff]] = defaultdict(list)
    for row in await ShipmentRepository(uow.session).followed_parcels(shipment_ids):
        by_shop[row.shipment.shop_id].append(Handoff(row.shipment.id, _subscription(row)))
    return dict(by_shop)


async def hand_over(tracking: TrackingApi, by_shop: dict[str, list[Handoff]]) -> Handed:
    """Send every shop's subscriptions; tracking unreachable stops at that part (the caller tries again),
    a part tracking refuses is logged and skipped."""
    handed = 0
    for shop_id, handoffs in by_shop.items():
        for start in range(0, len(handoffs), MAX_BATCH_SUBSCRIPTIONS):
            part = handoffs[start : start + MAX_BATCH_SUBSCRIPTIONS]
            try:
                result = await tracking.subscribe_many(shop_id, [h.request for h in part])
            except ServiceError as exc:
                if exc.transient:
                    log.info("tracking_unreachable", shipments=len(part), error=str(exc))
                    return Handed(handed, exc)
                log.error("tracking_refused_subscriptions", shipments=len(part), status=exc.status, code=exc.code)
                continue
            for handoff, item in zip(part, result.results, strict=True):
                if item.outcome is SubscriptionOutcome.CONFLICT:
                    # The single handoff's 409: tracking follows this number for another order; nothing to retry.
                    log.error(
                        "tracking_subscription_conflict",
                        shipment_id=handoff.shipment_id,
                        number=item.number,
                        error=item.message,
                    )
            handed += len(part)
    return Handed(handed)
