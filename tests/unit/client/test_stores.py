"""The store operations (bind, list, read, rename or renew, unbind) and the orders' channel and store filters:
where each call goes, what it sends, what it answers, and which of them are sent again after a failure."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from waybill_client import AsyncWaybillClient, Conflict, ServerError, ValidationError, WaybillClient, _transport
from waybill_client.models import PageStoreOut, StoreIn, StoreOut, StoreUpdate

from tests.unit.client.support import URLS, async_client, error, example, page, sync_client

S = URLS["shipping"]
STORE = example("StoreOut")


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def client() -> Iterator[WaybillClient]:
    with sync_client() as c:
        yield c


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncWaybillClient]:
    async with async_client() as c:
        yield c


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def asleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(_transport, "sleep", waited.append)
    monkeypatch.setattr(_transport, "asleep", asleep)
    return waited


def test_bind_sends_only_the_fields_given_and_reads_the_store(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.post(f"{S}/v1/stores").respond(201, json=STORE)
    store = client.bind_store(StoreIn(channel="pinduoduo", token="c5a8d1"))
    assert isinstance(store, StoreOut)
    assert store.id == STORE["id"]
    assert json.loads(route.calls.last.request.content) == {"channel": "pinduoduo", "token": "c5a8d1"}


def test_a_renewing_bind_answers_200_with_the_store(mock: respx.MockRouter, client: WaybillClient) -> None:
    mock.post(f"{S}/v1/stores").respond(200, json={**STORE, "name": "renewed"})
    assert client.bind_store(StoreIn(channel="taobao", token="t", seller_id="杭州小铺")).name == "renewed"


def test_a_seller_not_verified_is_a_validation_error(mock: respx.MockRouter, client: WaybillClient) -> None:
    mock.post(f"{S}/v1/stores").respond(422, json=error("seller_not_verified", "not 杭州小铺's"))
    with pytest.raises(ValidationError) as raised:
        client.bind_store(StoreIn(channel="taobao", token="t", seller_id="杭州小铺"))
    assert raised.value.code == "seller_not_verified"


def test_a_seller_of_another_shop_is_a_conflict(mock: respx.MockRouter, client: WaybillClient) -> None:
    mock.post(f"{S}/v1/stores").respond(409, json=error("conflict"))
    with pytest.raises(Conflict):
        client.bind_store(StoreIn(channel="taobao", token="t"))


def test_list_stores_filters_by_channel_and_pages(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{S}/v1/stores").respond(200, json=page("StoreOut", 2, "c-2"))
    answer = client.list_stores(channel="taobao", limit=2)
    assert isinstance(answer, PageStoreOut)
    assert answer.next_cursor == "c-2"
    assert [s.id for s in answer.data] == [STORE["id"]] * 2
    assert dict(route.calls.last.request.url.params) == {"channel": "taobao", "limit": "2"}


def test_iter_stores_follows_the_pages(mock: respx.MockRouter, client: WaybillClient) -> None:
    pages = [httpx.Response(200, json=page("StoreOut", 2, "c-2")), httpx.Response(200, json=page("StoreOut", 1, None))]
    route = mock.get(f"{S}/v1/stores").mock(side_effect=pages)
    assert len(list(client.iter_stores(channel="pinduoduo"))) == 3
    assert route.calls[1].request.url.params["cursor"] == "c-2"
    assert route.calls[1].request.url.params["channel"] == "pinduoduo"


def test_get_update_and_unbind_name_the_store_in_the_path(mock: respx.MockRouter, client: WaybillClient) -> None:
    got = mock.get(f"{S}/v1/stores/sto_1").respond(200, json=STORE)
    patched = mock.patch(f"{S}/v1/stores/sto_1").respond(200, json={**STORE, "name": "淘宝店"})
    unbound = mock.delete(f"{S}/v1/stores/sto_1").respond(200, json={**STORE, "active": False, "token_set": False})
    assert client.get_store("sto_1").seller_id == STORE["seller_id"]
    assert client.update_store("sto_1", StoreUpdate(name="淘宝店")).name == "淘宝店"
    assert json.loads(patched.calls.last.request.content) == {"name": "淘宝店"}
    gone = client.unbind_store("sto_1")
    assert isinstance(gone, StoreOut)  # the unbound store, not an empty 204
    assert (gone.active, gone.token_set) == (False, False)
    assert got.called
    assert unbound.called


def test_a_store_id_cannot_reach_another_route(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{S}/v1/stores/..%2Forders").respond(200, json=STORE)
    client.get_store("../orders")
    assert route.called


async def test_async_store_calls(mock: respx.MockRouter, aclient: AsyncWaybillClient) -> None:
    mock.post(f"{S}/v1/stores").respond(201, json=STORE)
    mock.get(f"{S}/v1/stores").respond(200, json=page("StoreOut", 1, None))
    assert (await aclient.bind_store(StoreIn(channel="taobao", token="t"))).id == STORE["id"]
    assert [s.id async for s in aclient.iter_stores()] == [STORE["id"]]


def test_orders_filter_by_channel_and_store(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{S}/v1/orders").respond(200, json=page("OrderOut", 1, None))
    order = client.list_orders(channel="taobao", store_id="sto_1").data[0]
    assert dict(route.calls.last.request.url.params) == {"channel": "taobao", "store_id": "sto_1"}
    assert (order.channel, order.store_id) == ("taobao", example("OrderOut")["store_id"])


def test_reads_of_stores_are_retried(mock: respx.MockRouter, client: WaybillClient, waits: list[float]) -> None:
    unavailable = httpx.Response(503, json=error("unavailable"))
    route = mock.get(f"{S}/v1/stores/sto_1").mock(side_effect=[unavailable, httpx.Response(200, json=STORE)])
    unbind = mock.delete(f"{S}/v1/stores/sto_1").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=STORE)]
    )
    client.get_store("sto_1")
    client.unbind_store("sto_1")  # DELETE: unbinding twice leaves it unbound
    assert (route.call_count, unbind.call_count) == (2, 2)


def test_bind_and_update_are_sent_once(mock: respx.MockRouter, client: WaybillClient, waits: list[float]) -> None:
    bind = mock.post(f"{S}/v1/stores").respond(503, json=error("unavailable"))
    update = mock.patch(f"{S}/v1/stores/sto_1").respond(503, json=error("unavailable"))
    with pytest.raises(ServerError):
        client.bind_store(StoreIn(channel="taobao", token="t"))
    with pytest.raises(ServerError):
        client.update_store("sto_1", StoreUpdate(token="t2"))
    assert (bind.call_count, update.call_count, waits) == (1, 1, [])
