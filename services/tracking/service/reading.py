"""What shops read: a parcel's status, timeline and alerts, by waybill or by order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from services.tracking.models import Subscription, TrackingEvent
from services.tracking.repository.alerts import AlertRepository
from services.tracking.repository.events import EventRepository
from services.tracking.repository.subscriptions import SubscriptionRepository
from services.tracking.schemas import AlertOut, EventOut, OrderTrackingOut, ProviderSubscriptionOut, TrackingOut
from services.tracking.service.alerts import alert_out
from shared.carriers import CarrierCode
from shared.errors import ErrorCode
from shared.tracking import TrackingStatus


def _event_out(ev: TrackingEvent) -> EventOut:
    return EventOut(
        occurred_at=ev.occurred_at,
        status=TrackingStatus(ev.status),
        description=ev.context,
        area_code=ev.area_code,
        area_name=ev.area_name,
        provider_code=ev.provider_code,
    )


def _view(s: Subscription, events: list[EventOut], alerts: list[AlertOut]) -> TrackingOut:
    return TrackingOut(
        carrier=CarrierCode(s.carrier),
        number=s.number,
        order_id=s.order_id,
        status=TrackingStatus(s.status),
        status_at=s.status_at,
        last_event_at=s.last_event_at,
        shipped_at=s.shipped_at,
        promised_days=s.promised_days,
        subscription=ProviderSubscriptionOut(
            state=s.provider_state,
            code=s.provider_code,
            message=s.provider_message,
            attempts=s.subscribe_attempts,
            subscribed_at=s.subscribed_at,
            ended_at=s.ended_at,
        ),
        events=events,
        alerts=alerts,
    )


async def _views(uow: UnitOfWork, subs: Sequence[Subscription]) -> list[TrackingOut]:
    ids = [s.id for s in subs]
    events: dict[int, list[EventOut]] = defaultdict(list)
    for ev in await EventRepository(uow.session).timeline(ids):
        events[ev.subscription_id].append(_event_out(ev))
    alerts: dict[int, list[AlertOut]] = defaultdict(list)
    for alert in await AlertRepository(uow.session).for_subscriptions(ids):
        alerts[alert.subscription_id].append(alert_out(alert))
    return [_view(s, events[s.id], alerts[s.id]) for s in subs]


async def tracking_for_number(uow: UnitOfWork, shop_id: str, number: str, carrier: CarrierCode | None) -> TrackingOut:
    subs = await SubscriptionRepository(uow.session).for_shop_number(
        shop_id, number.strip().upper(), None if carrier is None else carrier.value
    )
    if not subs:
        raise NotFound(f"no tracking for waybill {number}", details={"number": number})
    if len(subs) > 1:
        raise AppError(
            f"waybill {number} is tracked with several carriers; say which with ?carrier=",
            status_code=409,
            code=ErrorCode.CONFLICT,
            details={"carriers": [s.carrier for s in subs]},
        )
    return (await _views(uow, subs))[0]


async def tracking_for_order(uow: UnitOfWork, shop_id: str, order_id: str) -> OrderTrackingOut:
    subs = await SubscriptionRepository(uow.session).for_shop_order(shop_id, order_id)
    if not subs:
        raise NotFound(f"no tracking for order {order_id}", details={"order_id": order_id})
    return OrderTrackingOut(order_id=order_id, parcels=await _views(uow, subs))
