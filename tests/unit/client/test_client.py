"""Both clients call the right service's URL with the key (and the shop, for the admin and internal keys),
send the arguments where the operation takes them, and read the answer into its model."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from waybill_client import AsyncWaybillClient, WaybillClient
from waybill_client.models import (
    AllocateRequest,
    Allocation,
    ChangeNumbersRequest,
    OrderCreate,
    OrderOut,
    PageOrderOut,
    Receiver,
    StoreUpdate,
    TrackingOut,
    VoidRequest,
)

from tests.unit.client.support import KEY, URLS, async_client, example, page, sync_client


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


def _order_create() -> OrderCreate:
    receiver = Receiver(name="张三", phone="13800000000", state="广东省", city="深圳市", address="科技园 1 号")
    return OrderCreate(external_id="3001234567890123456", receiver=receiver, weight_g=500)


def test_sync_calls_the_services_url_with_the_key(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{URLS['shipping']}/v1/orders/ord_1").respond(200, json=example("OrderOut"))
    order = client.get_order("ord_1")
    assert isinstance(order, OrderOut)
    assert order.id == example("OrderOut")["id"]
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert "X-Shop-Id" not in request.headers
    assert request.headers["User-Agent"].startswith("waybill-client/")


async def test_async_calls_the_services_url_with_the_key(mock: respx.MockRouter, aclient: AsyncWaybillClient) -> None:
    route = mock.get(f"{URLS['tracking']}/v1/trackings/783456").respond(200, json=example("TrackingOut"))
    tracking = await aclient.get_tracking("783456", carrier="ZTO")
    assert isinstance(tracking, TrackingOut)
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.url.params["carrier"] == "ZTO"


@pytest.mark.parametrize(
    ("service", "path", "method", "answer"),
    [
        ("allocation", "/v1/purchases/x-1", "get_purchase", example("PurchaseOut")),
        ("shipping", "/v1/shipments/x-1", "get_shipment", example("ShipmentOut")),
        ("tracking", "/v1/orders/x-1/tracking", "get_order_tracking", {"order_id": "x-1", "parcels": []}),
    ],
)
async def test_each_operation_goes_to_its_service(
    mock: respx.MockRouter,
    client: WaybillClient,
    aclient: AsyncWaybillClient,
    service: str,
    path: str,
    method: str,
    answer: dict[str, object],
) -> None:
    route = mock.get(f"{URLS[service]}{path}").respond(200, json=answer)
    getattr(client, method)("x-1")
    await getattr(aclient, method)("x-1")
    assert route.call_count == 2


def test_one_gateway_url_serves_the_three_services(mock: respx.MockRouter) -> None:
    mock.get("https://api.test/gw/v1/balance").respond(200, json=example("BalanceOut"))
    mock.get("https://api.test/gw/v1/orders/o-1/tracking").respond(200, json={"order_id": "o-1", "parcels": []})
    with WaybillClient(KEY, base_url="https://api.test/gw/") as c:
        assert c.get_balance().shop_id == example("BalanceOut")["shop_id"]
        assert c.get_order_tracking("o-1").parcels == []
        assert c.urls == dict.fromkeys(("allocation", "shipping", "tracking"), "https://api.test/gw")


def test_a_service_without_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="tracking"):
        WaybillClient(KEY, allocation_url=URLS["allocation"], shipping_url=URLS["shipping"])


def test_the_admin_key_names_the_shop_it_acts_for(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{URLS['allocation']}/v1/balance").respond(200, json=example("BalanceOut"))
    admin = client.with_options(api_key="admin-key", shop_id="s-1")
    admin.get_balance(limit=1)
    client.get_balance()
    first, second = (call.request for call in route.calls)
    assert first.headers["Authorization"] == "Bearer admin-key"
    assert first.headers["X-Shop-Id"] == "s-1"
    assert first.url.params["limit"] == "1"
    assert second.headers["Authorization"] == f"Bearer {KEY}"  # the original client is unchanged
    assert "X-Shop-Id" not in second.headers
    assert admin.with_options(shop_id=None).shop_id is None


def test_the_query_carries_only_what_is_given(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{URLS['shipping']}/v1/orders").respond(200, json=page("OrderOut", 1, None))
    answer = client.list_orders(status="new", limit=5)
    assert isinstance(answer, PageOrderOut)
    assert answer.has_more is False
    assert dict(route.calls.last.request.url.params) == {"status": "new", "limit": "5"}


def test_path_parameters_are_one_segment(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{URLS['tracking']}/v1/trackings/a%2F..%2Fb").respond(200, json=example("TrackingOut"))
    client.get_tracking("a/../b")
    assert route.called


def test_a_body_is_the_fields_the_caller_set(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.post(f"{URLS['shipping']}/v1/orders").respond(201, json=example("OrderOut"))
    client.create_order(_order_create())
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "external_id": "3001234567890123456",
        "receiver": {
            "name": "张三",
            "phone": "13800000000",
            "state": "广东省",
            "city": "深圳市",
            "address": "科技园 1 号",
        },
        "weight_g": 500,
    }  # the server's defaults (payment_cents, items, district...) are its own
    assert route.calls.last.request.headers["Content-Type"] == "application/json"


async def test_async_posts_a_body(mock: respx.MockRouter, aclient: AsyncWaybillClient) -> None:
    route = mock.post(f"{URLS['allocation']}/v1/allocations").respond(200, json=example("Allocation"))
    allocation = await aclient.allocate(AllocateRequest(carrier="ZTO", order_id="3927481123456789"))
    assert isinstance(allocation, Allocation)
    assert json.loads(route.calls.last.request.content) == {"carrier": "ZTO", "order_id": "3927481123456789"}


def test_an_optional_body_left_out_sends_none(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.post(f"{URLS['shipping']}/v1/orders/o-1/ship").respond(202, json=example("ShipmentOut"))
    client.ship_order("o-1")
    assert route.calls.last.request.content == b""


def test_no_content_answers_none_and_a_pdf_its_bytes(mock: respx.MockRouter, client: WaybillClient) -> None:
    mock.delete(f"{URLS['allocation']}/v1/shops/s-1/keys/k-1").respond(204)
    pdf = b"%PDF-1.7 label"
    mock.get(f"{URLS['shipping']}/v1/shipments/s-1/label.pdf").respond(
        200, content=pdf, headers={"Content-Type": "application/pdf"}
    )
    client.revoke_key("s-1", "k-1")  # returns None
    assert client.get_shipment_label("s-1") == pdf


def test_request_reaches_what_the_operations_do_not_cover(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.get(f"{URLS['tracking']}/internal/v1/clock").respond(200, json={"now": "2026-11-28T09:00:00Z"})
    assert client.request("GET", "tracking", "/internal/v1/clock") == {"now": "2026-11-28T09:00:00Z"}
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {KEY}"


async def test_async_request(mock: respx.MockRouter, aclient: AsyncWaybillClient) -> None:
    route = mock.post(f"{URLS['shipping']}/internal/v1/tracking-updates").respond(200, json={"applied": True})
    assert await aclient.request("POST", "shipping", "/internal/v1/tracking-updates", json={"a": 1}) == {
        "applied": True
    }
    assert json.loads(route.calls.last.request.content) == {"a": 1}


def test_a_client_given_an_http_client_leaves_it_open(mock: respx.MockRouter) -> None:
    mock.get(f"{URLS['allocation']}/v1/carriers").respond(200, json={"data": [], "has_more": False})
    http = httpx.Client()
    with WaybillClient(KEY, base_url=URLS["allocation"], http=http) as c:
        assert c.list_carriers().data == []
    assert not http.is_closed
    http.close()
    own = WaybillClient(KEY, base_url=URLS["allocation"])
    own.with_options(shop_id="s-1").close()  # a copy closes nothing
    assert not own._http.is_closed
    own.close()
    assert own._http.is_closed


def test_the_methods_keep_their_names_signatures_and_docs(client: WaybillClient) -> None:
    assert client.list_orders.__name__ == "list_orders"
    assert "oldest first" in (client.list_orders.__doc__ or "")
    assert list(inspect.signature(client.list_orders).parameters) == [
        "status", "external_id", "channel", "store_id", "ship_by_before", "ship_by_after", "held", "sort", "limit",
        "cursor",
    ]  # fmt: skip
    with pytest.raises(TypeError):
        client.get_order()  # type: ignore[call-arg]


def test_voids_number_changes_and_one_parcels_label(mock: respx.MockRouter, client: WaybillClient) -> None:
    shipment = example("ShipmentOut")
    void = mock.post(f"{URLS['shipping']}/v1/shipments/s-1/void").respond(200, json={**shipment, "status": "voided"})
    change = mock.post(f"{URLS['shipping']}/v1/shipments/s-1/change-numbers").respond(200, json=shipment)
    pdf = b"%PDF-1.7 parcel 2"
    mock.get(f"{URLS['shipping']}/v1/shipments/s-1/parcels/2/label.pdf").respond(
        200, content=pdf, headers={"Content-Type": "application/pdf"}
    )
    assert client.void_shipment("s-1", VoidRequest(reason="买家退款")).status == "voided"
    assert json.loads(void.calls.last.request.content) == {"reason": "买家退款"}
    client.void_shipment("s-1")
    assert void.calls.last.request.content == b""  # the server's default reason
    assert client.change_numbers("s-1", ChangeNumbersRequest(carrier="YTO")).parcels
    assert json.loads(change.calls.last.request.content) == {"carrier": "YTO"}
    assert client.get_parcel_label("s-1", 2) == pdf


def test_a_stores_confirm_mode_given_as_none_is_sent_as_null(mock: respx.MockRouter, client: WaybillClient) -> None:
    route = mock.patch(f"{URLS['shipping']}/v1/stores/sto-1").respond(200, json=example("StoreOut"))
    client.update_store("sto-1", StoreUpdate(confirm_mode=None))  # back to the shop's mode
    assert json.loads(route.calls.last.request.content) == {"confirm_mode": None}
    client.update_store("sto-1", StoreUpdate(confirm_mode="at_collection"))
    assert json.loads(route.calls.last.request.content) == {"confirm_mode": "at_collection"}


def test_auto_ship_rules_and_their_runs_page_by_page(mock: respx.MockRouter, client: WaybillClient) -> None:
    rule, run = example("AutoShipRuleOut"), example("AutoShipRunOut")
    rules = mock.get(f"{URLS['shipping']}/v1/auto-ship/rules").mock(
        side_effect=[
            httpx.Response(200, json={"data": [rule], "has_more": True, "next_cursor": "c2"}),
            httpx.Response(200, json={"data": [rule], "has_more": False, "next_cursor": None}),
        ]
    )
    assert [r.id for r in client.iter_auto_ship_rules(limit=1)] == [rule["id"], rule["id"]]
    assert rules.calls.last.request.url.params["cursor"] == "c2"
    runs = mock.get(f"{URLS['shipping']}/v1/auto-ship/rules/asp-1/runs").respond(
        200, json={"data": [run], "has_more": False, "next_cursor": None}
    )
    assert [r.batch_id for r in client.iter_auto_ship_runs("asp-1")] == [run["batch_id"]]
    assert runs.calls.last.request.url.params == httpx.QueryParams()
    mock.post(f"{URLS['shipping']}/v1/auto-ship/rules/asp-1/dry-run").respond(200, json=example("DryRunOut"))
    assert client.apply_rule_dry_run("asp-1").would_take == example("DryRunOut")["would_take"]
    mock.delete(f"{URLS['shipping']}/v1/auto-ship/rules/asp-1").respond(204)
    assert client.revoke_auto_ship_rule("asp-1") is None
