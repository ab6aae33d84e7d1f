"""A rate limit shared by every worker process: GCRA in Redis (one key per provider).

Requests are spaced at least 1/rate apart, measured on Redis's clock, so any number of workers together
stay within the provider's limit. If Redis is flushed the limiter simply starts over.
"""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.redis_health import REDIS_ERRORS, RedisHealth

# Returns 0 when the caller may go now (and books the slot), else microseconds to wait.
_GCRA = """
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat > now then return tat - now end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(interval / 1000) + 1000)
return 0
"""


class RateLimiter:
    def __init__(self, redis: Any, key: str, rate_per_s: float) -> None:
        self._redis = redis
        self._key = key
        self._interval_us = int(1_000_000 / rate_per_s)
        self._script = redis.register_script(_GCRA)
        self._health = RedisHealth("provider_ratelimit")

    async def try_acquire(self) -> float:
        """0.0 when a slot was taken, else the seconds to wait before trying again."""
        wait_us = int(await self._script(keys=[self._key], args=[self._interval_us]))
        return wait_us / 1_000_000

    async def acquire(self, max_wait: float) -> bool:
        """Wait for a slot, at most ``max_wait`` seconds. No slot while Redis is down: the limit is shared
        through it, and a worker on its own cannot know what the others spend (logged once per outage)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            try:
                wait = await self.try_acquire()
            except REDIS_ERRORS as exc:
                self._health.failed(exc)
                return False
            self._health.ok()
            if wait == 0.0:
                return True
            if loop.time() + wait > deadline:
                return False
            await asyncio.sleep(wait)
