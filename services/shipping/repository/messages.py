"""Order messages accepted, by channel and the channel's message id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, case, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.shipping.models import MarketplaceMessage


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, channel: str, message_id: str, topic: str, seller_id: str, content: dict[str, Any]) -> bool:
        """True for the first delivery of this message id (a concurrent repeat waits for it, then sees it)."""
        stmt = (
            pg_insert(MarketplaceMessage)
            .values(
                channel=channel, id=message_id, topic=topic, seller_id=seller_id, content=content, outcome="received"
            )
            .on_conflict_do_nothing(index_elements=[MarketplaceMessage.channel, MarketplaceMessage.id])
            .returning(MarketplaceMessage.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def finish(self, channel: str, message_id: str, shop_id: str | None, tid: str | None, outcome: str) -> None:
        await self.session.execute(
            update(MarketplaceMessage)
            .where(MarketplaceMessage.channel == channel, MarketplaceMessage.id == message_id)
            .values(shop_id=shop_id, tid=tid, outcome=outcome)
        )

    async def claim_many(self, channel: str, rows: Sequence[tuple[str, str, str, dict[str, Any]]]) -> set[str]:
        """``claim`` for several messages ``(id, topic, seller_id, content)`` in one multi-row INSERT (on the
        table, compiled once): the ids delivered for the first time (a concurrent repeat of one waits for its
        first delivery's transaction)."""
        if not rows:
            return set()
        table = cast(Table, MarketplaceMessage.__table__)
        stmt = (
            pg_insert(table).on_conflict_do_nothing(index_elements=[table.c.channel, table.c.id]).returning(table.c.id)
        )
        params = [
            {"channel": channel, "id": i, "topic": t, "seller_id": s, "content": c, "outcome": "received"}
            for i, t, s, c in rows
        ]
        return set((await self.session.execute(stmt, params)).scalars().all())

    async def finish_many(self, channel: str, rows: Iterable[tuple[str, str | None, str | None, str]]) -> None:
        """``finish`` for several messages ``(id, shop_id, tid, outcome)``: one UPDATE per shop and outcome
        (a group's messages mostly share both), each message's tid picked by a CASE on its id."""
        groups: dict[tuple[str | None, str], dict[str, str | None]] = {}
        for message_id, shop_id, tid, outcome in rows:
            groups.setdefault((shop_id, outcome), {})[message_id] = tid
        for (shop_id, outcome), tids in groups.items():
            await self.session.execute(
                update(MarketplaceMessage)
                .where(MarketplaceMessage.channel == channel, MarketplaceMessage.id.in_(list(tids)))
                .values(shop_id=shop_id, outcome=outcome, tid=case(tids, value=MarketplaceMessage.id))
            )
