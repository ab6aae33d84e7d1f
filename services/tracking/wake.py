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
from typing import Any

from runtime.logging import get_logger

log = get_logger(__name__)

CHANNEL = "tracking:wake-ingest"


class Waker:
    """Publishes a hint at most once per ``interval`` seconds per process, in the background."""

    def __init__(self, redis: Any, interval: float, channel: str = CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._interval = interval
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        now = time.monotonic()
        if now - self._last < self._interval or (self._task is not None and not self._task.done()):
            return
        self._last = now
        self._task = asyncio.create_task(self._publish())

    async def _publish(self) -> None:
        try:
            await self._redis.publish(self._channel, b"1")
        except Exception as exc:  # only a hint
            log.debug("wake_failed", error=repr(exc))

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


async def listen(redis: Any, event: asyncio.Event, channel: str = CHANNEL, retry_s: float = 1.0) -> None:
    """Set ``event`` on every hint, until cancelled; reconnects after a Redis failure."""
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    event.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("wake_listen_failed", error=repr(exc))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        await asyncio.sleep(retry_s)
