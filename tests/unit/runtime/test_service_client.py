"""The one client of our services: headers, the error shape read into ServiceError, the transient rule,
retries with backoff, unreadable answers, and the typed clients' requests over it (respx)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from runtime.apis.allocation import HttpAllocationApi
from runtime.apis.shipping import HttpShippingApi
from runtime.apis.tracking import HttpTrackingApi
from runtime.backoff import Backoff
from runtime.service_client import ServiceClient, ServiceError
from shared.allocation import MarkItem, MarkState
from shared.pages import Page
from shared.pools import PoolOut
from shared.tracking import SubscriptionRequest, TrackingStatus, TrackingUpdate

BASE = "http://alloc.test"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def client(http: httpx.AsyncClient, attempts: int = 1) -> ServiceClient:
    return ServiceClient(
        "allocation", http, BASE + "/", "internal-key", timeout_s=2, attempts=attempts, backoff=Backoff(0.001, 0.002)
    )


def page(items: list[object]) -> dict[str, object]:
    """A list answer as the services give it: one page, the whole list."""
    return {"data": items, "has_more": False, "next_cursor": None}


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "details": {"n": 1}}})


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        *[(s, True) for s in (0, 500, 503, 429, 401, 403, 408)],
        *[(s, False) for s in (400, 404, 409, 422)],
    ],
)
def test_what_is_worth_retrying(status: int, transient: bool) -> None:
    assert ServiceError("allocation", status, "x", "y").transient is transient


def test_a_refusal_is_passed_on_and_an_outage_is_a_503() -> None:
    refused = ServiceError("allocation", 409, "waybill_in_use", "taken", {"number": "N1"}).as_app_error()
    assert (refused.status_code, refused.code, refused.details) == (409, "waybill_in_use", {"number": "N1"})
    down = ServiceError("allocation", 0, "unavailable", "ConnectError").as_app_error()
    assert (down.status_code, down.code, down.headers) == (503, "unavailable", {"Retry-After": "2"})
    # Our own key refused is our fault, never the shop's key: a 503 as well.
    assert ServiceError("allocation", 401, "unauthorized", "bad key").as_app_error().status_code == 503


async def test_headers_and_the_error_shape(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/v1/pools").mock(return_value=error(404, "not_found", "no such shop"))
        with pytest.raises(ServiceError) as caught:
            await client(http).call("GET", "/v1/pools", Page[PoolOut], shop_id="s-1")
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer internal-key"
    assert sent.headers["x-shop-id"] == "s-1"
    assert (caught.value.status, caught.value.code, caught.value.message) == (404, "not_found", "no such shop")
    assert caught.value.details == {"n": 1}
    assert route.call_count == 1


async def test_an_answer_without_the_error_shape_keeps_its_status_not_its_body(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/x").mock(return_value=httpx.Response(502, text="<html>bad gateway</html>"))
        with pytest.raises(ServiceError) as caught:
            await client(http).request("GET", "/x")
    assert (caught.value.code, caught.value.message) == ("http_502", "allocation answered HTTP 502")


async def test_transient_failures_are_tried_again_up_to_attempts(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/x").mock(
            side_effect=[httpx.ConnectError("refused"), error(503, "unavailable", "busy"), httpx.Response(200)]
        )
        resp = await client(http, attempts=3).request("GET", "/x")
    assert resp.status_code == 200
    assert route.call_count == 3


async def test_a_permanent_refusal_is_not_tried_again(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        route = router.get(f"{BASE}/x").mock(return_value=error(422, "validation_error", "bad"))
        with pytest.raises(ServiceError):
            await client(http, attempts=3).request("GET", "/x")
    assert route.call_count == 1


async def test_no_answer_is_status_zero_after_the_last_try(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/x").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(ServiceError) as caught:
            await client(http, attempts=2).request("GET", "/x")
    assert caught.value.status == 0
    assert caught.value.transient


async def test_an_unreadable_answer_is_a_bad_answer(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        router.get(f"{BASE}/v1/pools").mock(return_value=httpx.Response(200, json=page([{"carrier": 1}])))
        with pytest.raises(ServiceError) as caught:
            await client(http).call("GET", "/v1/pools", Page[PoolOut], shop_id="s-1")
    assert (caught.value.status, caught.value.code) == (502, "bad_answer")


async def test_the_allocation_api_sends_its_requests_unvalidated(http: httpx.AsyncClient) -> None:
    # The called service validates: a typed number it refuses must come back as its 422, not fail here.
    api = HttpAllocationApi(client(http))
    with respx.mock() as router:
        manual = router.post(f"{BASE}/v1/waybills/manual").mock(
            return_value=error(422, "invalid_waybill", "not a ZTO number")
        )
        with pytest.raises(ServiceError) as caught:
            await api.register_manual("s-1", "ZTO", "??", "o-1")
        mark = router.post(f"{BASE}/v1/waybills/batch-mark").mock(
            return_value=httpx.Response(200, json={"status": "shipped", "marked": 1, "refused": 0, "results": []})
        )
        result = await api.mark_many("s-1", MarkState.SHIPPED, [MarkItem(number="N1", order_id="o-1")], "x" * 900)
        release = router.post(f"{BASE}/v1/waybills/A%2FB/release").mock(
            return_value=httpx.Response(200, json={"number": "A/B", "status": "available"})
        )
        await api.release("s-1", "A/B")
    assert caught.value.code == "invalid_waybill"
    assert json.loads(manual.calls.last.request.content) == {"carrier": "ZTO", "number": "??", "order_id": "o-1"}
    sent = json.loads(mark.calls.last.request.content)
    assert sent["items"] == [{"number": "N1", "order_id": "o-1", "store_id": None, "channel": None}]
    assert len(sent["reason"]) == 500  # cut to what allocation keeps
    assert result.marked == 1
    assert release.called  # a number is one path segment, whatever it holds


async def test_the_key_check_reads_a_404_as_no_such_key(http: httpx.AsyncClient) -> None:
    api = HttpAllocationApi(client(http))
    with respx.mock() as router:
        route = router.post(f"{BASE}/internal/v1/keys/introspect")
        route.mock(return_value=error(404, "not_found", "unknown or revoked key"))
        assert await api.shop_of_key("k1", "0" * 64) is None
        route.mock(return_value=httpx.Response(200, json={"shop_id": "s-9"}))
        assert await api.shop_of_key("k1", "0" * 64) == "s-9"
        route.mock(return_value=error(503, "unavailable", "down"))
        with pytest.raises(ServiceError):
            await api.shop_of_key("k1", "0" * 64)


async def test_the_catalogue_is_read_once_a_minute(http: httpx.AsyncClient) -> None:
    api = HttpAllocationApi(client(http))
    with respx.mock() as router:
        route = router.get(f"{BASE}/v1/carriers").mock(return_value=httpx.Response(200, json=page([])))
        assert await api.carriers("s-1") == []
        assert await api.carriers("s-2") == []
    assert route.call_count == 1


async def test_the_pools_are_read_from_their_page(http: httpx.AsyncClient) -> None:
    api = HttpAllocationApi(client(http))
    example = PoolOut.model_json_schema()["examples"][0]
    with respx.mock() as router:
        route = router.get(f"{BASE}/v1/pools").mock(return_value=httpx.Response(200, json=page([example])))
        assert await api.pools("s-1") == [PoolOut.model_validate(example)]
        # The bare array of before the page shape is not an answer this client reads.
        route.mock(return_value=httpx.Response(200, json=[example]))
        with pytest.raises(ServiceError) as caught:
            await api.pools("s-1")
    assert (caught.value.status, caught.value.code) == (502, "bad_answer")


async def test_tracking_and_shipping_apis_post_their_batches(http: httpx.AsyncClient) -> None:
    tracking = HttpTrackingApi(ServiceClient("tracking", http, "http://track.test", "k", timeout_s=2))
    shipping = HttpShippingApi(ServiceClient("shipping", http, "http://ship.test", "k", timeout_s=2))
    req = SubscriptionRequest(order_id="o-1", carrier="ZTO", number="783456789012", shipped_at="2026-12-01T00:00:00Z")
    update = TrackingUpdate.model_validate(
        {
            "event_id": "6f1c2b9e-3d4a-4f5b-8c7d-1e2f3a4b5c6d",
            "kind": "status_changed",
            "order_id": "o-1",
            "carrier": "ZTO",
            "number": "783456789012",
            "status": TrackingStatus.IN_TRANSIT,
            "occurred_at": "2026-12-01T00:00:00Z",
        }
    )
    with respx.mock() as router:
        subs = router.post("http://track.test/internal/v1/subscriptions/batch").mock(
            return_value=httpx.Response(200, json={"created": 1, "existing": 0, "conflicts": 0, "results": []})
        )
        ups = router.post("http://ship.test/internal/v1/tracking-updates/batch").mock(
            return_value=httpx.Response(200, json={"results": []})
        )
        await tracking.subscribe_many("s-1", [req])
        await shipping.tracking_updates("s-1", [update])
    assert json.loads(subs.calls.last.request.content)["items"][0]["number"] == "783456789012"
    assert json.loads(ups.calls.last.request.content)["updates"][0]["event_id"] == str(update.event_id)
    assert ups.calls.last.request.headers["x-shop-id"] == "s-1"
