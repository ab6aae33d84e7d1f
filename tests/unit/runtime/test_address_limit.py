"""The per-address limit's parts that need no Redis: which budget an address draws on, and failing open
when Redis cannot be reached (the limit itself, against a real Redis: tests/integration/test_cheap_refusals)."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from runtime.address_limit import AddressLimitMiddleware, address_bucket
from runtime.auth import AuthConfig
from runtime.ratelimit import RateLimit, RateLimiter
from runtime.redis_clients import open_redis


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same subscriber's /64
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_an_address_draws_on_its_own_budget_and_ipv6_on_its_64(host: str, bucket: str) -> None:
    assert address_bucket(host) == bucket


async def _ok(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


class _Nobody:
    async def resolve(self, key_id: str, secret_hash: str) -> str | None:
        return None


async def test_requests_go_through_while_redis_is_down() -> None:
    redis = open_redis("redis://127.0.0.1:1/0")  # nothing listens on port 1
    app = Starlette(routes=[Route("/v1/things", _ok)])
    app.add_middleware(AddressLimitMiddleware, service="test")
    app.state.auth = AuthConfig(
        "admin",
        "internal",
        resolver=_Nobody(),
        address_limiter=RateLimiter(redis, "test", RateLimit(0.01, 1), scope="address"),
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 1234))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = time.monotonic()
            statuses = {(await client.get("/v1/things")).status_code for _ in range(20)}
            assert statuses == {200}  # far beyond the burst of 1: the limiter fails open
            assert time.monotonic() - started < 5, "each request waited for Redis"
    finally:
        await redis.aclose()
