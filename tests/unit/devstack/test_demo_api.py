"""The demo's reads and writes come back after a 503's Retry-After (a database out of connections, a
marketplace blip), as the API guide asks of every client; other errors end the demo with their text."""

from __future__ import annotations

import httpx
import pytest
import respx

from devstack.demo import Api, DemoError, DemoUrls

URLS = DemoUrls(
    allocation="http://alloc.test", shipping="http://ship.test", tracking="http://track.test", sandbox="http://sb.test"
)
BUSY = httpx.Response(
    503,
    headers={"Retry-After": "0"},
    json={"error": {"code": "unavailable", "message": "the database is unavailable, retry shortly"}},
)


@respx.mock
async def test_a_read_answered_503_is_asked_again_after_its_retry_after() -> None:
    route = respx.get("http://alloc.test/v1/waybills/YT1").mock(
        side_effect=[BUSY, BUSY, httpx.Response(200, json={"order_id": "ord_1"})]
    )
    async with httpx.AsyncClient() as http:
        assert await Api(http, URLS, "k").get("http://alloc.test/v1/waybills/YT1") == {"order_id": "ord_1"}
    assert route.call_count == 3


@respx.mock
async def test_a_write_answered_503_is_sent_again_and_a_lasting_one_ends_the_demo() -> None:
    route = respx.post("http://ship.test/v1/orders").mock(return_value=BUSY)
    async with httpx.AsyncClient() as http:
        with pytest.raises(DemoError, match="503"):
            await Api(http, URLS, "k").send("POST", "http://ship.test/v1/orders", 201, json={})
    assert route.call_count == 4
