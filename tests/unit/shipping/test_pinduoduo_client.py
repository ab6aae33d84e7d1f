"""PinduoduoClient over respx: each call's form fields and signature, errors, network failure, companies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from services.shipping.channels.base import Refusal
from services.shipping.channels.pinduoduo import carriers, errors, protocol
from services.shipping.channels.pinduoduo.client import PinduoduoClient
from services.shipping.channels.pinduoduo.errors import PddError

URL = "http://pdd.test/api/router"
CLIENT_ID = "pdd-client"
SECRET = "pdd-secret"


@pytest.fixture
async def client() -> AsyncIterator[PinduoduoClient]:
    async with httpx.AsyncClient() as http:
        yield PinduoduoClient(http, URL, CLIENT_ID, SECRET, timeout=5)


def form_of(request: httpx.Request) -> dict[str, str]:
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def assert_signed(form: dict[str, str], type_: str, token: str | None) -> None:
    assert form["type"] == type_
    assert form["client_id"] == CLIENT_ID
    assert form["data_type"] == "JSON"
    assert form["version"] == "V1"
    assert form["timestamp"].isdigit()
    assert form.get("access_token") == token
    assert form["sign"] == protocol.sign({k: v for k, v in form.items() if k != "sign"}, SECRET)


def answer(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body, ensure_ascii=False).encode())


async def test_mall_id_asks_mall_info_with_the_token(client: PinduoduoClient) -> None:
    async with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL).mock(return_value=answer({"mall_info_get_response": {"mall_id": 42, "mall_name": "店"}}))
        assert await client.mall_id("tok-1") == "42"
    assert_signed(form_of(route.calls.last.request), protocol.MALL_INFO, "tok-1")


async def test_order_asks_for_the_order_sn(client: PinduoduoClient) -> None:
    body = {"order_info_get_response": {"order_info": {"order_sn": "231128-1", "order_status": 1, "refund_status": 1}}}
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=answer(body))
        order = await client.order("tok", "231128-1")
    form = form_of(route.calls.last.request)
    assert_signed(form, protocol.ORDER_INFO, "tok")
    assert form["order_sn"] == "231128-1"
    assert order.external_id == "231128-1"


async def test_online_send_carries_order_company_and_number(client: PinduoduoClient) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=answer({"logistics_online_send_response": {"is_success": True}}))
        assert await client.online_send("tok", "231128-1", 115, "73100000000001")
    form = form_of(route.calls.last.request)
    assert_signed(form, protocol.ONLINE_SEND, "tok")
    assert (form["order_sn"], form["logistics_id"], form["tracking_number"]) == ("231128-1", "115", "73100000000001")


async def test_a_redelivery_carries_its_type(client: PinduoduoClient) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=answer({"logistics_online_send_response": {"is_success": True}}))
        assert await client.online_send("tok", "231128-1", 115, "73100000000002", redelivery_type=2)
    form = form_of(route.calls.last.request)
    assert_signed(form, protocol.ONLINE_SEND, "tok")
    assert (form["tracking_number"], form["redelivery_type"]) == ("73100000000002", "2")


async def test_upload_extra_carries_the_type_and_the_list(client: PinduoduoClient) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=answer({"upload_extra_logistics_response": {"success": True}}))
        assert await client.upload_extra("tok", "231128-1", 1, 115, ["73100000000003", "73100000000004"])
    form = form_of(route.calls.last.request)
    assert_signed(form, protocol.UPLOAD_EXTRA, "tok")
    assert (form["order_sn"], form["extra_track_type"]) == ("231128-1", "1")
    assert json.loads(form["extra_track_list"]) == [
        {"shipping_id": 115, "tracking_number": "73100000000003"},
        {"shipping_id": 115, "tracking_number": "73100000000004"},
    ]


async def test_an_error_envelope_is_raised_with_its_refusal(client: PinduoduoClient) -> None:
    err = {"error_response": {"error_code": errors.ORDER_ALREADY_SHIPPED, "error_msg": "订单已发货", "request_id": "1"}}
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer(err))
        with pytest.raises(PddError) as e:
            await client.online_send("tok", "231128-1", 115, "7310")
    assert (e.value.refusal, e.value.msg) == (Refusal.ALREADY_SHIPPED, "订单已发货")


async def test_an_expired_token_is_session_invalid(client: PinduoduoClient) -> None:
    err = {"error_response": {"error_code": 10019, "error_msg": "access_token已过期", "request_id": "1"}}
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer(err))
        with pytest.raises(PddError) as e:
            await client.mall_id("old")
    assert e.value.session_invalid


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_a_transport_failure_is_a_network_error_to_retry(client: PinduoduoClient, exc: Exception) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(side_effect=exc)
        with pytest.raises(PddError) as e:
            await client.mall_id("tok")
    assert (e.value.code, e.value.refusal) == ("network", Refusal.RETRY)


async def test_a_5xx_is_a_network_error(client: PinduoduoClient) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=httpx.Response(503, text="busy"))
        with pytest.raises(PddError) as e:
            await client.mall_id("tok")
    assert e.value.refusal is Refusal.RETRY


COMPANIES = {
    "logistics_companies_get_response": {
        "logistics_companies": [
            {"id": 115, "logistics_company": "中通快递", "code": "ZTO", "available": 1},
            {"id": 7001, "logistics_company": "极兔速递", "code": "JTSD", "available": 1},
        ]
    }
}


async def test_companies_are_asked_without_a_token_and_cached(client: PinduoduoClient) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=answer(COMPANIES))
        assert await client.companies() == {115: "ZTO", 7001: "JTSD"}
        assert await client.companies() == {115: "ZTO", 7001: "JTSD"}
    assert route.call_count == 1
    assert_signed(form_of(route.calls.last.request), protocol.COMPANIES, None)


async def test_companies_fall_back_to_the_table_and_ask_again_later(client: PinduoduoClient) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL)
        route.side_effect = [
            httpx.ConnectError("down"),
            answer({"error_response": {"error_code": 52103}}),
            answer(COMPANIES),
        ]
        assert await client.companies() == carriers.table_ids()
        assert await client.companies() == carriers.table_ids()
        assert await client.companies() == {115: "ZTO", 7001: "JTSD"}
    assert route.call_count == 3
    assert carriers.table_ids()[115] == "ZTO"


async def test_an_empty_companies_list_falls_back_to_the_table(client: PinduoduoClient) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer({"logistics_companies_get_response": {"logistics_companies": []}}))
        assert await client.companies() == carriers.table_ids()
