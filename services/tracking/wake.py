"""Wake-up hints from the webhook to the push processors, over Redis pub/sub.

Only a hint: the processors look for unprocessed pushes on their own every ``ingest_idle_s``, so a lost
hint (Redis down or flushed) delays processing by at most that, and loses nothing. The webhook publishes
without waiting for Redis (the acknowledgement must not pay for it) and at most once per interval: one
arq job per hint used to pile up thousands of queued jobs whenever the workers were busy or down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from runtime import pubsub
from runtime.redis_health import REDIS_ERRORS, RedisHealth

CHANNEL = "tracking:wake-ingest"


class Waker:
    """Publishes a hint at most once per ``interval`` seconds per process, in the background."""

    def __init__(self, redis: Any, interval: float, channel: str = CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._interval = interval
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        self._health = RedisHealth("wake_publish")

    def poke(self) -> None:
        now = time.monotonic()
        if now - self._last < self._interval or (self._task is not None and not self._task.done()):
            return
        self._last = now
        if self._health.should_try():
            self._task = asyncio.create_task(self._publish())

    async def _publish(self) -> None:
        try:
            await self._redis.publish(self._channel, b"1")
        except REDIS_ERRORS as exc:  # only a hint
            self._health.failed(exc)
            return
        self._health.ok()

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


async def listen(redis: Any, event: asyncio.Event, channel: str = CHANNEL) -> None:
    """Set ``event`` on every hint, until cancelled; subscribes again after Redis trouble (with backoff)."""
    await pubsub.listen(redis, channel, lambda _: event.set(), RedisHealth("wake_listen"))


@dataclass
class WorkerLoops:
    """A worker process's long-lived loops (the push processor, the notifier, the hint listener) and the
    events that wake the first two. Only workers start loops; the API's Resources carry an idle one."""

    ingest_wake: asyncio.Event = field(default_factory=asyncio.Event)
    notify_wake: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
