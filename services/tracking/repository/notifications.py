"""TrackingUpdates owed to shipping: written in the batch's transaction, sent by the workers with retries."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.domain.updates import DueNotification, NewUpdate
from services.tracking.models import Notification

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
        self._pending: list[NewUpdate] = []

    def add(self, update: NewUpdate) -> None:
        """Buffered; written by :meth:`flush` in one statement."""
        self._pending.append(update)

    async def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            await self.session.execute(
                INSERT_NOTIFICATIONS,
                {
                    "shop": [r.parcel.shop_id for r in rows],
                    "sub": [r.parcel.subscription_id for r in rows],
                    "event": [r.event_id for r in rows],
                    "kind": [r.kind.value for r in rows],
                    "payload": [orjson.dumps(r.payload).decode() for r in rows],
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
