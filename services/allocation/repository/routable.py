"""A shop's numbers as routing reads them: carrier and status, no lock (routing changes no row)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.allocation.models import Pool, Waybill

# Live rows only (through uq_waybills_number, a partial index: the status test written as a literal). A shop's
# superseded record holds no number any more.
_LIVE = Waybill.status != literal_column("7")


class Routable(NamedTuple):
    carrier: str
    status: int


class RoutableRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_shop(self, numbers: Sequence[str], shop_id: str) -> dict[str, Routable]:
        """The shop's live rows for these numbers; another shop's numbers are simply not there."""
        if not numbers:
            return {}
        rows = await self.session.execute(
            select(Waybill.number, Waybill.carrier, Waybill.status)
            .join(Pool, Pool.id == Waybill.pool_id)
            .where(Waybill.number.in_(list(numbers)), _LIVE, Pool.shop_id == shop_id)
        )
        return {number: Routable(carrier, status) for number, carrier, status in rows}
