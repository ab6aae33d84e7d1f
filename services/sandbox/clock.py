"""Simulated time for parcel journeys: a clock that can run faster than real time and jump ahead.

Only the tracking simulation runs on this clock. Signatures, timestamps, message times and number expiry
use real time, because the services check those against their own real clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
TOP_FORMAT = "%Y-%m-%d %H:%M:%S"

log = logging.getLogger("sandbox.clock")


def china_time(epoch: float) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in UTC+8, the format both the marketplace and the tracking provider use."""
    return datetime.fromtimestamp(epoch, CHINA).strftime(TOP_FORMAT)


def parse_china_time(text: str) -> float:
    return datetime.strptime(text, TOP_FORMAT).replace(tzinfo=CHINA).timestamp()


def iso_china(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA).isoformat()


def china_midnight_after_days(epoch: float, days: int) -> float:
    """Midnight (UTC+8) starting the day ``days`` after the day of ``epoch``."""
    day = datetime.fromtimestamp(epoch, CHINA).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp()


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class SimClock:
    """Simulated epoch seconds: starts at real now, runs ``factor`` times faster, can be advanced."""

    def __init__(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("time acceleration must be positive")
        self._factor = factor
        self._anchor_sim = time.time()
        self._anchor_real = time.monotonic()
        self._listeners: list[Callable[[], None]] = []

    @property
    def factor(self) -> float:
        return self._factor

    def now(self) -> float:
        return self._anchor_sim + (time.monotonic() - self._anchor_real) * self._factor

    def set_factor(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("time acceleration must be positive")
        # Re-anchor so the change applies from now on and simulated time never jumps.
        self._anchor_sim = self.now()
        self._anchor_real = time.monotonic()
        self._factor = factor
        self._notify()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("simulated time never goes back")
        self._anchor_sim += seconds
        self._notify()

    def real_seconds_until(self, sim_epoch: float) -> float:
        return max(0.0, (sim_epoch - self.now()) / self._factor)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()


class _Due(NamedTuple):
    """A heap entry: ordered by time, then by the order of scheduling (callbacks are never compared)."""

    at: float
    seq: int
    callback: Callable[[], None]


class Scheduler:
    """Runs callbacks at simulated times: one task and a heap, so 10,000 parcels cost no 10,000 sleepers."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        clock.on_change(self._wake.set)

    def at(self, sim_epoch: float, callback: Callable[[], None]) -> None:
        earliest = self._heap[0].at if self._heap else None
        heapq.heappush(self._heap, _Due(sim_epoch, next(self._seq), callback))
        if earliest is None or sim_epoch < earliest:
            self._wake.set()

    def run_due(self, limit: int | None = None) -> int:
        """Run callbacks whose time has come (at most ``limit``); how many ran."""
        ran = 0
        while self._heap and self._heap[0].at <= self.clock.now() and (limit is None or ran < limit):
            due = heapq.heappop(self._heap)
            try:
                due.callback()
            except Exception:  # one broken callback must not stop every other parcel's journey
                log.exception("scheduled callback failed")
            ran += 1
        return ran

    async def run(self) -> None:
        while True:
            self._wake.clear()
            # In slices, yielding between them, so the HTTP side still answers after a big clock jump.
            if self.run_due(limit=1000) == 1000:
                await asyncio.sleep(0)
                continue
            timeout = self.clock.real_seconds_until(self._heap[0].at) if self._heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
