"""The service clock an operator may set (tests, demos): read it, set it, go back to real time."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.db import UnitOfWork
from services.tracking.clock import Clock, ClockSetting, StoredClock
from services.tracking.repository.clock import ClockRepository
from services.tracking.schemas import ClockIn, ClockOut


async def get_clock(uow: UnitOfWork) -> ClockSetting | None:
    return await ClockRepository(uow.session).get()


async def read_clock(uow: UnitOfWork, clock: Clock) -> ClockOut:
    setting = await get_clock(uow)
    return ClockOut(now=await clock.now(), factor=1.0 if setting is None else setting.factor, simulated=bool(setting))


async def set_clock(uow: UnitOfWork, clock: Clock, body: ClockIn) -> ClockOut:
    """Store the simulated clock (or drop it, back to real time); this process follows at once, the others
    within their clock's reload interval."""
    repo = ClockRepository(uow.session)
    if body.reset:
        await repo.set(None)
        now, factor = datetime.now(UTC), 1.0
    else:
        now = body.now or await clock.now()
        factor = body.factor
        await repo.set(ClockSetting(datetime.now(UTC), now, factor))
    if isinstance(clock, StoredClock):
        clock.forget()
    return ClockOut(now=now, factor=factor, simulated=not body.reset)
