"""Tracking's logic: subscriptions, batch processing of pushes, alerts, polling, notifications.

Functions take the unit of work and ``now`` (the service clock); they flush, never commit.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from runtime.logging import get_logger
from services.tracking.clock import ClockSetting
from services.tracking.kuaidi100.protocol import (
    ParsedPush,
    PushError,
    QueryOutcome,
    QueryResult,
    SubscribeOutcome,
    SubscribeResult,
    parse_push,
    query_as_param,
)
from services.tracking.models import ACTIVE_PROVIDER_STATES, Alert, AlertSetting, Subscription, TrackingEvent
from services.tracking.normalise import EXCEPTIONS, RANK, advance, from_kuaidi100_code
from services.tracking.repository import (
    AlertFilter,
    AlertRepository,
    AlertSettingRepository,
    ClockRepository,
    EventRepository,
    EventRow,
    NewEvent,
    NotificationRepository,
    PushRepository,
    SubscriptionRepository,
    SubState,
)
from services.tracking.schemas import (
    AlertOut,
    AlertSettingIn,
    AlertSettingOut,
    EventOut,
    OrderTrackingOut,
    ProviderSubscriptionOut,
    TrackingOut,
)
from shared.carriers import CarrierCode
from shared.errors import ErrorCode
from shared.tracking import (
    AlertKind,
    AlertState,
    SubscriptionBatchItem,
    SubscriptionBatchResult,
    SubscriptionInfo,
    SubscriptionOutcome,
    SubscriptionRequest,
    TrackingStatus,
)

log = get_logger(__name__)
S = TrackingStatus
COLLECTED_RANK = RANK[S.COLLECTED]
DONE = frozenset({S.DELIVERED, S.RETURNED})


@dataclass(frozen=True)
class AlertDefaults:
    not_collected_hours: float
    no_update_hours: float
    late_grace_hours: float
    transit_days: int

    def params(self) -> dict[str, float]:
        return {
            "not_collected_hours": self.not_collected_hours,
            "no_update_hours": self.no_update_hours,
            "late_grace_hours": self.late_grace_hours,
            "transit_days": self.transit_days,
        }


# -- subscriptions --------------------------------------------------------------------------------------


def subscription_info(sub: Subscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        carrier=CarrierCode(sub.carrier),
        number=sub.number,
        order_id=sub.order_id,
        status=S(sub.status),
        subscribed=sub.provider_state in ("subscribed", "finished", "aborted"),
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
    """Why the request cannot have this subscription (None: it is the same shipment's)."""
    if existing is None:  # deleted between the two statements; cannot happen today
        return "subscription vanished; retry"
    if existing.shop_id != shop_id or existing.order_id != req.order_id:
        return f"{req.carrier.value} {req.number} is already tracked for another order"
    return None


def _retry_if_flagged(sub: Subscription) -> bool:
    """Shipping asking again is the way to retry a flagged subscription: it goes back to pending."""
    if sub.provider_state not in ("refused", "failed"):
        return False
    sub.provider_state = "pending"
    sub.subscribe_attempts = 0
    return True


async def subscribe(uow: UnitOfWork, shop_id: str, req: SubscriptionRequest) -> tuple[SubscriptionInfo, bool]:
    """Follow a shipment; idempotent on (carrier, number). Returns the subscription and whether it is new."""
    repo = SubscriptionRepository(uow.session)
    sub = await repo.insert(_subscription_row(shop_id, req))
    if sub is not None:
        uow.enqueue("subscribe_with_provider", subscription_id=sub.id)
        return subscription_info(sub), True
    existing = await repo.by_carrier_number(req.carrier.value, req.number)
    why = _conflict(existing, shop_id, req)
    if why is not None or existing is None:
        raise Conflict(why or "conflict", details={"carrier": req.carrier.value, "number": req.number})
    if _retry_if_flagged(existing):
        await uow.session.flush()
        uow.enqueue("subscribe_with_provider", subscription_id=existing.id)
    return subscription_info(existing), False


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
        uow.enqueue("subscribe_many_with_provider", subscription_ids=to_send)
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
    if sub is None or sub.provider_state != "pending":
        return None
    return _target(sub)


async def subscriptions_to_send(uow: UnitOfWork, subscription_ids: Sequence[int]) -> list[SubscribeTarget]:
    """The ones still pending (another job may have subscribed some meanwhile)."""
    subs = await SubscriptionRepository(uow.session).get_many(subscription_ids)
    return [_target(s) for s in subs if s.provider_state == "pending"]


async def record_subscribe_result(
    uow: UnitOfWork, subscription_id: int, result: SubscribeResult, final: bool, now: datetime
) -> str:
    """The subscription's provider state after this answer."""
    sub = await SubscriptionRepository(uow.session).get(subscription_id, lock=True)
    if sub is None:
        return "gone"
    state = _apply_subscribe_result(sub, result, final, now)
    await uow.session.flush()
    return state


async def record_subscribe_results(
    uow: UnitOfWork, results: dict[int, SubscribeResult], now: datetime
) -> dict[int, str]:
    """Many first answers at once (none final: what is left pending gets a job of its own to retry)."""
    subs = await SubscriptionRepository(uow.session).get_many(list(results), lock=True)
    states = {sub.id: _apply_subscribe_result(sub, results[sub.id], False, now) for sub in subs}
    await uow.session.flush()
    return states


def _apply_subscribe_result(sub: Subscription, result: SubscribeResult, final: bool, now: datetime) -> str:
    if sub.provider_state != "pending":
        return sub.provider_state
    sub.subscribe_attempts += 1
    sub.provider_code = result.code
    sub.provider_message = result.message[:500]
    if result.outcome == SubscribeOutcome.SUBSCRIBED:
        sub.provider_state = "subscribed"
        sub.subscribed_at = now
    elif result.outcome == SubscribeOutcome.REJECTED or (final and result.outcome == SubscribeOutcome.REFUSED):
        sub.provider_state = "refused"
    elif final:
        sub.provider_state = "failed"
    if sub.provider_state in ("refused", "failed"):
        log.warning(
            "subscription_flagged",
            subscription_id=sub.id,
            carrier=sub.carrier,
            number=sub.number,
            code=result.code,
            message=result.message,
        )
    return sub.provider_state


# -- batch processing of pushes -------------------------------------------------------------------------


@dataclass
class BatchResult:
    pushes: int = 0
    events: int = 0
    status_changes: int = 0
    alerts_opened: int = 0
    alerts_resolved: int = 0
    errors: int = 0
    duplicates: int = 0  # readable pushes whose parcel gained no new event from this batch
    received: list[datetime] = field(default_factory=list)  # when each push was stored (for the lag metric)

    def add(self, other: BatchResult) -> None:
        for name in ("pushes", "events", "status_changes", "alerts_opened", "alerts_resolved", "errors", "duplicates"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.received.extend(other.received)


_EVENT_ALERTS: dict[TrackingStatus, AlertKind] = {
    S.PROBLEM: AlertKind.PROBLEM,
    S.DELIVERY_FAILED: AlertKind.PROBLEM,
    S.REFUSED: AlertKind.REFUSED,
    S.RETURNING: AlertKind.RETURNING,
}


def _fallback_status(state: str | None) -> TrackingStatus | None:
    if state is None:
        return None
    try:
        return from_kuaidi100_code(state)
    except ValueError:
        return None


def _event_rows(parsed: dict[int, list[ParsedPush]]) -> list[EventRow]:
    rows: list[EventRow] = []
    seen: set[tuple[int, int]] = set()
    for sid, pushes in parsed.items():
        for push in pushes:
            fallback = _fallback_status(push.state)
            last = len(push.events) - 1
            for i, ev in enumerate(push.events):
                key = (sid, ev.fingerprint)
                if key in seen:
                    continue
                seen.add(key)
                # The push's overall state describes its newest event when the event has no usable code.
                status = ev.status or (fallback if i == last else None) or S.IN_TRANSIT
                rows.append(
                    EventRow(
                        sid,
                        ev.fingerprint,
                        ev.occurred_at,
                        status.value,
                        ev.code,
                        ev.context,
                        ev.area_code,
                        ev.area_name,
                    )
                )
    return rows


@dataclass
class _Parcel:
    """What processing one subscription's pushes did, for alerts and notifications."""

    sub: SubState
    active: dict[str, Alert] = field(default_factory=dict)
    moved: bool = False
    aborted_now: bool = False


async def process_pushes(uow: UnitOfWork, now: datetime, limit: int) -> BatchResult:
    """Claim up to ``limit`` unprocessed pushes and apply them, all in the caller's transaction: a worker
    that dies before the commit leaves every claimed push to be claimed again, and nothing half-applied."""
    session = uow.session
    pushes = PushRepository(session)
    claimed = await pushes.claim(limit)
    result = BatchResult(pushes=len(claimed), received=[p.received_at for p in claimed])
    if not claimed:
        return result
    subs_repo = SubscriptionRepository(session)
    subs = await subs_repo.lock_states(sorted({p.subscription_id for p in claimed}))
    parsed: dict[int, list[ParsedPush]] = defaultdict(list)
    errors: dict[int, str] = {}
    for push in claimed:
        try:
            parsed[push.subscription_id].append(parse_push(push.param))
        except PushError as exc:
            errors[push.id] = str(exc)
            log.warning("push_unreadable", push_id=push.id, subscription_id=push.subscription_id, error=str(exc))
    result.errors = len(errors)
    new_events = await EventRepository(session).insert_new(_event_rows(parsed))
    result.events = len(new_events)
    by_sub: dict[int, list[NewEvent]] = defaultdict(list)
    for ev in new_events:
        by_sub[ev.subscription_id].append(ev)
    result.duplicates = sum(len(p) for sid, p in parsed.items() if sid not in by_sub)
    alerts = AlertRepository(session)
    active: dict[int, dict[str, Alert]] = defaultdict(dict)
    for alert in await alerts.active_for(list(subs)):
        active[alert.subscription_id][alert.kind] = alert
    notes = NotificationRepository(session)
    touched: list[SubState] = []
    for sid, sub in subs.items():
        if sid not in parsed:
            continue
        parcel = _Parcel(sub, active[sid])
        _apply(parcel, sorted(by_sub.get(sid, []), key=lambda e: e.occurred_at), parsed[sid], now, notes, result)
        touched.append(sub)
        if by_sub.get(sid) or parcel.aborted_now:
            await _event_alerts(parcel, by_sub.get(sid, []), now, alerts, notes, result)
        if parcel.active:
            _resolve_alerts(parcel, now, notes, result)
    await subs_repo.save_states(touched)
    await notes.flush()
    await pushes.mark_processed([p.id for p in claimed], errors)
    await session.flush()
    return result


def _apply(
    parcel: _Parcel,
    new: list[NewEvent],
    pushes: list[ParsedPush],
    now: datetime,
    notes: NotificationRepository,
    result: BatchResult,
) -> None:
    sub = parcel.sub
    sub.last_heard_at = now
    current = S(sub.status)
    status, progress = current, sub.progress
    description = ""
    changed_at = sub.status_at
    if new:
        newest = new[-1]
        # Only news can move the status: events older than what we already know fill the timeline.
        if sub.last_event_at is None or newest.occurred_at > sub.last_event_at:
            sub.last_event_at = newest.occurred_at
            parcel.moved = True
            status, progress = advance(current, progress, S(newest.status))
            if status != current:
                description, changed_at = newest.context, newest.occurred_at
    if sub.provider_state in ACTIVE_PROVIDER_STATES:
        if any(p.aborted for p in pushes):
            sub.provider_state = "aborted"
            sub.ended_at = now
            parcel.aborted_now = True
            aborted_status, progress = advance(status, progress, S.EXPIRED)
            if aborted_status != status:
                status, description, changed_at = aborted_status, next(p for p in pushes if p.aborted).message, now
        elif any(p.finished or p.status == "shutdown" for p in pushes):
            sub.provider_state = "finished"
            sub.ended_at = now
    sub.progress = progress
    if status != current:
        sub.status = status.value
        sub.status_at = changed_at
        result.status_changes += 1
        _notify(notes, sub, "status_changed", status, changed_at or now, description)


async def _event_alerts(
    parcel: _Parcel,
    new: list[NewEvent],
    now: datetime,
    alerts: AlertRepository,
    notes: NotificationRepository,
    result: BatchResult,
) -> None:
    wanted: dict[AlertKind, str] = {}
    for ev in sorted(new, key=lambda e: e.occurred_at):
        kind = _EVENT_ALERTS.get(S(ev.status))
        if kind is not None:
            wanted.setdefault(kind, ev.context)
    if parcel.aborted_now:
        wanted[AlertKind.ABORTED] = "the provider stopped tracking this parcel (no record or no change for too long)"
    for kind, message in wanted.items():
        if kind.value in parcel.active:
            continue
        alert = await _open_alert(alerts, notes, parcel.sub, kind, message, now)
        if alert is not None:
            parcel.active[kind.value] = alert
            result.alerts_opened += 1


def _should_resolve(kind: AlertKind, parcel: _Parcel) -> bool:
    sub = parcel.sub
    status = S(sub.status)
    if status in DONE:
        return True
    if kind == AlertKind.PROBLEM:
        return status not in EXCEPTIONS
    if kind == AlertKind.REFUSED:
        return status != S.REFUSED
    if kind == AlertKind.RETURNING:
        return status != S.RETURNING
    if kind == AlertKind.NOT_COLLECTED:
        return bool(sub.progress >= COLLECTED_RANK)
    if kind in (AlertKind.NO_UPDATE, AlertKind.ABORTED):
        return parcel.moved and not parcel.aborted_now
    return False  # late: only delivery (or return) ends it


def _resolve_alerts(parcel: _Parcel, now: datetime, notes: NotificationRepository, result: BatchResult) -> None:
    for kind, alert in list(parcel.active.items()):
        if _should_resolve(AlertKind(kind), parcel):
            alert.state = AlertState.RESOLVED.value
            alert.resolved_at = now
            del parcel.active[kind]
            result.alerts_resolved += 1
            _notify(notes, parcel.sub, "alert_resolved", S(parcel.sub.status), now, alert.message, alert)


async def _open_alert(
    alerts: AlertRepository,
    notes: NotificationRepository,
    sub: SubState,
    kind: AlertKind,
    message: str,
    now: datetime,
) -> Alert | None:
    alert = await alerts.open(
        {
            "shop_id": sub.shop_id,
            "subscription_id": sub.id,
            "carrier": sub.carrier,
            "number": sub.number,
            "order_id": sub.order_id,
            "kind": kind.value,
            "state": AlertState.OPEN.value,
            "message": message[:500],
            "opened_at": now,
        }
    )
    if alert is not None:
        _notify(notes, sub, "alert_opened", S(sub.status), now, message, alert)
    return alert


def _alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "state": alert.state,
        "opened_at": alert.opened_at.isoformat(),
        "message": alert.message,
    }


def _notify(
    notes: NotificationRepository,
    sub: SubState,
    kind: str,
    status: TrackingStatus,
    occurred_at: datetime,
    description: str,
    alert: Alert | None = None,
) -> None:
    """Queue a TrackingUpdate for shipping (built as its JSON form directly: hundreds per batch; the
    tests check it parses as a TrackingUpdate)."""
    event_id = uuid.uuid4()
    payload = {
        "event_id": str(event_id),
        "kind": kind,
        "order_id": sub.order_id,
        "carrier": sub.carrier,
        "number": sub.number,
        "status": status.value,
        "occurred_at": occurred_at.isoformat(),
        "description": description[:500],
        "alert": None if alert is None else _alert_payload(alert),
    }
    notes.add(sub.shop_id, sub.id, event_id, kind, payload)


@dataclass(frozen=True)
class IngestGauges:
    queue_depth: int
    oldest_waiting: datetime | None
    alerts_open: dict[str, int]


async def ingest_gauges(uow: UnitOfWork) -> IngestGauges:
    """What the queue-depth, lag and open-alert gauges show."""
    pushes = PushRepository(uow.session)
    return IngestGauges(
        await pushes.unprocessed(),
        await pushes.oldest_unprocessed_at(),
        await AlertRepository(uow.session).open_counts(),
    )


# -- time-based alerts ----------------------------------------------------------------------------------


async def scan_time_alerts(uow: UnitOfWork, now: datetime, defaults: AlertDefaults, limit: int = 1000) -> int:
    """Open not_collected, no_update and late alerts whose threshold has passed at ``now``."""
    alerts = AlertRepository(uow.session)
    subs_repo = SubscriptionRepository(uow.session)
    notes = NotificationRepository(uow.session)
    opened = 0
    for kind in (AlertKind.NOT_COLLECTED, AlertKind.NO_UPDATE, AlertKind.LATE):
        rows = await alerts.time_candidates(kind, now, defaults.params(), limit)
        if not rows:
            continue
        subs = await subs_repo.lock_states([r[0] for r in rows])
        for sid, amount in rows:
            sub = subs.get(sid)
            if sub is None or sub.provider_state not in ACTIVE_PROVIDER_STATES:
                continue
            if kind == AlertKind.NOT_COLLECTED:
                if sub.progress >= COLLECTED_RANK:
                    continue  # collected since the scan looked
                message = f"not collected {amount:g} h after shipment"
            elif kind == AlertKind.NO_UPDATE:
                if sub.last_event_at is None or (now - sub.last_event_at).total_seconds() < amount * 3600:
                    continue
                message = f"no update for {amount:g} h (last event {sub.last_event_at.isoformat()})"
            else:
                if S(sub.status) in DONE:
                    continue
                message = f"not delivered within the {amount:g}-day transit time"
            if await _open_alert(alerts, notes, sub, kind, message, now) is not None:
                opened += 1
    await notes.flush()
    await uow.session.flush()
    return opened


# -- reading ----------------------------------------------------------------------------------------------


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


def _event_out(ev: TrackingEvent) -> EventOut:
    return EventOut(
        occurred_at=ev.occurred_at,
        status=S(ev.status),
        description=ev.context,
        area_code=ev.area_code,
        area_name=ev.area_name,
        provider_code=ev.provider_code,
    )


async def _views(uow: UnitOfWork, subs: Sequence[Subscription]) -> list[TrackingOut]:
    ids = [s.id for s in subs]
    events: dict[int, list[EventOut]] = defaultdict(list)
    for ev in await EventRepository(uow.session).timeline(ids):
        events[ev.subscription_id].append(_event_out(ev))
    alerts: dict[int, list[AlertOut]] = defaultdict(list)
    for alert in await AlertRepository(uow.session).for_subscriptions(ids):
        alerts[alert.subscription_id].append(alert_out(alert))
    return [
        TrackingOut(
            carrier=CarrierCode(s.carrier),
            number=s.number,
            order_id=s.order_id,
            status=S(s.status),
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
            events=events[s.id],
            alerts=alerts[s.id],
        )
        for s in subs
    ]


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


# -- alerts API -------------------------------------------------------------------------------------------


async def list_alerts(uow: UnitOfWork, shop_id: str, f: AlertFilter) -> list[AlertOut]:
    return [alert_out(a) for a in await AlertRepository(uow.session).search(shop_id, f)]


async def acknowledge_alert(uow: UnitOfWork, shop_id: str, alert_id: int, now: datetime) -> AlertOut:
    alert = await AlertRepository(uow.session).get(shop_id, alert_id, lock=True)
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


# -- polling ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollTarget:
    id: int
    carrier: CarrierCode
    number: str


async def claim_quiet(uow: UnitOfWork, now: datetime, quiet_hours: float, limit: int) -> list[PollTarget]:
    subs = await SubscriptionRepository(uow.session).claim_quiet(now - timedelta(hours=quiet_hours), now, limit)
    return [PollTarget(s.id, CarrierCode(s.carrier), s.number) for s in subs]


async def record_poll(uow: UnitOfWork, target: PollTarget, result: QueryResult) -> str:
    """A found result is stored like a push (processed by the same batch path); the rest is noted."""
    if result.outcome == QueryOutcome.FOUND and result.body is not None:
        await PushRepository(uow.session).add(target.id, query_as_param(result.body), "poll")
        return "stored"
    if result.outcome == QueryOutcome.REJECTED:
        log.warning("poll_rejected", subscription_id=target.id, code=result.code, message=result.message)
    return result.outcome.value


# -- clock ------------------------------------------------------------------------------------------------


async def get_clock(uow: UnitOfWork) -> ClockSetting | None:
    return await ClockRepository(uow.session).get()


async def set_clock(uow: UnitOfWork, setting: ClockSetting | None) -> None:
    await ClockRepository(uow.session).set(setting)


async def release_poll(uow: UnitOfWork, subscription_ids: Sequence[int]) -> None:
    """Not polled after all (rate limited, provider busy): eligible again at once."""
    await SubscriptionRepository(uow.session).clear_polled(subscription_ids)
