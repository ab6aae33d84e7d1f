"""Every query tracking runs. The webhook's hot statement runs on raw asyncpg (one round trip per push);
the rest goes through the unit of work's session."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import asyncpg
import orjson
from sqlalchemy import ARRAY, BigInteger, any_, bindparam, delete, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.clock import ClockSetting
from services.tracking.models import (
    Alert,
    AlertSetting,
    ClockOverride,
    Notification,
    RawPush,
    Subscription,
    TrackingEvent,
)
from shared.tracking import AlertKind, AlertState


def _ids(ids: Iterable[int]) -> Any:
    """An id list as one array parameter (``= ANY``): an expanding ``IN`` renders and binds every id."""
    return bindparam(None, list(ids), type_=ARRAY(BigInteger))


# -- the webhook's hot path (raw asyncpg) ---------------------------------------------------------------

# Verify and store in one statement: a row is written only when MD5(param + salt) of a subscription with
# the push's number equals the sign (compared uppercase: the provider sends uppercase hex), and only once per
# parcel and body (a repeat of a push already kept is skipped by ON CONFLICT, and still acknowledged). Every
# push gets a row back: accepted, and whether its number is followed at all (for the metrics and the log
# only; the provider gets the same answer either way), so a refusal costs no second query.
STORE_PUSHES = """
WITH p AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS p(number, param, sign, ord)
), ok AS (
    SELECT p.ord, s.id AS sid, p.param FROM p
    CROSS JOIN LATERAL (
        SELECT s.id FROM tracking.subscriptions s
        WHERE s.number = p.number AND upper(md5(p.param || s.salt)) = p.sign
        LIMIT 1
    ) s
), stored AS (
    INSERT INTO tracking.raw_pushes (subscription_id, source, param, body_hash)
    SELECT sid, 'push', param, md5(param)::uuid FROM ok ORDER BY ord
    ON CONFLICT (subscription_id, body_hash) DO NOTHING
)
SELECT p.ord, ok.sid IS NOT NULL AS accepted,
       ok.sid IS NOT NULL OR EXISTS (SELECT 1 FROM tracking.subscriptions k WHERE k.number = p.number) AS known
FROM p LEFT JOIN ok ON ok.ord = p.ord
"""


class PushOutcome(StrEnum):
    STORED = "stored"  # acknowledged: kept, or identical to a push already kept for the parcel
    BAD_SIGNATURE = "bad_signature"  # the number is followed, but no subscription's salt matches the sign
    UNKNOWN_NUMBER = "unknown_number"  # no subscription has the number (so no salt can match either)


class WebhookStatements:
    """Verify-and-store for the webhook. Pushes that arrive while earlier ones are being written are written
    together, in one statement and one commit (at most ``inflight`` statements at a time): the
    acknowledgement rate is then not bounded by one WAL flush per push. Each caller still gets its answer
    only after the commit that stored its push."""

    def __init__(self, pool: asyncpg.Pool, max_batch: int = 256, inflight: int = 4) -> None:
        self.pool = pool
        self._max_batch = max_batch
        self._max_inflight = inflight
        self._inflight = 0
        self._waiting: list[tuple[str, str, str, asyncio.Future[PushOutcome]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def store_push(self, number: str, param: str, sign: str) -> bool:
        """True when stored (or already kept); False when no subscription with this number has a salt matching
        the sign."""
        return await self.store(number, param, sign) is PushOutcome.STORED

    async def store(self, number: str, param: str, sign: str) -> PushOutcome:
        future: asyncio.Future[PushOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((number, param, sign.strip().upper(), future))
        if self._inflight < self._max_inflight:
            self._inflight += 1
            task = asyncio.create_task(self._run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    rows = await self.pool.fetch(
                        STORE_PUSHES, [b[0] for b in batch], [b[1] for b in batch], [b[2] for b in batch]
                    )
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                outcomes = {int(r[0]): _outcome(r[1], r[2]) for r in rows}
                for i, (*_, future) in enumerate(batch, start=1):
                    if not future.done():
                        future.set_result(outcomes.get(i, PushOutcome.UNKNOWN_NUMBER))
        finally:
            self._inflight -= 1


def _outcome(accepted: bool, known: bool) -> PushOutcome:
    if accepted:
        return PushOutcome.STORED
    return PushOutcome.BAD_SIGNATURE if known else PushOutcome.UNKNOWN_NUMBER


# -- subscriptions --------------------------------------------------------------------------------------


@dataclass
class SubState:
    """The part of a subscription the batch processor reads and writes."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "shop_id",
        "order_id",
        "carrier",
        "number",
        "status",
        "progress",
        "status_at",
        "last_event_at",
        "last_heard_at",
        "provider_state",
        "ended_at",
    )

    id: int
    shop_id: str
    order_id: str
    carrier: str
    number: str
    status: str
    progress: int
    status_at: datetime | None
    last_event_at: datetime | None
    last_heard_at: datetime | None
    provider_state: str
    ended_at: datetime | None


