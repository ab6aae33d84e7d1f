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

# One call books a slot for each of KEYS in turn (a key named twice books twice), on Redis's clock so every
# process agrees. ARGV: emission interval (us), burst tolerance (us). Returns, per key, 0 when allowed (the
# slot booked), else the microseconds until the next request would be allowed; a key expires once its bucket
# is full again.
_GCRA = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - tolerance
  if allow_at > now then
    out[i] = allow_at - now
  else
    redis.call('SET', key, string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
    out[i] = 0
  end
end
return out
"""

# Checks waiting while a call is in flight go together in the next one, at most this many.
MAX_KEYS_PER_CALL = 256

# A call to the limiter takes at most this long; its requests then go through unlimited.
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
    shares a key shares its budget: ``rate_per_s`` steady, ``burst`` at once.

    Checks are grouped as a database groups commits: a check made while no call is in flight goes at once
    (nothing added when idle); checks made while one is in flight wait for it and then go together, in one
    script call. Under load that is one Redis round trip for many requests instead of one each: the per-request
    call was a measured share of the allocation hot path's CPU (the API's and Redis's). A waiter that gives up
    (its timeout) leaves the call to the others; an error reaches every waiter of that call."""

    def __init__(self, redis: Any, limit: RateLimit) -> None:
        if limit.rate_per_s <= 0 or limit.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.limit = limit
        self._interval_us = max(1, int(1_000_000 / limit.rate_per_s))
        self._tolerance_us = self._interval_us * limit.burst
        self._script = redis.register_script(_GCRA)
        self._waiting: list[tuple[str, asyncio.Future[int]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def wait_us(self, key: str) -> int:
        """0 when a slot was free (and is now booked), else the microseconds until one is."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int] = loop.create_future()
        self._waiting.append((key, answer))
        if self._sender is None:
            # Its own task: a caller cancelled mid-call must not cancel the call for the others.
            self._sender = loop.create_task(self._send())
        return await answer

    async def _send(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[:MAX_KEYS_PER_CALL]
                del self._waiting[:MAX_KEYS_PER_CALL]
                keys, args = [k for k, _ in group], [self._interval_us, self._tolerance_us]
                try:
                    # Bounded here, not by each waiter: a call its waiters gave up on must not go on (redis-py
                    # retries a broken one) and book slots for requests long gone.
                    waits = await asyncio.wait_for(self._script(keys=keys, args=args), _CALL_TIMEOUT_S)
                except Exception as exc:
                    for _, answer in group:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), wait in zip(group, waits, strict=True):
                    if not answer.done():
                        answer.set_result(int(wait))
        finally:
            self._sender = None
            for _, answer in self._waiting:  # only when this task itself was cancelled (the loop closing)
                answer.cancel()
            self._waiting.clear()


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
            wait = await self.wait_us(key_id)  # at most _CALL_TIMEOUT_S: the call's own bound
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
