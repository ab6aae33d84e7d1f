"""A parcel's timeline: each event once, however many pushes repeat it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.domain.parcel import NewEvent
from services.tracking.models import TrackingEvent
from shared.tracking import TrackingStatus

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
    status: TrackingStatus
    provider_code: str | None
    context: str
    area_code: str | None
    area_name: str | None


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
            "status": [r.status.value for r in rows],
            "code": [r.provider_code for r in rows],
            "context": [r.context for r in rows],
            "area_code": [r.area_code for r in rows],
            "area_name": [r.area_name for r in rows],
        }
        result = await self.session.execute(INSERT_EVENTS, params)
        return [NewEvent(sid, at, TrackingStatus(status), context) for sid, at, status, context in result.all()]

    async def timeline(self, subscription_ids: Sequence[int]) -> list[TrackingEvent]:
        stmt = (
            select(TrackingEvent)
            .where(TrackingEvent.subscription_id.in_(subscription_ids))
            .order_by(TrackingEvent.subscription_id, TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
        )
        return list((await self.session.execute(stmt)).scalars())
