"""PinduoduoChannel as base.Channel: carrier mapping, may_ship, seller id, orders, confirmation, and every
PddError turned into a ChannelError with its refusal."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from services.shipping.channels.base import (
    BadMessage,
    Channel,
    ChannelError,
    ChannelName,
    MessageKind,
    MessageRefused,
    OrderState,
    Refusal,
    StoreAccess,
)
from services.shipping.channels.pinduoduo import errors, protocol
from services.shipping.channels.pinduoduo.channel import PinduoduoChannel
from services.shipping.channels.pinduoduo.client import PinduoduoClient
from services.shipping.channels.pinduoduo.messages import message_sign

URL = "http://pdd.test/api/router"
STORE = StoreAccess(store_id="s1", seller_id="171504183", token="tok")
ORDER_SN = "231128-012345678901234"


@pytest.fixture
async def channel() -> AsyncIterator[PinduoduoChannel]:
    async with httpx.AsyncClient() as http:
        yield PinduoduoChannel(PinduoduoClient(http, URL, "pdd-client", "pdd-secret", timeout=5))


def answer(body: object) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body, ensure_ascii=False).encode())


def error(code: int, msg: str = "refused") -> httpx.Response:
    return answer({"error_response": {"error_code": code, "error_msg": msg, "request_id": "1"}})


def by_type(responses: dict[str, httpx.Response]):
    def handler(request: httpx.Request) -> httpx.Response:
        return responses[dict(parse_qsl(request.content.decode()))["type"]]

    return handler


def test_it_is_a_channel(channel: PinduoduoChannel) -> None:
    typed: Channel = channel
    assert typed.name is ChannelName.PINDUODUO


def test_carrier_codes_both_ways(channel: PinduoduoChannel) -> None:
    assert channel.carrier_code("ZTO") == "115"
    assert channel.carrier_code("yto") == "85"
    assert channel.carrier_code("JTSD") == channel.carrier_code("JT")
    assert channel.our_carrier("115") == "ZTO"
    assert channel.our_carrier("YUNDA") == "YUNDA"
    assert channel.our_carrier("99999") is None
    assert channel.our_carrier("9" * 50) is None
    for unknown in ("NOPE", "HTKY"):  # HTKY is ours but Pinduoduo's table here has no id for it
        with pytest.raises(ChannelError) as e:
            channel.carrier_code(unknown)
        assert e.value.refusal is Refusal.PERMANENT


async def test_seller_id_is_the_mall_id(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer({"mall_info_get_response": {"mall_id": 171504183}}))
        assert await channel.seller_id("tok") == "171504183"


async def test_an_invalid_token_is_a_session_invalid_channel_error(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=error(errors.ACCESS_TOKEN_INVALID, "access_token无效"))
        with pytest.raises(ChannelError) as e:
            await channel.seller_id("bad")
    assert (e.value.channel, e.value.code, e.value.session_invalid) == (ChannelName.PINDUODUO, "10035", True)
    assert e.value.message == "access_token无效"


ORDER = {
    "order_info_get_response": {
        "order_info": {
            "order_sn": ORDER_SN,
            "order_status": 1,
            "refund_status": 1,
            "receiver_name": "王",
            "province": "广东省",
            "address": "路 1 号",
        }
    }
}


async def test_fetch_order_gives_the_order_as_the_stores(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer(ORDER))
        order = await channel.fetch_order(STORE, ORDER_SN)
    assert order is not None
    assert (order.external_id, order.state, order.seller_id) == (ORDER_SN, OrderState.AWAITING_SHIPMENT, "171504183")
    assert channel.may_ship(order)


async def test_may_ship_only_awaiting_shipment(channel: PinduoduoChannel) -> None:
    refunding = json.loads(json.dumps(ORDER))
    refunding["order_info_get_response"]["order_info"]["refund_status"] = 3
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer(refunding))
        order = await channel.fetch_order(STORE, ORDER_SN)
    assert order is not None
    assert not channel.may_ship(order)


async def test_fetch_order_is_none_when_the_platform_says_it_does_not_exist(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=error(errors.ORDER_NOT_FOUND, "订单不存在"))
        assert await channel.fetch_order(STORE, ORDER_SN) is None


async def test_fetch_order_other_errors_are_classified(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=error(errors.RATE_LIMITED))
        with pytest.raises(ChannelError) as e:
            await channel.fetch_order(STORE, ORDER_SN)
    assert e.value.refusal is Refusal.RETRY


COMPANIES = {
    "logistics_companies_get_response": {
        "logistics_companies": [{"id": 9115, "logistics_company": "中通快递", "code": "ZTO", "available": 1}]
    }
}


async def test_confirm_sends_one_number_with_the_live_logistics_id(channel: PinduoduoChannel) -> None:
    sent = answer({"logistics_online_send_response": {"is_success": True}})
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: sent})
        )
        await channel.confirm(STORE, ORDER_SN, ["73100000000001"], "ZTO")
    form = dict(parse_qsl(route.calls.last.request.content.decode()))
    assert (form["type"], form["access_token"]) == (protocol.ONLINE_SEND, "tok")
    assert (form["order_sn"], form["logistics_id"], form["tracking_number"]) == (ORDER_SN, "9115", "73100000000001")


async def test_confirm_uses_the_table_when_the_live_list_lacks_the_carrier(channel: PinduoduoChannel) -> None:
    sent = answer({"logistics_online_send_response": {"is_success": True}})
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: sent})
        )
        await channel.confirm(STORE, ORDER_SN, ["YT1"], "YTO")
    assert dict(parse_qsl(route.calls.last.request.content.decode()))["logistics_id"] == "85"


async def test_confirm_refuses_several_numbers_and_none(channel: PinduoduoChannel) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL)
        for numbers in (["A1", "A2"], []):
            with pytest.raises(ChannelError) as e:
                await channel.confirm(STORE, ORDER_SN, numbers, "ZTO")
            assert e.value.refusal is Refusal.PERMANENT
        assert not route.called
    with pytest.raises(ChannelError, match="multi-parcel not supported yet"):
        await channel.confirm(STORE, ORDER_SN, ["A1", "A2"], "ZTO")


async def test_confirm_with_an_unknown_carrier_is_permanent(channel: PinduoduoChannel) -> None:
    with pytest.raises(ChannelError) as e:
        await channel.confirm(STORE, ORDER_SN, ["A1"], "NOPE")
    assert e.value.refusal is Refusal.PERMANENT


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        (errors.ORDER_ALREADY_SHIPPED, Refusal.ALREADY_SHIPPED),
        (errors.ORDER_CANNOT_SHIP, Refusal.ORDER_CLOSED),
        (errors.TRACKING_NUMBER_INVALID, Refusal.NUMBER_REJECTED),
        (errors.TRACKING_NUMBER_USED, Refusal.NUMBER_REJECTED),
        (errors.LOGISTICS_COMPANY_UNKNOWN, Refusal.PERMANENT),
        (errors.SERVICE_UNAVAILABLE, Refusal.RETRY),
    ],
)
async def test_confirm_refusals_keep_their_meaning(channel: PinduoduoChannel, code: int, refusal: Refusal) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(
            side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: error(code, "拒绝")})
        )
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000001"], "ZTO")
    assert (e.value.refusal, e.value.code, e.value.message) == (refusal, str(code), "拒绝")


async def test_confirm_is_success_false_is_permanent(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(
            side_effect=by_type(
                {
                    protocol.COMPANIES: answer(COMPANIES),
                    protocol.ONLINE_SEND: answer({"logistics_online_send_response": {"is_success": False}}),
                }
            )
        )
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000001"], "ZTO")
    assert e.value.refusal is Refusal.PERMANENT


async def test_a_network_failure_on_confirm_is_retry(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(side_effect=httpx.ConnectError("down"))
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000001"], "ZTO")
    assert (e.value.refusal, e.value.code) == (Refusal.RETRY, "network")


def _signed(body: bytes, stamp: int, client_id: str = "pdd-client") -> dict[str, str]:
    return {
        "X-Pdd-Client-Id": client_id,
        "X-Pdd-Timestamp": str(stamp),
        "X-Pdd-Sign": message_sign("pdd-secret", str(stamp), body),
    }


def test_read_message_verifies_with_the_clients_credentials_and_now(channel: PinduoduoChannel) -> None:
    content = json.dumps({"mall_id": 7, "tid": ORDER_SN})
    body = json.dumps({"id": 1, "message": {"type": "pdd_trade_TradeConfirmed", "mallID": 7, "content": content}})
    raw = body.encode()
    now = int(time.time())
    m = channel.read_message(_signed(raw, now), raw)
    assert (m.kind, m.external_id, m.seller_id) == (MessageKind.PAID, ORDER_SN, "7")
    with pytest.raises(MessageRefused):
        channel.read_message(_signed(raw, now - 301), raw)
    with pytest.raises(MessageRefused):
        channel.read_message(_signed(raw, now, client_id="other"), raw)
    with pytest.raises(BadMessage):
        channel.read_message(_signed(b"{}", now), b"{}")
