"""Tracking updates received, by event id (a redelivery is a no-op)."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.shipping.models import TrackingUpdateRecord


class TrackingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, event_id: uuid.UUID, order_id: str, status: str) -> bool:
        stmt = (
            pg_insert(TrackingUpdateRecord)
            .values(event_id=event_id, order_id=order_id, status=status, applied=False)
            .on_conflict_do_nothing(index_elements=[TrackingUpdateRecord.event_id])
            .returning(TrackingUpdateRecord.event_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def set_applied(self, event_id: uuid.UUID, applied: bool) -> None:
        await self.session.execute(
            update(TrackingUpdateRecord).where(TrackingUpdateRecord.event_id == event_id).values(applied=applied)
        )
