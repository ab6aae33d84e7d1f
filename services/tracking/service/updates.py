"""The TrackingUpdates owed to shipping: queued in the transaction that decided them, leased for sending, and
the outcome of each round recorded."""

from __future__ import annotations

from datetime import datetime

from runtime.db import UnitOfWork
from services.tracking.domain.states import UpdateKind
from services.tracking.domain.updates import AlertNote, DueNotification, Parcel, RoundOutcome, new_update
from services.tracking.models import Alert
from services.tracking.repository.notifications import NotificationRepository
from shared.tracking import TrackingStatus

# A worker that dies mid-send leaves its leased updates to another after this long.
LEASE_S = 60.0


def queue_update(
    notes: NotificationRepository,
    parcel: Parcel,
    kind: UpdateKind,
    status: TrackingStatus,
    occurred_at: datetime,
    description: str,
    alert: Alert | None = None,
) -> None:
    note = None if alert is None else AlertNote(alert.id, alert.kind, alert.state, alert.opened_at, alert.message)
    notes.add(new_update(parcel, kind, status, occurred_at, description, note))


async def claim_due(uow: UnitOfWork, limit: int) -> list[DueNotification]:
    """Up to ``limit`` due updates, leased, in the order they were recorded."""
    return await NotificationRepository(uow.session).claim_due(limit, LEASE_S)


async def record_round(uow: UnitOfWork, outcome: RoundOutcome) -> None:
    repo = NotificationRepository(uow.session)
    await repo.mark_sent(outcome.sent)
    for refused in outcome.refused:
        await repo.mark_sent([refused.notification_id], f"refused: {refused.error}"[:500])
    for later in outcome.later:
        await repo.retry_later(later.notification_id, later.delay_s, later.error[:500])
