"""Rate limits shared through Redis, all on one GCRA (``Gcra``): per API key and per client address for the
APIs (``RateLimiter``, one script call per request), and the pace of calls to an outside provider for the
workers (``Pacer``).

A key may send ``burst`` requests at once and then ``rate_per_s`` a second. Only shop keys are
limited: the admin and internal keys are the platform's own callers (batches, workers). Requests are
also limited per client address before authentication (runtime.address_limit, the same GCRA), so a
flood of made-up keys is refused before it costs a key lookup. When Redis cannot be reached the
request goes through (fail open): losing the limiter must not take the API down with it.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

from runtime.errors import AppError
from runtime.redis_health import REDIS_ERRORS, RedisHealth
from shared.errors import ErrorCode

# ARGV: emission interval (us), burst tolerance (us). Returns 0 when allowed (and books the slot),
# else the microseconds until the next request would be allowed. Redis's clock, so every process
# agrees; the key expires once the bucket is full again.
_GCRA = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if allow_at > now then return allow_at - now end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
"""

# A request waits at most this long for the limiter before it goes through unlimited.
_CALL_TIMEOUT_S = 1.0


class RateLimited(AppError):
    status_code = 429
    code = ErrorCode.RATE_LIMITED


@dataclass(frozen=True)
class RateLimit:
    rate_per_s: float
    burst: int


class Gcra:
    """The generic cell rate algorithm in Redis, on Redis's clock, so every process of every service that
    shares a key shares its budget: ``rate_per_s`` steady, ``burst`` at once. One script call per try."""

    def __init__(self, redis: Any, limit: RateLimit) -> None:
        if limit.rate_per_s <= 0 or limit.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.limit = limit
        self._interval_us = max(1, int(1_000_000 / limit.rate_per_s))
        self._tolerance_us = self._interval_us * limit.burst
        self._script = redis.register_script(_GCRA)

    async def wait_us(self, key: str) -> int:
        """0 when a slot was free (and is now booked), else the microseconds until one is."""
        return int(await self._script(keys=[key], args=[self._interval_us, self._tolerance_us]))


class Pacer:
    """Calls to an outside provider spaced to its limit across every worker (the tracking provider's query
    rate): ``acquire`` waits for a slot. No slot while Redis is down: the budget is shared through it, and
    one worker on its own cannot know what the others spend (logged once per outage)."""

    def __init__(self, redis: Any, key: str, rate_per_s: float, *, component: str = "provider_ratelimit") -> None:
        self._gcra = Gcra(redis, RateLimit(rate_per_s, 1))
        self._key = key
        self._health = RedisHealth(component)

    async def acquire(self, max_wait: float) -> bool:
        """Wait for a slot, at most ``max_wait`` seconds; False when none came in time (or Redis is down)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while True:
            try:
                wait = await self._gcra.wait_us(self._key) / 1_000_000
            except REDIS_ERRORS as exc:
                self._health.failed(exc)
                return False
            self._health.ok()
            if wait == 0.0:
                return True
            if loop.time() + wait > deadline:
                return False
            await asyncio.sleep(wait)


class RateLimiter:
    """One budget per value checked: an API key id by default; runtime.address_limit checks client
    addresses with ``scope="address"`` (its own Redis keys, metrics component and message)."""

    def __init__(self, redis: Any, service: str, limit: RateLimit, *, scope: str = "key") -> None:
        self._gcra = Gcra(redis, limit)
        self.limit = limit
        # Key ids are hex, so "address:..." never meets one; the key limiter keeps its original names.
        self._prefix = f"ratelimit:{service}:" if scope == "key" else f"ratelimit:{service}:{scope}:"
        self._what = "for this API key" if scope == "key" else f"from this {scope}"
        self._health = RedisHealth("ratelimit" if scope == "key" else f"ratelimit_{scope}")

    async def wait_us(self, key_id: str) -> int:
        """0 when this request may go (its slot is booked), else microseconds to wait."""
        return await self._gcra.wait_us(self._prefix + key_id)

    async def check(self, key_id: str) -> None:
        """Raises 429 (with Retry-After) when the key (or address) is over its limit."""
        if not self._health.should_try():
            return  # Redis is down: fail open without waiting for it
        try:
            wait = await asyncio.wait_for(self.wait_us(key_id), _CALL_TIMEOUT_S)
        except REDIS_ERRORS as exc:  # Redis down or flushed mid-call: fail open (logged once per outage)
            self._health.failed(exc)
            return
        self._health.ok()
        if wait > 0:
            retry_after = max(1, math.ceil(wait / 1_000_000))
            raise RateLimited(
                f"too many requests {self._what}: {self.limit.rate_per_s:g}/s (burst {self.limit.burst})",
                details={"rate_per_s": self.limit.rate_per_s, "burst": self.limit.burst, "retry_after_s": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
