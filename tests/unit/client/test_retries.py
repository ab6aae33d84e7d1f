"""Only calls safe to repeat are retried: GET, PUT, DELETE, a purchase with its Idempotency-Key (the same key on
every try), and the POSTs idempotent by design (allocate, allocate_batch, create_order, ship_order); on no
answer, 429 (after its Retry-After) and 502/503/504, a bounded number of tries with a jittered backoff.
Every other POST is sent once. The waits are patched: nothing sleeps."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from waybill_client import (
    NetworkError,
    NotFound,
    RateLimited,
    Retries,
    ServerError,
    WaybillError,
    _transport,
)
from waybill_client.models import (
    AllocateRequest,
    BatchAllocateRequest,
    BatchCreate,
    CarrierUpdate,
    OrderCreate,
    PurchaseCreate,
    Receiver,
    RefundRequest,
    SettingsIn,
    ShipRequest,
)

from tests.unit.client.support import URLS, async_client, error, example, sync_client

A, S, T = URLS["allocation"], URLS["shipping"], URLS["tracking"]


def _unavailable() -> httpx.Response:
    return httpx.Response(503, json=error("unavailable"))


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between tries, recorded instead of slept (sync and async)."""
    waited: list[float] = []

    async def asleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(_transport, "sleep", waited.append)
    monkeypatch.setattr(_transport, "asleep", asleep)
    return waited


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


def _ok(schema: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=example(schema))


def _order() -> OrderCreate:
    receiver = Receiver(name="张三", phone="13800000000", state="广东省", city="深圳市", address="科技园 1 号")
    return OrderCreate(external_id="3001234567890123456", receiver=receiver, weight_g=500)


# --- what is retried -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(502, text="bad gateway"),
        _unavailable(),
        httpx.Response(504, text="gateway timeout"),
        httpx.Response(429, json=error("rate_limited")),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=["502", "503", "504", "429", "connect", "timeout"],
)
def test_a_get_is_retried_after_a_transient_failure(
    mock: respx.MockRouter, waits: list[float], failure: httpx.Response | Exception
) -> None:
    route = mock.get(f"{S}/v1/orders/o-1").mock(side_effect=[failure, _ok("OrderOut")])
    with sync_client() as client:
        assert client.get_order("o-1").id == example("OrderOut")["id"]
    assert route.call_count == 2
    assert len(waits) == 1
    assert 0.25 <= waits[0] <= 0.5  # the first backoff: half of 0.5 s fixed, half jitter


@pytest.mark.parametrize(
    ("method", "url", "answer", "call"),
    [
        ("PUT", f"{S}/v1/settings", "SettingsOut", lambda c: c.put_shop_settings(SettingsIn())),
        ("DELETE", f"{A}/v1/shops/s-1/keys/k-1", None, lambda c: c.revoke_key("s-1", "k-1")),
        ("POST", f"{A}/v1/allocations", "Allocation",
         lambda c: c.allocate(AllocateRequest(carrier="ZTO", order_id="o-1"))),
        ("POST", f"{A}/v1/allocations/batch", "BatchAllocation",
         lambda c: c.allocate_batch(BatchAllocateRequest(carrier="ZTO", order_ids=["o-1", "o-2"]))),
        ("POST", f"{S}/v1/orders", "OrderOut", lambda c: c.create_order(_order())),
        ("POST", f"{S}/v1/orders/o-1/ship", "ShipmentOut", lambda c: c.ship_order("o-1", ShipRequest(carrier="ZTO"))),
    ],
    ids=["put", "delete", "allocate", "allocate_batch", "create_order", "ship_order"],
)  # fmt: skip
def test_idempotent_calls_are_retried(
    mock: respx.MockRouter, waits: list[float], method: str, url: str, answer: str | None, call: Callable[..., Any]
) -> None:
    success = _ok(answer) if answer else httpx.Response(204)
    route = mock.route(method=method, url=url).mock(
        side_effect=[httpx.ConnectError("refused"), _unavailable(), success]
    )
    with sync_client() as client:
        call(client)
    assert route.call_count == 3
    bodies = {call.request.content for call in route.calls}
    assert len(bodies) == 1  # the same request every time


def test_a_purchase_is_retried_with_one_idempotency_key_made_for_it(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.post(f"{A}/v1/purchases").mock(
        side_effect=[_unavailable(), httpx.ReadTimeout("slow"), _ok("PurchaseOut", 202), _ok("PurchaseOut", 202)]
    )
    with sync_client() as client:
        client.create_purchase(PurchaseCreate(carrier="ZTO", package_id="ZTO-1000"))
        client.create_purchase(PurchaseCreate(carrier="ZTO", package_id="ZTO-1000"))
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] == keys[1] == keys[2], "one purchase: every try repeats its key"
    assert uuid.UUID(keys[0]).version == 4
    assert keys[3] != keys[0], "another call is another purchase"
    assert json.loads(route.calls[0].request.content) == {"carrier": "ZTO", "package_id": "ZTO-1000"}


def test_a_refund_is_retried_with_its_key_and_its_count(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.post(f"{A}/v1/purchases/p-1/refund").mock(side_effect=[_unavailable(), _ok("RefundOut")])
    with sync_client() as client:
        client.refund_purchase("p-1", RefundRequest(count=3))
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] == keys[1], "one refund: every try repeats its key"
    assert [json.loads(c.request.content) for c in route.calls] == [{"count": 3}, {"count": 3}]


