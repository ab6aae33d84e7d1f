from __future__ import annotations

import pytest
from redis.asyncio import Redis

from runtime.ratelimit import RateLimit, RateLimiter


async def test_without_redis_requests_go_through() -> None:
    # Nothing listens on port 1: the limiter fails open instead of refusing every request.
    redis = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        limiter = RateLimiter(redis, "test", RateLimit(0.01, 1))
        for _ in range(3):
            await limiter.check("k")
    finally:
        await redis.aclose()


def test_a_limit_needs_a_rate_and_a_burst() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RateLimiter(object(), "test", RateLimit(0, 1))
    with pytest.raises(ValueError, match="positive rate"):
        RateLimiter(object(), "test", RateLimit(1, 0))