SAVE_STATES = text(
    """
UPDATE tracking.subscriptions s
SET status = u.status, progress = u.progress, status_at = u.status_at, last_event_at = u.last_event_at,
    last_heard_at = u.last_heard_at, provider_state = u.provider_state, ended_at = u.ended_at, updated_at = now()
FROM unnest(CAST(:id AS bigint[]), CAST(:status AS text[]), CAST(:progress AS smallint[]),
            CAST(:status_at AS timestamptz[]), CAST(:last_event_at AS timestamptz[]),
            CAST(:last_heard_at AS timestamptz[]), CAST(:provider_state AS text[]), CAST(:ended_at AS timestamptz[]))
     AS u(id, status, progress, status_at, last_event_at, last_heard_at, provider_state, ended_at)
WHERE s.id = u.id
"""
)


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, values: dict[str, Any]) -> Subscription | None:
        """The new subscription, or None when (carrier, number) is already subscribed."""
        stmt = (
            insert(Subscription)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["carrier", "number"])
            .returning(Subscription)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[Subscription]:
        """The subscriptions that are new; rows whose (carrier, number) is already followed are left out."""
        stmt = (
            insert(Subscription)
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=["carrier", "number"])
            .returning(Subscription)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def by_carrier_numbers(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Subscription]:
        if not keys:
            return {}
        stmt = select(Subscription).where(
            tuple_(Subscription.carrier, Subscription.number).in_([tuple(k) for k in keys])
        )
        return {(s.carrier, s.number): s for s in (await self.session.execute(stmt)).scalars().all()}

    async def get_many(self, ids: Sequence[int], *, lock: bool = False) -> list[Subscription]:
        """In id order (two transactions locking overlapping sets never deadlock)."""
        stmt = select(Subscription).where(Subscription.id == any_(_ids(ids))).order_by(Subscription.id)
        if lock:
            stmt = stmt.with_for_update(key_share=True)
        return list((await self.session.execute(stmt)).scalars().all())

    async def by_carrier_number(self, carrier: str, number: str) -> Subscription | None:
        stmt = select(Subscription).where(Subscription.carrier == carrier, Subscription.number == number)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, subscription_id: int, *, lock: bool = False) -> Subscription | None:
        stmt = select(Subscription).where(Subscription.id == subscription_id)
        if lock:
            stmt = stmt.with_for_update(key_share=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_states(self, ids: Sequence[int]) -> dict[int, SubState]:
        """The parcels' tracking state, locked for this transaction (plain rows, not ORM objects: the batch
        path handles hundreds at a time). In id order, so two workers locking overlapping sets never
        deadlock; NO KEY UPDATE, so the webhook's inserts of new pushes (a foreign-key share lock on the
        subscription) never wait for a batch."""
        t = Subscription.__table__
        stmt = (
            select(*(t.c[name] for name in SubState.COLUMNS))
            .where(t.c.id == any_(_ids(ids)))
            .order_by(t.c.id)
            .with_for_update(key_share=True)
        )
        return {row[0]: SubState(*row) for row in (await self.session.execute(stmt)).all()}

    async def save_states(self, states: Sequence[SubState]) -> None:
        """Write back the changed parcels in one statement."""
        if not states:
            return
        await self.session.execute(
            SAVE_STATES,
            {
                "id": [x.id for x in states],
                "status": [x.status for x in states],
                "progress": [x.progress for x in states],
                "status_at": [x.status_at for x in states],
                "last_event_at": [x.last_event_at for x in states],
                "last_heard_at": [x.last_heard_at for x in states],
                "provider_state": [x.provider_state for x in states],
                "ended_at": [x.ended_at for x in states],
            },
        )

    async def for_shop_number(self, shop_id: str, number: str, carrier: str | None) -> list[Subscription]:
        stmt = select(Subscription).where(Subscription.shop_id == shop_id, Subscription.number == number)
        if carrier is not None:
            stmt = stmt.where(Subscription.carrier == carrier)
        return list((await self.session.execute(stmt.order_by(Subscription.id))).scalars())

    async def for_shop_order(self, shop_id: str, order_id: str) -> list[Subscription]:
        stmt = (
            select(Subscription)
            .where(Subscription.shop_id == shop_id, Subscription.order_id == order_id)
            .order_by(Subscription.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def stuck_pending(self, created_before: datetime, limit: int) -> list[int]:
        stmt = (
            select(Subscription.id)
            .where(Subscription.provider_state == "pending", Subscription.created_at < created_before)
            .order_by(Subscription.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def claim_quiet(self, quiet_since: datetime, now: datetime, limit: int) -> list[Subscription]:
        """Active subscriptions heard of (and polled) longer ago than ``quiet_since``, longest quiet first;
        marked as polled now so another worker does not take them too."""
        heard = func.coalesce(Subscription.last_heard_at, Subscription.subscribed_at)
        stmt = (
            select(Subscription)
            .where(
                Subscription.provider_state == "subscribed",
                heard < quiet_since,
                or_(Subscription.last_polled_at.is_(None), Subscription.last_polled_at < quiet_since),
            )
            .order_by(func.greatest(heard, func.coalesce(Subscription.last_polled_at, heard)))
            .limit(limit)
            .with_for_update(skip_locked=True, key_share=True)
        )
        subs = list((await self.session.execute(stmt)).scalars())
        for sub in subs:
            sub.last_polled_at = now
        await self.session.flush()
        return subs

    async def clear_polled(self, ids: Sequence[int]) -> None:
        if ids:
            await self.session.execute(
                update(Subscription).where(Subscription.id.in_(ids)).values(last_polled_at=None),
                execution_options={"synchronize_session": False},
            )


# -- raw pushes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedPush:
    id: int
    subscription_id: int
    source: str
    param: str
    received_at: datetime


class PushRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, subscription_id: int, param: str, source: str) -> int:
        push = RawPush(subscription_id=subscription_id, param=param, source=source)
        self.session.add(push)
        await self.session.flush()
        return push.id

    async def claim(self, limit: int) -> list[ClaimedPush]:
        """Unprocessed pushes, oldest first, locked for this transaction; rows another worker holds are
        skipped. If this transaction never commits (the worker died), the rows are free again."""
        stmt = (
            select(RawPush.id, RawPush.subscription_id, RawPush.source, RawPush.param, RawPush.received_at)
            .where(RawPush.processed_at.is_(None))
            .order_by(RawPush.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [ClaimedPush(*row) for row in (await self.session.execute(stmt)).all()]

    async def mark_processed(self, ids: Sequence[int], errors: dict[int, str]) -> None:
        await self.session.execute(
            update(RawPush).where(RawPush.id == any_(_ids(ids))).values(processed_at=func.now()),
            execution_options={"synchronize_session": False},
        )
        for push_id, error in errors.items():
            await self.session.execute(
                update(RawPush).where(RawPush.id == push_id).values(error=error),
                execution_options={"synchronize_session": False},
            )

    async def unprocessed(self) -> int:
        stmt = select(func.count()).select_from(RawPush).where(RawPush.processed_at.is_(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def oldest_unprocessed_at(self) -> datetime | None:
        stmt = select(func.min(RawPush.received_at)).where(RawPush.processed_at.is_(None))
        found: datetime | None = (await self.session.execute(stmt)).scalar_one()
        return found


# -- events ---------------------------------------------------------------------------------------------

INSERT_EVENTS = text(
    """
INSERT INTO tracking.events
    (subscription_id, fingerprint, occurred_at, status, provider_code, context, area_code, area_name)
SELECT * FROM unnest(
    CAST(:sub AS bigint[]), CAST(:fp AS bigint[]), CAST(:at AS timestamptz[]), CAST(:status AS text[]),
    CAST(:code AS text[]), CAST(:context AS text[]), CAST(:area_code AS text[]), CAST(:area_name AS text[]))
ON CONFLICT (subscription_id, fingerprint) DO NOTHING
RETURNING subscription_id, occurred_at, status, context
"""
)


@dataclass(frozen=True)
class EventRow:
    subscription_id: int
    fingerprint: int
    occurred_at: datetime
    status: str
    provider_code: str | None
    context: str
    area_code: str | None
    area_name: str | None


@dataclass(frozen=True)
class NewEvent:
    subscription_id: int
    occurred_at: datetime
    status: str
    context: str


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_new(self, rows: Sequence[EventRow]) -> list[NewEvent]:
        """Store the events not stored yet (by fingerprint); returns only those."""
        if not rows:
            return []
        params = {
            "sub": [r.subscription_id for r in rows],
            "fp": [r.fingerprint for r in rows],
            "at": [r.occurred_at for r in rows],
            "status": [r.status for r in rows],
            "code": [r.provider_code for r in rows],
            "context": [r.context for r in rows],
            "area_code": [r.area_code for r in rows],
            "area_name": [r.area_name for r in rows],
        }
        result = await self.session.execute(INSERT_EVENTS, params)
        return [NewEvent(*row) for row in result.all()]

    async def timeline(self, subscription_ids: Sequence[int]) -> list[TrackingEvent]:
        stmt = (
            select(TrackingEvent)
            .where(TrackingEvent.subscription_id.in_(subscription_ids))
            .order_by(TrackingEvent.subscription_id, TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
        )
        return list((await self.session.execute(stmt)).scalars())


# -- alerts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFilter:
    state: AlertState | None = None
    kind: AlertKind | None = None
    carrier: str | None = None
    number: str | None = None
    before_id: int | None = None
    limit: int = 100


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_for(self, subscription_ids: Iterable[int]) -> list[Alert]:
        stmt = (
            select(Alert)
            .where(Alert.subscription_id == any_(_ids(subscription_ids)), Alert.state != AlertState.RESOLVED)
            .with_for_update()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def open_counts(self) -> dict[str, int]:
        """Open alerts (neither acknowledged nor resolved) by kind, across shops."""
        stmt = select(Alert.kind, func.count()).where(Alert.state == AlertState.OPEN.value).group_by(Alert.kind)
        return {str(kind): int(n) for kind, n in (await self.session.execute(stmt)).all()}

    async def for_subscriptions(self, subscription_ids: Sequence[int]) -> list[Alert]:
        stmt = select(Alert).where(Alert.subscription_id.in_(subscription_ids)).order_by(Alert.id.desc())
        return list((await self.session.execute(stmt)).scalars())

    async def open(self, values: dict[str, Any]) -> Alert | None:
        """A new open alert, or None when one of that kind is already unresolved for the parcel."""
        stmt = (
            insert(Alert)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["subscription_id", "kind"], index_where=text("state <> 'resolved'"))
            .returning(Alert)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, shop_id: str, alert_id: int, *, lock: bool = False) -> Alert | None:
        stmt = select(Alert).where(Alert.id == alert_id, Alert.shop_id == shop_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def search(self, shop_id: str, f: AlertFilter) -> list[Alert]:
        stmt = select(Alert).where(Alert.shop_id == shop_id)
        if f.state is not None:
            stmt = stmt.where(Alert.state == f.state.value)
        if f.kind is not None:
            stmt = stmt.where(Alert.kind == f.kind.value)
        if f.carrier is not None:
            stmt = stmt.where(Alert.carrier == f.carrier)
        if f.number is not None:
            stmt = stmt.where(Alert.number == f.number)
        if f.before_id is not None:
            stmt = stmt.where(Alert.id < f.before_id)
        stmt = stmt.order_by(Alert.id.desc()).limit(f.limit)
        return list((await self.session.execute(stmt)).scalars())

    async def time_candidates(
        self, kind: AlertKind, now: datetime, defaults: dict[str, float], limit: int
    ) -> list[Any]:
        """Subscriptions past a time threshold for ``kind`` (thresholds per shop and carrier, then the
        shop's ``*`` row, then the service defaults) that have no alert of that kind for this situation."""
        sql = _TIME_SQL[kind]
        result = await self.session.execute(text(sql), {"now": now, "limit": limit, **defaults})
        return list(result.all())


_THRESHOLDS = """
FROM tracking.subscriptions s
LEFT JOIN tracking.alert_settings a ON a.shop_id = s.shop_id AND a.carrier = s.carrier
LEFT JOIN tracking.alert_settings d ON d.shop_id = s.shop_id AND d.carrier = '*'
"""
_ACTIVE = "s.provider_state IN ('pending', 'subscribed')"
_TIME_SQL: dict[AlertKind, str] = {
    AlertKind.NOT_COLLECTED: f"""
SELECT s.id, COALESCE(a.not_collected_hours, d.not_collected_hours, :not_collected_hours) AS hours
{_THRESHOLDS}
WHERE {_ACTIVE} AND s.progress < 20 AND s.status NOT IN ('expired')
  AND s.shipped_at < CAST(:now AS timestamptz)
      - COALESCE(a.not_collected_hours, d.not_collected_hours, :not_collected_hours) * interval '1 hour'
  AND NOT EXISTS (SELECT 1 FROM tracking.alerts al WHERE al.subscription_id = s.id AND al.kind = 'not_collected')
ORDER BY s.id LIMIT :limit
""",
    AlertKind.NO_UPDATE: f"""
SELECT s.id, COALESCE(a.no_update_hours, d.no_update_hours, :no_update_hours) AS hours
{_THRESHOLDS}
WHERE {_ACTIVE} AND s.progress >= 20 AND s.status NOT IN ('delivered', 'returned', 'expired')
  AND s.last_event_at < CAST(:now AS timestamptz)
      - COALESCE(a.no_update_hours, d.no_update_hours, :no_update_hours) * interval '1 hour'
  AND NOT EXISTS (SELECT 1 FROM tracking.alerts al
                  WHERE al.subscription_id = s.id AND al.kind = 'no_update'
                    AND (al.state <> 'resolved' OR al.resolved_at > CAST(:now AS timestamptz)
                         - COALESCE(a.no_update_hours, d.no_update_hours, :no_update_hours) * interval '1 hour'))
ORDER BY s.id LIMIT :limit
""",
    AlertKind.LATE: f"""
SELECT s.id, COALESCE(s.promised_days, a.transit_days, d.transit_days, :transit_days) AS days
{_THRESHOLDS}
WHERE {_ACTIVE} AND s.progress >= 20
  AND s.status NOT IN ('delivered', 'returned', 'expired', 'refused', 'returning')
  AND s.shipped_at < CAST(:now AS timestamptz)
      - COALESCE(s.promised_days, a.transit_days, d.transit_days, :transit_days) * interval '1 day'
      - COALESCE(a.late_grace_hours, d.late_grace_hours, :late_grace_hours) * interval '1 hour'
  AND NOT EXISTS (SELECT 1 FROM tracking.alerts al WHERE al.subscription_id = s.id AND al.kind = 'late')
ORDER BY s.id LIMIT :limit
""",
}


class AlertSettingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, shop_id: str, carrier: str, values: dict[str, Any]) -> AlertSetting:
        stmt = (
            insert(AlertSetting)
            .values(shop_id=shop_id, carrier=carrier, **values)
            .on_conflict_do_update(index_elements=["shop_id", "carrier"], set_={**values, "updated_at": func.now()})
            .returning(AlertSetting)
        )
        return (await self.session.execute(stmt, execution_options={"populate_existing": True})).scalar_one()

    async def for_shop(self, shop_id: str) -> list[AlertSetting]:
        stmt = select(AlertSetting).where(AlertSetting.shop_id == shop_id).order_by(AlertSetting.carrier)
        return list((await self.session.execute(stmt)).scalars())

    async def remove(self, shop_id: str, carrier: str) -> bool:
        stmt = delete(AlertSetting).where(AlertSetting.shop_id == shop_id, AlertSetting.carrier == carrier)
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]


# -- notifications to shipping --------------------------------------------------------------------------


@dataclass(frozen=True)
class DueNotification:
    id: int
    shop_id: str
    subscription_id: int
    payload: dict[str, Any]
    attempts: int


CLAIM_NOTIFICATIONS = text(
    """
UPDATE tracking.notifications n
SET next_attempt_at = now() + CAST(:lease_s AS double precision) * interval '1 second', attempts = n.attempts + 1
WHERE n.id IN (
    SELECT id FROM tracking.notifications
    WHERE sent_at IS NULL AND next_attempt_at <= now()
    ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
RETURNING n.id, n.shop_id, n.subscription_id, n.payload, n.attempts
"""
)


# One statement for a batch's notifications, in the order they were added (ids follow it: a parcel's updates
# are sent in id order).
INSERT_NOTIFICATIONS = text(
    """
INSERT INTO tracking.notifications (shop_id, subscription_id, event_id, kind, payload)
SELECT shop, sub, event, kind, CAST(payload AS jsonb) FROM unnest(
    CAST(:shop AS text[]), CAST(:sub AS bigint[]), CAST(:event AS uuid[]), CAST(:kind AS text[]),
    CAST(:payload AS text[])) WITH ORDINALITY AS n(shop, sub, event, kind, payload, ord)
ORDER BY ord
"""
)


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._pending: list[dict[str, Any]] = []

    def add(self, shop_id: str, subscription_id: int, event_id: uuid.UUID, kind: str, payload: dict[str, Any]) -> None:
        """Buffered; written by :meth:`flush` in one statement."""
        self._pending.append(
            {
                "shop_id": shop_id,
                "subscription_id": subscription_id,
                "event_id": event_id,
                "kind": kind,
                "payload": payload,
            }
        )

    async def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            await self.session.execute(
                INSERT_NOTIFICATIONS,
                {
                    "shop": [r["shop_id"] for r in rows],
                    "sub": [r["subscription_id"] for r in rows],
                    "event": [r["event_id"] for r in rows],
                    "kind": [r["kind"] for r in rows],
                    "payload": [orjson.dumps(r["payload"]).decode() for r in rows],
                },
            )

    async def claim_due(self, limit: int, lease_s: float) -> list[DueNotification]:
        """Due notifications, leased: a worker that dies mid-send leaves them to be sent again after the lease."""
        result = await self.session.execute(CLAIM_NOTIFICATIONS, {"limit": limit, "lease_s": lease_s})
        return sorted((DueNotification(*row) for row in result.all()), key=lambda n: n.id)

    async def mark_sent(self, ids: Sequence[int], note: str | None = None) -> None:
        if ids:
            await self.session.execute(
                update(Notification).where(Notification.id.in_(ids)).values(sent_at=func.now(), last_error=note),
                execution_options={"synchronize_session": False},
            )

    async def retry_later(self, notification_id: int, delay_s: float, error: str) -> None:
        await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.sent_at.is_(None))
            .values(next_attempt_at=func.now() + text(f"interval '{float(delay_s):.3f} seconds'"), last_error=error),
            execution_options={"synchronize_session": False},
        )

    async def pending(self) -> int:
        stmt = select(func.count()).select_from(Notification).where(Notification.sent_at.is_(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def for_subscription(self, subscription_id: int) -> list[Notification]:
        stmt = select(Notification).where(Notification.subscription_id == subscription_id).order_by(Notification.id)
        return list((await self.session.execute(stmt)).scalars())


# -- the stored clock -----------------------------------------------------------------------------------


class ClockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self) -> ClockSetting | None:
        row = (await self.session.execute(select(ClockOverride).where(ClockOverride.id == 1))).scalar_one_or_none()
        return None if row is None else ClockSetting(row.anchor_real, row.anchor_sim, row.factor)

    async def set(self, setting: ClockSetting | None) -> None:
        await self.session.execute(delete(ClockOverride))
        if setting is not None:
            self.session.add(
                ClockOverride(
                    id=1, anchor_real=setting.anchor_real, anchor_sim=setting.anchor_sim, factor=setting.factor
                )
            )
        await self.session.flush()