async def test_async_purchase_keeps_the_callers_key(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.post(f"{A}/v1/purchases").mock(side_effect=[_unavailable(), _ok("PurchaseOut")])
    async with async_client() as client:
        await client.create_purchase(PurchaseCreate(carrier="ZTO", package_id="ZTO-1000"), idempotency_key="mine-0001")
    assert [c.request.headers["Idempotency-Key"] for c in route.calls] == ["mine-0001", "mine-0001"]
    assert len(waits) == 1


async def test_async_get_is_retried(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.get(f"{T}/v1/alerts").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={"data": [], "has_more": False})]
    )
    async with async_client() as client:
        assert (await client.list_alerts()).data == []
    assert route.call_count == 2
    assert len(waits) == 1


# --- what is not ---------------------------------------------------------------------------------------


NOT_IDEMPOTENT = [
    ("POST", f"{S}/v1/orders/o-1/cancel", lambda c: c.cancel_order("o-1")),
    ("POST", f"{S}/v1/shipment-batches", lambda c: c.create_batch(BatchCreate(order_ids=["o-1"]))),
    ("POST", f"{A}/v1/purchases/p-1/resync", lambda c: c.resync_purchase("p-1")),
    ("POST", f"{T}/v1/alerts/7/ack", lambda c: c.acknowledge_alert(7)),
    ("POST", f"{S}/v1/webhook-deliveries/d-1/resend", lambda c: c.resend_webhook_delivery("d-1")),
    ("PATCH", f"{A}/v1/carriers/ZTO", lambda c: c.update_carrier("ZTO", CarrierUpdate(active=False))),
    (
        "POST",
        f"{S}/internal/v1/tracking-updates",
        lambda c: c.request("POST", "shipping", "/internal/v1/tracking-updates"),
    ),
]
NOT_IDEMPOTENT_IDS = [
    "cancel_order",
    "create_batch",
    "resync_purchase",
    "acknowledge_alert",
    "resend",
    "patch",
    "raw_post",
]


@pytest.mark.parametrize(
    "failure", [_unavailable(), httpx.Response(429, json=error("rate_limited")), httpx.ConnectError("refused")],
    ids=["503", "429", "connect"],
)  # fmt: skip
@pytest.mark.parametrize(("method", "url", "call"), NOT_IDEMPOTENT, ids=NOT_IDEMPOTENT_IDS)
def test_other_posts_are_never_retried(
    mock: respx.MockRouter,
    waits: list[float],
    method: str,
    url: str,
    call: Callable[..., Any],
    failure: httpx.Response | Exception,
) -> None:
    route = mock.route(method=method, url=url).mock(side_effect=[failure])  # a second try would find no answer
    with sync_client() as client, pytest.raises(WaybillError):
        call(client)
    assert route.call_count == 1
    assert waits == []


async def test_async_other_posts_are_never_retried(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.post(f"{S}/v1/orders/o-1/cancel").mock(side_effect=[_unavailable()])
    async with async_client() as client:
        with pytest.raises(ServerError):
            await client.cancel_order("o-1")
    assert route.call_count == 1
    assert waits == []


@pytest.mark.parametrize(
    ("status", "cls"), [(500, ServerError), (404, NotFound), (401, WaybillError), (409, WaybillError)]
)
def test_answers_that_a_repeat_would_not_change_are_not_retried(
    mock: respx.MockRouter, waits: list[float], status: int, cls: type[WaybillError]
) -> None:
    route = mock.get(f"{S}/v1/orders/o-1").respond(status, json=error("refused"))
    with sync_client() as client, pytest.raises(cls):
        client.get_order("o-1")
    assert route.call_count == 1
    assert waits == []


# --- how many, and how long between ---------------------------------------------------------------------


def test_the_tries_are_bounded(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.get(f"{S}/v1/orders/o-1").mock(side_effect=[_unavailable() for _ in range(10)])
    with sync_client(retries=Retries(attempts=4, backoff=1.0, max_backoff=3.0)) as client, pytest.raises(ServerError):
        client.get_order("o-1")
    assert route.call_count == 4
    assert len(waits) == 3
    ceilings = [1.0, 2.0, 3.0]  # doubling, capped at max_backoff
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True)), waits


def test_retries_can_be_turned_off(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.get(f"{S}/v1/orders/o-1").mock(side_effect=[httpx.ConnectError("refused"), _ok("OrderOut")])
    with sync_client() as client, pytest.raises(NetworkError):
        client.with_options(retries=1).get_order("o-1")
    assert route.call_count == 1


def test_retry_after_is_honoured(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.get(f"{A}/v1/balance").mock(
        side_effect=[
            httpx.Response(429, json=error("rate_limited"), headers={"Retry-After": "7"}),
            httpx.Response(503, json=error("unavailable"), headers={"Retry-After": "2"}),
            _ok("BalanceOut"),
        ]
    )
    with sync_client() as client:
        client.get_balance()
    assert waits == [7.0, 2.0]
    assert route.call_count == 3


async def test_async_retry_after_is_honoured(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.post(f"{S}/v1/orders").mock(
        side_effect=[httpx.Response(429, json=error("rate_limited"), headers={"Retry-After": "5"}), _ok("OrderOut")]
    )
    async with async_client() as client:
        await client.create_order(_order())
    assert waits == [5.0]
    assert route.call_count == 2


def test_a_retry_after_longer_than_the_most_waited_is_raised(mock: respx.MockRouter, waits: list[float]) -> None:
    route = mock.get(f"{A}/v1/balance").mock(
        side_effect=[
            httpx.Response(429, json=error("rate_limited"), headers={"Retry-After": "3600"}),
            _ok("BalanceOut"),
        ]
    )
    with sync_client(retries=Retries(max_retry_after=60)) as client, pytest.raises(RateLimited) as raised:
        client.get_balance()
    assert raised.value.retry_after == 3600.0
    assert route.call_count == 1
    assert waits == []
