"""Bodies over the limit get 413 in the error shape on every service, whether they announce their
length or stream it in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.support import ADMIN_KEY, Env, app_client, bearer, refusal

LIMIT = 1024
# A route of each service that takes a body.
ROUTES = {
    "allocation": "/v1/shops",
    "shipping": "/v1/orders",
    "tracking": "/webhooks/tracking/kuaidi100",
}


def _app(service: str) -> FastAPI:
    if service == "allocation":
        from services.allocation.main import create_app as allocation_app
        from services.allocation.settings import AllocationSettings

        return allocation_app(AllocationSettings(max_body_bytes=LIMIT))
    if service == "shipping":
        from services.shipping.main import create_app as shipping_app
        from services.shipping.settings import ShippingSettings

        return shipping_app(ShippingSettings(max_body_bytes=LIMIT))
    from services.tracking.main import create_app as tracking_app
    from services.tracking.settings import TrackingSettings

    return tracking_app(TrackingSettings(max_body_bytes=LIMIT))


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 256):
        yield b"x" * 256


@pytest.mark.parametrize("service", sorted(ROUTES))
async def test_oversize_bodies_are_413_in_the_error_shape(env: Env, service: str) -> None:
    async with app_client(_app(service)) as client:
        path, headers = ROUTES[service], bearer(ADMIN_KEY)
        announced = await client.post(path, content=b"x" * (LIMIT + 1), headers=headers)
        streamed = await client.post(path, content=_chunks(LIMIT * 4), headers=headers)
        # Just under the limit is read (and refused for what it says, not for its size).
        small = await client.post(path, content=b"x" * (LIMIT - 1), headers=headers)
    for resp in (announced, streamed):
        assert resp.status_code == 413, resp.text
        assert refusal(resp) == {
            "code": "payload_too_large",
            "message": f"body larger than {LIMIT} bytes",
            "details": {},
        }
        assert resp.headers["content-type"] == "application/json"
    assert small.status_code not in (413, 500), small.text
