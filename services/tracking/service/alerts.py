"""Alerts (物流预警): opened and resolved by the rules in domain.alerts, the time-based scan, and what shops
read and set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from runtime.pagination import PageRequest
from services.tracking.domain.alerts import TIME_ALERTS, AlertDefaults, time_alert_message
from services.tracking.domain.states import UpdateKind
from services.tracking.models import Alert, AlertSetting
from services.tracking.repository.alerts import AlertRepository, AlertSettingRepository
from services.tracking.repository.notifications import NotificationRepository
from services.tracking.repository.subscriptions import SubscriptionRepository, SubState
from services.tracking.schemas import AlertFilter, AlertOut, AlertSettingIn, AlertSettingOut
from services.tracking.service.updates import queue_update
from shared.carriers import CarrierCode
from shared.errors import ErrorCode
from shared.pages import Page
from shared.tracking import AlertKind, AlertState


async def open_alert(
    alerts: AlertRepository,
    notes: NotificationRepository,
    sub: SubState,
    kind: AlertKind,
    message: str,
    now: datetime,
) -> Alert | None:
    """A new open alert, shipping told; None when one of the kind is already unresolved for the parcel."""
    parcel = sub.parcel
    alert = await alerts.open(
        {
            "shop_id": parcel.shop_id,
            "subscription_id": parcel.subscription_id,
            "carrier": parcel.carrier,
            "number": parcel.number,
            "order_id": parcel.order_id,
            "kind": kind.value,
            "state": AlertState.OPEN.value,
            "message": message[:500],
            "opened_at": now,
        }
    )
    if alert is not None:
        queue_update(notes, parcel, UpdateKind.ALERT_OPENED, sub.state.status, now, message, alert)
    return alert


def resolve_alert(alert: Alert, sub: SubState, now: datetime, notes: NotificationRepository) -> None:
    alert.state = AlertState.RESOLVED.value
    alert.resolved_at = now
    queue_update(notes, sub.parcel, UpdateKind.ALERT_RESOLVED, sub.state.status, now, alert.message, alert)


async def scan_time_alerts(uow: UnitOfWork, now: datetime, defaults: AlertDefaults, limit: int = 1000) -> int:
    """Open not_collected, no_update and late alerts whose threshold has passed at ``now``."""
    alerts = AlertRepository(uow.session)
    subs_repo = SubscriptionRepository(uow.session)
    notes = NotificationRepository(uow.session)
    opened = 0
    for kind in TIME_ALERTS:
        candidates = await alerts.time_candidates(kind, now, defaults.params(), limit)
        if not candidates:
            continue
        subs = await subs_repo.lock_states([c.subscription_id for c in candidates])
        for candidate in candidates:
            sub = subs.get(candidate.subscription_id)
            message = None if sub is None else time_alert_message(kind, sub.state, candidate.amount, now)
            if sub is not None and message is not None:
                opened += await open_alert(alerts, notes, sub, kind, message, now) is not None
    await notes.flush()
    await uow.session.flush()
    return opened


def alert_out(alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.id,
        kind=AlertKind(alert.kind),
        state=AlertState(alert.state),
        carrier=CarrierCode(alert.carrier),
        number=alert.number,
        order_id=alert.order_id,
        message=alert.message,
        opened_at=alert.opened_at,
        acknowledged_at=alert.acknowledged_at,
        resolved_at=alert.resolved_at,
    )


async def list_alerts(uow: UnitOfWork, shop_id: str, f: AlertFilter, page: PageRequest) -> Page[AlertOut]:
    return (await AlertRepository(uow.session).search(shop_id, f, page)).page(alert_out)


async def acknowledge_alert(uow: UnitOfWork, shop_id: str, alert_id: int, now: datetime) -> AlertOut:
    alert = await AlertRepository(uow.session).get_owned(shop_id, alert_id, for_update=True)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.state == AlertState.RESOLVED:
        raise AppError(
            f"alert {alert_id} is already resolved",
            code=ErrorCode.INVALID_TRANSITION,
            status_code=409,
            details={"state": alert.state},
        )
    if alert.state == AlertState.OPEN:
        alert.state = AlertState.ACKNOWLEDGED.value
        alert.acknowledged_at = now
        await uow.session.flush()
    return alert_out(alert)


def _setting_out(carrier: str, row: AlertSetting | None, base: AlertSettingOut) -> AlertSettingOut:
    def pick(name: str) -> Any:
        value = None if row is None else getattr(row, name)
        return getattr(base, name) if value is None else value

    return AlertSettingOut(
        carrier=carrier,
        not_collected_hours=pick("not_collected_hours"),
        no_update_hours=pick("no_update_hours"),
        late_grace_hours=pick("late_grace_hours"),
        transit_days=pick("transit_days"),
    )


async def alert_settings(uow: UnitOfWork, shop_id: str, defaults: AlertDefaults) -> list[AlertSettingOut]:
    """The shop's default (``*``) and every carrier it has set, each with fallbacks filled in."""
    rows = {r.carrier: r for r in await AlertSettingRepository(uow.session).for_shop(shop_id)}
    service_default = AlertSettingOut(carrier="*", **defaults.params())
    shop_default = _setting_out("*", rows.get("*"), service_default)
    return [shop_default] + [_setting_out(c, r, shop_default) for c, r in sorted(rows.items()) if c != "*"]


async def put_alert_setting(
    uow: UnitOfWork, shop_id: str, body: AlertSettingIn, defaults: AlertDefaults
) -> AlertSettingOut:
    carrier = "*" if body.carrier is None else body.carrier.value
    values = body.model_dump(exclude={"carrier"})
    await AlertSettingRepository(uow.session).upsert(shop_id, carrier, values)
    return next(s for s in await alert_settings(uow, shop_id, defaults) if s.carrier == carrier)
