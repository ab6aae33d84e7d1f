"""The service's notion of "now", injectable so tests (and accelerated end-to-end runs) can move time.

Thresholds (alerts, polling) and the times the service records use a ``Clock``, never ``datetime.now``
directly. ``SystemClock`` is real time. ``ManualClock`` is set and advanced by tests in-process.
``StoredClock`` reads an optional override from the database (set by an operator through
``PUT /internal/v1/clock``), so every API and worker process of a running system shares one simulated
time, e.g. following the sandbox's accelerated parcel journeys.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    async def now(self) -> datetime: ...


class SystemClock:
    async def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Stands still until told to move."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    async def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


@dataclass(frozen=True)
class ClockSetting:
    """Simulated time ``anchor_sim`` at real time ``anchor_real``, running ``factor`` times faster."""

    anchor_real: datetime
    anchor_sim: datetime
    factor: float

    def at(self, real: datetime) -> datetime:
        return self.anchor_sim + (real - self.anchor_real) * self.factor


Loader = Callable[[], Awaitable[ClockSetting | None]]


class StoredClock:
    """Real time unless the database holds a clock setting; the setting is re-read every ``ttl`` s."""

    def __init__(self, load: Loader, ttl: float = 1.0) -> None:
        self._load = load
        self._ttl = ttl
        self._setting: ClockSetting | None = None
        self._loaded_at = float("-inf")

    def forget(self) -> None:
        self._loaded_at = float("-inf")

    async def now(self) -> datetime:
        mono = time.monotonic()
        if mono - self._loaded_at > self._ttl:
            self._setting = await self._load()
            self._loaded_at = mono
        real = datetime.now(UTC)
        return real if self._setting is None else self._setting.at(real)
