"""When and where a number was used (a0005's ``shipped_at``, ``store_id``, ``channel``), written as shipping marks
it shipped: what spend reports count a number's use by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# One statement for a whole batch mark. ``first``: the mark moves the number to shipped now, the one moment
# shipped_at is set (a repeat, or a number shipped before a0005, keeps what it has: never a later day). Store
# and channel are the first ones said: a repeat of a mark that did not say them fills them in, never changes.
_RECORD = text(
    """
    UPDATE allocation.waybills w
    SET shipped_at = CASE WHEN u.first THEN coalesce(w.shipped_at, now()) ELSE w.shipped_at END,
        store_id = coalesce(w.store_id, u.store_id),
        channel = coalesce(w.channel, u.channel)
    FROM unnest(CAST(:ids AS bigint[]), CAST(:firsts AS boolean[]), CAST(:stores AS text[]),
                CAST(:channels AS text[])) AS u(id, first, store_id, channel)
    WHERE w.id = u.id
    """
)


@dataclass(frozen=True)
class Use:
    waybill_id: int
    first: bool  # moved to shipped by this mark (not a repeat)
    store_id: str | None
    channel: str | None

    @property
    def says_anything(self) -> bool:
        return self.first or self.store_id is not None or self.channel is not None


class WaybillUseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_shipped(self, uses: Sequence[Use]) -> None:
        todo = [u for u in uses if u.says_anything]
        if not todo:
            return
        await self.session.execute(
            _RECORD,
            {
                "ids": [u.waybill_id for u in todo],
                "firsts": [u.first for u in todo],
                "stores": [u.store_id for u in todo],
                "channels": [u.channel for u in todo],
            },
        )
