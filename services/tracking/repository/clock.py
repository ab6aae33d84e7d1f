"""The stored clock: the simulated time every process follows when an operator set one."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.clock import ClockSetting
from services.tracking.models import ClockOverride


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
