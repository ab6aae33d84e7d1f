"""Raw pushes: what the provider sent (or a query answered), kept until a batch has applied it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.domain.states import PushSource
from services.tracking.models import RawPush

# The ids are taken first, as one array (an InitPlan run once, through the partial index of unprocessed
# pushes), then updated through the primary key. Written ``id IN (SELECT ...)`` PostgreSQL may hash-join the
# ids against a scan of the whole table, processed pushes included: every batch then read every push ever kept
# (seen in the bench: the drain slowed as the table grew). The predicate stays literal for the partial index.
CLAIM_PUSHES = text(
    """
UPDATE tracking.raw_pushes SET processed_at = now()
WHERE id = ANY(ARRAY(
    SELECT id FROM tracking.raw_pushes WHERE processed_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED))
RETURNING id, subscription_id, source, param, received_at
"""
)


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

    async def add(self, subscription_id: int, param: str, source: PushSource) -> int:
        push = RawPush(subscription_id=subscription_id, param=param, source=source.value)
        self.session.add(push)
        await self.session.flush()
        return push.id

    async def claim(self, limit: int) -> list[ClaimedPush]:
        """Unprocessed pushes, oldest first, locked for this transaction and marked processed in the same
        statement (one statement and one rewrite of each row, where a select and an update made two); rows
        another worker holds are skipped. If this transaction never commits (the worker died), the rows are
        unprocessed and free again."""
        rows = (await self.session.execute(CLAIM_PUSHES, {"limit": limit})).all()
        return sorted((ClaimedPush(*row) for row in rows), key=lambda p: p.id)  # RETURNING keeps no order

    async def record_errors(self, errors: dict[int, str]) -> None:
        """Why each unreadable push of a claimed batch could not be read (kept with the push)."""
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
