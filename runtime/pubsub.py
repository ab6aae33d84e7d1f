"""Following a Redis pub/sub channel for as long as the process runs, through any Redis trouble.

Used by the tracking wake-up hints (services.tracking.wake) and by the shop-key revocations every API
process follows (runtime.auth.RevocationFeed). Pub/sub delivers only to whoever is subscribed at the moment
of the PUBLISH: whatever is published while a subscriber is away is lost, so each user has its own fallback
(the processors poll; cached keys expire), and ``on_subscribed`` lets it react to a (re)subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from runtime.backoff import Backoff
from runtime.redis_health import REDIS_ERRORS, RedisHealth, stop_if_cancelled

# A subscriber waits this long for a message before it looks again; the connection's command timeout does
# not apply to this wait. After _PING_AFTER_S without a word it PINGs, and after _DEAD_AFTER_S it takes the
# connection for dead (a Redis that hangs, or a partition that left it open at our end) and subscribes again.
_LISTEN_POLL_S = 1.0
_PING_AFTER_S = 5.0
_DEAD_AFTER_S = 10.0
_RESUBSCRIBE = Backoff(base_s=0.2, cap_s=5.0)


async def listen(
    redis: Any,
    channel: str,
    on_message: Callable[[bytes], None],
    health: RedisHealth,
    on_subscribed: Callable[[], None] | None = None,
) -> None:
    """Call ``on_message`` with each message's data, until cancelled; subscribes again after Redis trouble
    (with backoff), reporting it to ``health``; never raises anything but cancellation. ``on_subscribed`` is
    called each time Redis confirms the subscription (the first time, and after each resubscription)."""
    while True:
        stop_if_cancelled()
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            await _receive(pubsub, on_message, health.ok, on_subscribed)
        except REDIS_ERRORS as exc:
            health.failed(exc)
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await pubsub.aclose()
        await asyncio.sleep(_RESUBSCRIBE.delay(health.consecutive_failures))


async def _receive(
    pubsub: Any,
    on_message: Callable[[bytes], None],
    on_heard: Callable[[], None],
    on_subscribed: Callable[[], None] | None,
) -> None:
    """Read the subscription until it fails (raises; never returns)."""
    loop = asyncio.get_running_loop()
    heard = pinged = loop.time()
    while True:
        stop_if_cancelled()  # get_message's timed read can return None for a cancel that landed in it
        message = await pubsub.get_message(timeout=_LISTEN_POLL_S)
        now = loop.time()
        if message is not None:
            heard = now
            on_heard()
            kind = message.get("type")
            if kind == "message":
                data = message.get("data")
                on_message(data if isinstance(data, bytes) else str(data).encode())
            elif kind == "subscribe" and on_subscribed is not None:
                on_subscribed()
        elif now - heard > _DEAD_AFTER_S:
            raise TimeoutError(f"no answer on the channel for {_DEAD_AFTER_S:g} s")
        elif now - heard > _PING_AFTER_S and now - pinged > _PING_AFTER_S:
            pinged = now
            await pubsub.ping()
