"""Following parcels: shipping's requests, and recording the provider's answers to our subscribes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import Conflict
from runtime.logging import get_logger
from services.tracking.domain.states import FLAGGED_PROVIDER_STATES, TAKEN_PROVIDER_STATES, ProviderState
from services.tracking.domain.subscriptions import conflict_reason, state_after_answer
from services.tracking.kuaidi100.protocol import SubscribeResult
from services.tracking.models import Subscription
from services.tracking.repository.subscriptions import SubscriptionRepository
from shared.carriers import CarrierCode
from shared.tracking import (
    SubscriptionBatchItem,
    SubscriptionBatchResult,
    SubscriptionInfo,
    SubscriptionOutcome,
    SubscriptionRequest,
    TrackingStatus,
)

log = get_logger(__name__)

SUBSCRIBE_JOB = "subscribe_with_provider"
SUBSCRIBE_MANY_JOB = "subscribe_many_with_provider"


@dataclass(frozen=True)
class Subscribed:
    info: SubscriptionInfo
    created: bool  # False: the shipment was already followed


def subscription_info(sub: Subscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        carrier=CarrierCode(sub.carrier),
        number=sub.number,
        order_id=sub.order_id,
        status=TrackingStatus(sub.status),
        subscribed=ProviderState(sub.provider_state) in TAKEN_PROVIDER_STATES,
    )


def _subscription_row(shop_id: str, req: SubscriptionRequest) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "order_id": req.order_id,
        "carrier": req.carrier.value,
        "number": req.number,
        "salt": secrets.token_hex(16),
        "shipped_at": req.shipped_at,
        "destination_province": req.destination_province,
        "promised_days": req.promised_days,
    }


def _conflict(existing: Subscription | None, shop_id: str, req: SubscriptionRequest) -> str | None:
    return conflict_reason(existing, shop_id, req.order_id, f"{req.carrier.value} {req.number}")


def _retry_if_flagged(sub: Subscription) -> bool:
    """Shipping asking again is the way to retry a flagged subscription: it goes back to pending."""
    if ProviderState(sub.provider_state) not in FLAGGED_PROVIDER_STATES:
        return False
    sub.provider_state = ProviderState.PENDING.value
    sub.subscribe_attempts = 0
    return True


async def subscribe(uow: UnitOfWork, shop_id: str, req: SubscriptionRequest) -> Subscribed:
    """Follow a shipment; idempotent on (carrier, number)."""
    repo = SubscriptionRepository(uow.session)
    sub = await repo.insert(_subscription_row(shop_id, req))
    if sub is not None:
        uow.enqueue(SUBSCRIBE_JOB, subscription_id=sub.id)
        return Subscribed(subscription_info(sub), True)
    existing = await repo.by_carrier_number(req.carrier.value, req.number)
    why = _conflict(existing, shop_id, req)
    if why is not None or existing is None:
        raise Conflict(why or "conflict", details={"carrier": req.carrier.value, "number": req.number})
    if _retry_if_flagged(existing):
        await uow.session.flush()
        uow.enqueue(SUBSCRIBE_JOB, subscription_id=existing.id)
    return Subscribed(subscription_info(existing), False)


async def subscribe_many(uow: UnitOfWork, shop_id: str, reqs: Sequence[SubscriptionRequest]) -> SubscriptionBatchResult:
    """Follow many shipments of one shop: one insert, one lookup of those already followed, and one provider
    job for every subscription to send (the single endpoint's answers, item by item)."""
    repo = SubscriptionRepository(uow.session)
    created = {(c.carrier, c.number): c for c in await repo.insert_many([_subscription_row(shop_id, r) for r in reqs])}
    others = [(r.carrier.value, r.number) for r in reqs if (r.carrier.value, r.number) not in created]
    existing = await repo.by_carrier_numbers(others)
    to_send = [c.id for c in created.values()]
    results: list[SubscriptionBatchItem] = []
    claimed: set[tuple[str, str]] = set()
    for req in reqs:
        key = (req.carrier.value, req.number)
        sub = created.get(key)
        if sub is not None and key not in claimed and sub.order_id == req.order_id:
            claimed.add(key)  # the same number twice in one request: the second finds it existing
            results.append(_batch_item(req, SubscriptionOutcome.CREATED, sub))
            continue
        sub = sub or existing.get(key)
        why = _conflict(sub, shop_id, req)
        if why is not None or sub is None:
            results.append(_batch_item(req, SubscriptionOutcome.CONFLICT, None, why))
            continue
        if _retry_if_flagged(sub):
            to_send.append(sub.id)
        results.append(_batch_item(req, SubscriptionOutcome.EXISTING, sub))
    await uow.session.flush()
    if to_send:
        uow.enqueue(SUBSCRIBE_MANY_JOB, subscription_ids=to_send)
    return _batch_result(results)


def _batch_result(results: list[SubscriptionBatchItem]) -> SubscriptionBatchResult:
    counts = {o: sum(1 for r in results if r.outcome is o) for o in SubscriptionOutcome}
    return SubscriptionBatchResult(
        created=counts[SubscriptionOutcome.CREATED],
        existing=counts[SubscriptionOutcome.EXISTING],
        conflicts=counts[SubscriptionOutcome.CONFLICT],
        results=results,
    )


def _batch_item(
    req: SubscriptionRequest, outcome: SubscriptionOutcome, sub: Subscription | None, message: str | None = None
) -> SubscriptionBatchItem:
    return SubscriptionBatchItem(
        carrier=req.carrier,
        number=req.number,
        outcome=outcome,
        subscription=subscription_info(sub) if sub is not None else None,
        message=message,
    )


@dataclass(frozen=True)
class SubscribeTarget:
    id: int
    carrier: CarrierCode
    number: str
    salt: str


def _target(sub: Subscription) -> SubscribeTarget:
    return SubscribeTarget(sub.id, CarrierCode(sub.carrier), sub.number, sub.salt)


async def subscription_to_send(uow: UnitOfWork, subscription_id: int) -> SubscribeTarget | None:
    sub = await SubscriptionRepository(uow.session).get(subscription_id)
    if sub is None or sub.provider_state != ProviderState.PENDING:
        return None
    return _target(sub)


async def subscriptions_to_send(uow: UnitOfWork, subscription_ids: Sequence[int]) -> list[SubscribeTarget]:
    """The ones still pending (another job may have subscribed some meanwhile)."""
    subs = await SubscriptionRepository(uow.session).get_many(subscription_ids)
    return [_target(s) for s in subs if s.provider_state == ProviderState.PENDING]


async def record_subscribe_result(
    uow: UnitOfWork, subscription_id: int, result: SubscribeResult, final: bool, now: datetime
) -> ProviderState | None:
    """The subscription's provider state after this answer (None: the subscription is gone)."""
    sub = await SubscriptionRepository(uow.session).get(subscription_id, lock=True)
    if sub is None:
        return None
    state = _apply_subscribe_result(sub, result, final, now)
    await uow.session.flush()
    return state


async def record_subscribe_results(
    uow: UnitOfWork, results: dict[int, SubscribeResult], now: datetime
) -> dict[int, ProviderState]:
    """Many first answers at once (none final: what is left pending gets a job of its own to retry)."""
    subs = await SubscriptionRepository(uow.session).get_many(list(results), lock=True)
    states = {sub.id: _apply_subscribe_result(sub, results[sub.id], False, now) for sub in subs}
    await uow.session.flush()
    return states


def _apply_subscribe_result(sub: Subscription, result: SubscribeResult, final: bool, now: datetime) -> ProviderState:
    current = ProviderState(sub.provider_state)
    if current != ProviderState.PENDING:
        return current
    sub.subscribe_attempts += 1
    sub.provider_code = result.code
    sub.provider_message = result.message[:500]
    state = state_after_answer(result.outcome, final)
    sub.provider_state = state.value
    if state == ProviderState.SUBSCRIBED:
        sub.subscribed_at = now
    if state in FLAGGED_PROVIDER_STATES:
        log.warning(
            "subscription_flagged",
            subscription_id=sub.id,
            carrier=sub.carrier,
            number=sub.number,
            code=result.code,
            message=result.message,
        )
    return state
