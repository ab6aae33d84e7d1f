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
from collections.abc import Callable
from typing import Any

from runtime.backoff import Backoff
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


# A subscriber waits this long for a message before it looks again; the connection's command timeout does
# not apply to this wait. After _PING_AFTER_S without a word it PINGs, and after _DEAD_AFTER_S it takes the
# connection for dead (a Redis that hangs, or a partition that left it open at our end) and subscribes again.
_LISTEN_POLL_S = 1.0
_PING_AFTER_S = 5.0
_DEAD_AFTER_S = 10.0
_RESUBSCRIBE = Backoff(base_s=0.2, cap_s=5.0)


async def listen(redis: Any, event: asyncio.Event, channel: str = CHANNEL) -> None:
    """Set ``event`` on every hint, until cancelled; subscribes again after Redis trouble (with backoff)."""
    health = RedisHealth("wake_listen")
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            await _receive(pubsub, event, on_heard=health.ok)
        except REDIS_ERRORS as exc:
            health.failed(exc)
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await pubsub.aclose()
        await asyncio.sleep(_RESUBSCRIBE.delay(health.consecutive_failures))


async def _receive(pubsub: Any, event: asyncio.Event, on_heard: Callable[[], None]) -> None:
    """Read the subscription until it fails (raises; never returns)."""
    loop = asyncio.get_running_loop()
    heard = pinged = loop.time()
    while True:
        message = await pubsub.get_message(timeout=_LISTEN_POLL_S)
        now = loop.time()
        if message is not None:
            heard = now
            on_heard()
            if message.get("type") == "message":
                event.set()
        elif now - heard > _DEAD_AFTER_S:
            raise TimeoutError(f"no answer on the wake-up channel for {_DEAD_AFTER_S:g} s")
        elif now - heard > _PING_AFTER_S and now - pinged > _PING_AFTER_S:
            pinged = now
            await pubsub.ping()
