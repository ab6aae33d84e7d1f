"""Push ingestion: the webhook's verify-and-store, and the batch processing of stored pushes (events, status,
alerts, updates for shipping), all of a batch in the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from runtime.db import UnitOfWork
from runtime.logging import get_logger
from services.tracking import metrics
from services.tracking.domain.alerts import alerts_to_open, alerts_to_resolve
from services.tracking.domain.parcel import NewEvent, PushSignals, advance_parcel
from services.tracking.domain.states import PushOutcome, UpdateKind
from services.tracking.kuaidi100.protocol import ParsedPush, PushError, parse_push, push_number
from services.tracking.models import Alert
from services.tracking.normalise import from_kuaidi100_code
from services.tracking.repository.alerts import AlertRepository
from services.tracking.repository.events import EventRepository, EventRow
from services.tracking.repository.notifications import NotificationRepository
from services.tracking.repository.pushes import ClaimedPush, PushRepository
from services.tracking.repository.subscriptions import SubscriptionRepository, SubState
from services.tracking.repository.webhook import WebhookStatements
from services.tracking.service.alerts import open_alert, resolve_alert
from services.tracking.service.updates import queue_update
from services.tracking.wake import Waker
from shared.tracking import AlertKind, TrackingStatus

log = get_logger(__name__)

_REFUSED_COUNTERS = {
    PushOutcome.BAD_SIGNATURE: metrics.INGEST_BAD_SIGNATURE,
    PushOutcome.UNKNOWN_NUMBER: metrics.INGEST_UNKNOWN_NUMBER,
}


async def take_push(webhook: WebhookStatements, waker: Waker, param: str, sign: str) -> PushOutcome:
    """Verify and store one push (committed when this returns STORED: safe to acknowledge), counted and
    logged by outcome; the workers' hint goes out in the background."""
    found = push_number(param)
    if found is None:
        metrics.INGEST_UNREADABLE.inc()
        log.warning("push_refused", reason="unreadable param")
        return PushOutcome.UNREADABLE
    if "\x00" in found.number or "\x00" in sign:
        # PostgreSQL text cannot hold a NUL: sent on, it would fail the statement of every push stored with
        # this one. No followed number and no MD5 sign has one, so it is refused as any unverified push is.
        outcome = PushOutcome.UNKNOWN_NUMBER if "\x00" in found.number else PushOutcome.BAD_SIGNATURE
        _REFUSED_COUNTERS[outcome].inc()
        log.warning("push_refused", reason=outcome.value, com=found.com)
        return outcome
    outcome = await webhook.store(found.number, param, sign)
    if outcome is not PushOutcome.STORED:
        _REFUSED_COUNTERS[outcome].inc()
        log.warning("push_refused", reason=outcome.value, com=found.com, number=found.number)
        return outcome
    metrics.INGEST_STORED.inc()
    waker.poke()
    return outcome


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
                status = ev.status or (fallback if i == last else None) or TrackingStatus.IN_TRANSIT
                rows.append(
                    EventRow(
                        sid, ev.fingerprint, ev.occurred_at, status, ev.code, ev.context, ev.area_code, ev.area_name
                    )
                )
    return rows


def _parse(claimed: Sequence[ClaimedPush]) -> tuple[dict[int, list[ParsedPush]], dict[int, str]]:
    """The readable pushes by subscription, and why each unreadable one (by push id) is not."""
    parsed: dict[int, list[ParsedPush]] = defaultdict(list)
    errors: dict[int, str] = {}
    for push in claimed:
        try:
            parsed[push.subscription_id].append(parse_push(push.param))
        except PushError as exc:
            errors[push.id] = str(exc)
            log.warning("push_unreadable", push_id=push.id, subscription_id=push.subscription_id, error=str(exc))
    return parsed, errors


def _signals(pushes: Sequence[ParsedPush]) -> PushSignals:
    aborted = next((p.message for p in pushes if p.aborted), None)
    return PushSignals(aborted, any(p.journey_over for p in pushes))


@dataclass
class _Batch:
    """One batch's repositories and tally."""

    alerts: AlertRepository
    notes: NotificationRepository
    result: BatchResult
    now: datetime


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
    parsed, errors = _parse(claimed)
    result.errors = len(errors)
    new_events = await EventRepository(session).insert_new(_event_rows(parsed))
    result.events = len(new_events)
    by_sub: dict[int, list[NewEvent]] = defaultdict(list)
    for ev in new_events:
        by_sub[ev.subscription_id].append(ev)
    result.duplicates = sum(len(p) for sid, p in parsed.items() if sid not in by_sub)
    batch = _Batch(AlertRepository(session), NotificationRepository(session), result, now)
    active: dict[int, dict[AlertKind, Alert]] = defaultdict(dict)
    for alert in await batch.alerts.active_for(list(subs)):
        active[alert.subscription_id][AlertKind(alert.kind)] = alert
    touched = [sub for sid, sub in subs.items() if sid in parsed]
    for sub in touched:
        await _apply(batch, sub, by_sub.get(sub.id, []), parsed[sub.id], active[sub.id])
    await subs_repo.save_states(touched)
    await batch.notes.flush()
    await pushes.record_errors(errors)
    await session.flush()
    return result


async def _apply(
    batch: _Batch, sub: SubState, new: list[NewEvent], pushes: list[ParsedPush], active: dict[AlertKind, Alert]
) -> None:
    """One parcel's pushes of the batch: its new state written, its alerts opened and resolved, shipping told."""
    after = advance_parcel(sub.state, sorted(new, key=lambda e: e.occurred_at), _signals(pushes), batch.now)
    sub.state = after.state
    if after.change is not None:
        batch.result.status_changes += 1
        change = after.change
        queue_update(
            batch.notes, sub.parcel, UpdateKind.STATUS_CHANGED, change.status, change.occurred_at, change.description
        )
    for kind, message in alerts_to_open(new, after.aborted_now, active).items():
        alert = await open_alert(batch.alerts, batch.notes, sub, kind, message, batch.now)
        if alert is not None:
            active[kind] = alert
            batch.result.alerts_opened += 1
    for kind in alerts_to_resolve(list(active), after):
        resolve_alert(active.pop(kind), sub, batch.now, batch.notes)
        batch.result.alerts_resolved += 1


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
