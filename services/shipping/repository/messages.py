"""Order messages accepted, by channel and the channel's message id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
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
