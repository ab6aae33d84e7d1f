"""A failed call raises one hierarchy, by the class of the status, read off the one error shape (code, message,
details, request_id); an answer without that shape, and no answer at all, too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from waybill_client import (
    AsyncWaybillClient,
    AuthError,
    Conflict,
    NetworkError,
    NotFound,
    RateLimited,
    Retries,
    ServerError,
    ValidationError,
    WaybillClient,
    WaybillError,
)
from waybill_client.errors import parse_retry_after

from tests.unit.client.support import KEY, URLS, error

ORDER = f"{URLS['shipping']}/v1/orders/o-1"
CLASSES = [
    (400, "validation_error", ValidationError),
    (401, "unauthorized", AuthError),
    (402, "insufficient_balance", WaybillError),
    (403, "forbidden", AuthError),
    (404, "not_found", NotFound),
    (409, "invalid_transition", Conflict),
    (413, "payload_too_large", WaybillError),
    (422, "invalid_cursor", ValidationError),
    (429, "rate_limited", RateLimited),
    (500, "internal_error", ServerError),
    (503, "unavailable", ServerError),
]


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


def _client() -> WaybillClient:
    return WaybillClient(KEY, base_url=URLS["shipping"], retries=Retries.none())


@pytest.mark.parametrize(("status", "code", "cls"), CLASSES, ids=[str(s) for s, *_ in CLASSES])
def test_each_status_raises_its_class_with_the_request_id(
    mock: respx.MockRouter, status: int, code: str, cls: type[WaybillError]
) -> None:
    mock.get(ORDER).respond(status, json=error(code, "no way", request_id="3f9c2a7d", field="order_id"))
    with _client() as client, pytest.raises(WaybillError) as raised:
        client.get_order("o-1")
    exc = raised.value
    assert type(exc) is cls
    assert (exc.status, exc.code, exc.message) == (status, code, "no way")
    assert exc.details == {"field": "order_id"}
    assert exc.request_id == "3f9c2a7d"
    assert exc.service == "shipping"
    assert "3f9c2a7d" in str(exc)
    assert exc.body()["error"]["code"] == code


@pytest.mark.parametrize(("status", "code", "cls"), CLASSES, ids=[str(s) for s, *_ in CLASSES])
async def test_async_raises_the_same_classes(
    mock: respx.MockRouter, status: int, code: str, cls: type[WaybillError]
) -> None:
    mock.get(ORDER).respond(status, json=error(code, request_id="r-9"))
    async with AsyncWaybillClient(KEY, base_url=URLS["shipping"], retries=1) as client:
        with pytest.raises(cls) as raised:
            await client.get_order("o-1")
    assert raised.value.request_id == "r-9"


def test_rate_limited_says_when_to_come_back(mock: respx.MockRouter) -> None:
    mock.get(ORDER).respond(429, json=error("rate_limited"), headers={"Retry-After": "3"})
    with _client() as client, pytest.raises(RateLimited) as raised:
        client.get_order("o-1")
    assert raised.value.retry_after == 3.0


def test_an_error_without_its_request_id_takes_the_header(mock: respx.MockRouter) -> None:
    body = {"error": {"code": "not_found", "message": "not found", "details": {}}}
    mock.get(ORDER).respond(404, json=body, headers={"X-Request-ID": "hdr-1"})
    with _client() as client, pytest.raises(NotFound) as raised:
        client.get_order("o-1")
    assert raised.value.request_id == "hdr-1"


def test_an_answer_without_the_error_shape_keeps_its_status_not_its_body(mock: respx.MockRouter) -> None:
    mock.get(ORDER).respond(502, text="<html>Bad Gateway from the proxy</html>", headers={"X-Request-ID": "px"})
    with _client() as client, pytest.raises(ServerError) as raised:
        client.get_order("o-1")
    exc = raised.value
    assert (exc.status, exc.code, exc.request_id) == (502, "http_502", "px")
    assert "html" not in exc.message


def test_no_answer_is_a_network_error(mock: respx.MockRouter) -> None:
    mock.get(ORDER).mock(side_effect=httpx.ConnectError("connection refused"))
    with _client() as client, pytest.raises(NetworkError) as raised:
        client.get_order("o-1")
    exc = raised.value
    assert exc.status == 0
    assert exc.code == "network_error"
    assert "shipping" in exc.message
    assert isinstance(exc.__cause__, httpx.ConnectError)


async def test_async_timeout_is_a_network_error(mock: respx.MockRouter) -> None:
    mock.get(ORDER).mock(side_effect=httpx.ReadTimeout("slow"))
    async with AsyncWaybillClient(KEY, base_url=URLS["shipping"], retries=Retries.none()) as client:
        with pytest.raises(NetworkError):
            await client.get_order("o-1")


def test_every_class_is_a_waybill_error() -> None:
    for cls in (AuthError, NotFound, Conflict, ValidationError, RateLimited, ServerError, NetworkError):
        assert issubclass(cls, WaybillError)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), (" 2.5 ", 2.5), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0), ("soon", None), (None, None)],
)
def test_retry_after_in_seconds_or_as_a_date(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert parse_retry_after(header, now=now) == seconds
