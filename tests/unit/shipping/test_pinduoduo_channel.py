"""PinduoduoChannel as base.Channel: carrier mapping, may_ship, seller id, orders, confirmation, and every
PddError turned into a ChannelError with its refusal."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
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
from services.shipping.channels.pinduoduo.channel import LIST_SLACK, PinduoduoChannel
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


@pytest.mark.parametrize(
    ("numbers", "lines"), [([], None), (["A1", ""], None), (["A1", "A1"], None), (["A1"], []), (["A1"], ["1", "1"])]
)
async def test_confirm_refuses_bad_numbers_or_lines_before_any_call(
    channel: PinduoduoChannel, numbers: list[str], lines: list[str] | None
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL)
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, numbers, "ZTO", lines=lines)
        assert e.value.refusal is Refusal.PERMANENT
        assert not route.called


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


# -- several parcels, split parts, number changes ------------------------------------------------------------

SENT = answer({"logistics_online_send_response": {"is_success": True}})
UPLOADED = answer({"upload_extra_logistics_response": {"success": True}})


def forms(route: respx.Route) -> list[dict[str, str]]:
    """Every call but the companies list, in order."""
    found = [dict(parse_qsl(c.request.content.decode())) for c in route.calls]
    return [f for f in found if f["type"] != protocol.COMPANIES]


def test_line_ids_are_positions() -> None:
    channel = PinduoduoChannel(PinduoduoClient(httpx.AsyncClient(), URL, "c", "s", timeout=1))
    assert channel.line_ids([{"goods_id": "9"}, {"goods_id": "8"}, {}]) == ["1", "2", "3"]
    assert channel.line_ids([]) == []


async def test_confirm_with_several_numbers_sends_the_first_then_the_others_as_extra_parcels(
    channel: PinduoduoChannel,
) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type(
                {protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: SENT, protocol.UPLOAD_EXTRA: UPLOADED}
            )
        )
        await channel.confirm(STORE, ORDER_SN, ["73100000000001", "73100000000002", "73100000000003"], "ZTO")
    send, extra = forms(route)
    assert (send["type"], send["tracking_number"], send["logistics_id"]) == (
        protocol.ONLINE_SEND,
        "73100000000001",
        "9115",
    )
    assert "redelivery_type" not in send  # a first send: the platform's default
    assert (extra["type"], extra["order_sn"], extra["extra_track_type"]) == (protocol.UPLOAD_EXTRA, ORDER_SN, "1")
    assert json.loads(extra["extra_track_list"]) == [
        {"shipping_id": 9115, "tracking_number": "73100000000002"},
        {"shipping_id": 9115, "tracking_number": "73100000000003"},
    ]
    assert extra["access_token"] == "tok"


async def test_a_later_part_of_a_split_order_is_only_extra_parcels(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.UPLOAD_EXTRA: UPLOADED})
        )
        await channel.confirm(STORE, ORDER_SN, ["73100000000004", "73100000000005"], "ZTO", lines=["2"], first=False)
    [extra] = forms(route)
    assert extra["type"] == protocol.UPLOAD_EXTRA
    numbers = [row["tracking_number"] for row in json.loads(extra["extra_track_list"])]
    assert numbers == ["73100000000004", "73100000000005"]


async def test_a_first_send_with_one_number_uploads_nothing_else(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: SENT})
        )
        await channel.confirm(STORE, ORDER_SN, ["73100000000001"], "ZTO", lines=["1"])
    assert [f["type"] for f in forms(route)] == [protocol.ONLINE_SEND]


def shipped_with(number: str) -> httpx.Response:
    body = json.loads(json.dumps(ORDER))
    body["order_info_get_response"]["order_info"].update(order_status=2, tracking_number=number, logistics_id=115)
    return answer(body)


async def test_a_repeat_whose_main_number_went_through_uploads_the_rest(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type(
                {
                    protocol.COMPANIES: answer(COMPANIES),
                    protocol.ONLINE_SEND: error(errors.ORDER_ALREADY_SHIPPED, "订单已发货"),
                    protocol.ORDER_INFO: shipped_with("73100000000001"),
                    protocol.UPLOAD_EXTRA: UPLOADED,
                }
            )
        )
        await channel.confirm(STORE, ORDER_SN, ["73100000000001", "73100000000002"], "ZTO")
    assert [f["type"] for f in forms(route)] == [protocol.ONLINE_SEND, protocol.ORDER_INFO, protocol.UPLOAD_EXTRA]


async def test_already_shipped_with_another_number_stays_already_shipped(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type(
                {
                    protocol.COMPANIES: answer(COMPANIES),
                    protocol.ONLINE_SEND: error(errors.ORDER_ALREADY_SHIPPED, "订单已发货"),
                    protocol.ORDER_INFO: shipped_with("73199999999999"),
                }
            )
        )
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000001", "73100000000002"], "ZTO")
    assert e.value.refusal is Refusal.ALREADY_SHIPPED
    assert protocol.UPLOAD_EXTRA not in [f["type"] for f in forms(route)]


async def test_a_refused_extra_number_is_named(channel: PinduoduoChannel) -> None:
    refused = answer(
        {
            "error_response": {
                "error_code": errors.TRACKING_NUMBER_USED,
                "error_msg": "运单号已被使用",
                "sub_code": "50005",
                "sub_msg": "运单号 73100000000003 已被其他订单使用",
            }
        }
    )
    async with respx.mock() as mock:
        mock.post(URL).mock(
            side_effect=by_type(
                {protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: SENT, protocol.UPLOAD_EXTRA: refused}
            )
        )
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000001", "73100000000002", "73100000000003"], "ZTO")
    assert (e.value.refusal, e.value.code, e.value.number) == (Refusal.NUMBER_REJECTED, "50005", "73100000000003")


async def test_a_refusal_naming_no_number_of_several_names_none(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(
            side_effect=by_type(
                {
                    protocol.COMPANIES: answer(COMPANIES),
                    protocol.ONLINE_SEND: SENT,
                    protocol.UPLOAD_EXTRA: error(errors.TRACKING_NUMBER_INVALID, "运单号不符合快递公司规则"),
                }
            )
        )
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000001", "73100000000002", "73100000000003"], "ZTO")
    assert (e.value.refusal, e.value.number) == (Refusal.NUMBER_REJECTED, None)


async def test_a_refused_single_number_is_that_number(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(
            side_effect=by_type(
                {protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: error(errors.TRACKING_NUMBER_INVALID)}
            )
        )
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000001", "73100000000002"], "ZTO")
    assert (e.value.refusal, e.value.number) == (Refusal.NUMBER_REJECTED, "73100000000001")


async def test_an_extra_upload_without_success_is_permanent(channel: PinduoduoChannel) -> None:
    failed = answer({"upload_extra_logistics_response": {"success": False}})
    async with respx.mock() as mock:
        mock.post(URL).mock(side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.UPLOAD_EXTRA: failed}))
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, ORDER_SN, ["73100000000004"], "ZTO", first=False)
    assert e.value.refusal is Refusal.PERMANENT


async def test_change_numbers_redelivers_the_main_number_and_adds_the_others(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type(
                {protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: SENT, protocol.UPLOAD_EXTRA: UPLOADED}
            )
        )
        await channel.change_numbers(STORE, ORDER_SN, ["73100000000007", "73100000000008"], "ZTO")
    send, extra = forms(route)
    assert (send["type"], send["tracking_number"], send["redelivery_type"]) == (
        protocol.ONLINE_SEND,
        "73100000000007",
        "2",
    )
    assert [row["tracking_number"] for row in json.loads(extra["extra_track_list"])] == ["73100000000008"]
    assert extra["extra_track_type"] == "1"


async def test_change_numbers_with_one_number_is_only_the_redelivery(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(
            side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: SENT})
        )
        await channel.change_numbers(STORE, ORDER_SN, ["73100000000007"], "ZTO")
    assert [f.get("redelivery_type") for f in forms(route)] == ["2"]


@pytest.mark.parametrize(
    ("code", "refusal"),
    [
        (errors.SHIPMENT_UNCHANGEABLE, Refusal.PERMANENT),  # redelivery of an order not shipped (or signed for)
        (errors.ORDER_CANNOT_SHIP, Refusal.ORDER_CLOSED),
        (errors.TRACKING_NUMBER_USED, Refusal.NUMBER_REJECTED),
        (errors.RATE_LIMITED_API, Refusal.RETRY),
    ],
)
async def test_change_numbers_refusals(channel: PinduoduoChannel, code: int, refusal: Refusal) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(
            side_effect=by_type({protocol.COMPANIES: answer(COMPANIES), protocol.ONLINE_SEND: error(code, "拒绝")})
        )
        with pytest.raises(ChannelError) as e:
            await channel.change_numbers(STORE, ORDER_SN, ["73100000000007", "73100000000008"], "ZTO")
    assert (e.value.refusal, e.value.code) == (refusal, str(code))
    assert e.value.number == ("73100000000007" if refusal.number_related else None)


async def test_fetch_order_reads_every_number_and_the_ship_by_time(channel: PinduoduoChannel) -> None:
    body = json.loads(json.dumps(ORDER))
    body["order_info_get_response"]["order_info"].update(
        order_status=2,
        tracking_number="73100000000001",
        logistics_id=115,
        last_ship_time="2023-11-30 10:00:00",
        extra_delivery_list=[{"logistics_id": 115, "tracking_number": "73100000000002"}],
    )
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=answer(body))
        order = await channel.fetch_order(STORE, ORDER_SN)
    assert order is not None
    assert order.shipped_numbers == ("73100000000001", "73100000000002")
    assert order.ship_by is not None
    assert order.ship_by.isoformat() == "2023-11-30T10:00:00+08:00"


def _row(sn: str) -> dict[str, object]:
    return {**ORDER["order_info_get_response"]["order_info"], "order_sn": sn}


def _listing(pages: dict[int, list[str]], total: int, seen: list[dict[str, str]]):
    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode()))
        seen.append(params)
        assert params["type"] == protocol.ORDER_INCREMENT
        rows = [_row(sn) for sn in pages.get(int(params["page"]), [])]
        return answer({"order_sn_increment_get_response": {"order_sn_list": rows, "total_count": total}})

    return handler


async def test_fetch_orders_lists_orders_awaiting_shipment_updated_since_the_earliest_message(
    channel: PinduoduoChannel,
) -> None:
    seen: list[dict[str, str]] = []
    received = datetime.now(UTC) - timedelta(seconds=5)
    other = "231128-012345678909999"
    async with respx.mock() as mock:
        mock.post(URL).mock(side_effect=_listing({1: [other, ORDER_SN]}, 2, seen))
        found = await channel.fetch_orders(STORE, {ORDER_SN: received, "231128-000000000000001": received})
    assert list(found) == [ORDER_SN]  # an order not asked for is left; one not listed is the caller's
    assert found[ORDER_SN].seller_id == STORE.seller_id  # order_info names no mall: the store's
    [params] = seen
    assert (params["order_status"], params["refund_status"], params["page"], params["page_size"]) == (
        "1",
        "5",
        "1",
        "100",
    )
    start, end = int(params["start_updated_at"]), int(params["end_updated_at"])
    assert start == int((received - LIST_SLACK).timestamp())
    assert abs(end - time.time()) <= 2


async def test_fetch_orders_pages_from_the_last_backwards_and_stops_once_all_are_found(
    channel: PinduoduoChannel,
) -> None:
    seen: list[dict[str, str]] = []
    now = datetime.now(UTC)
    wanted = {ORDER_SN: now, "231128-000000000000002": now, "231128-000000000000003": now}
    pages = {1: ["231128-000000000000003"], 5: [ORDER_SN], 4: ["231128-000000000000002"], 3: ["231128-0000004"]}
    async with respx.mock() as mock:
        mock.post(URL).mock(side_effect=_listing(pages, 450, seen))
        found = await channel.fetch_orders(STORE, wanted)
    assert sorted(found) == sorted(wanted)
    assert [p["page"] for p in seen] == ["1", "5", "4"]


async def test_fetch_orders_lists_at_most_thirty_minutes_back(channel: PinduoduoChannel) -> None:
    seen: list[dict[str, str]] = []
    async with respx.mock() as mock:
        mock.post(URL).mock(side_effect=_listing({}, 0, seen))
        long_ago = datetime.now(UTC) - timedelta(hours=2)
        found = await channel.fetch_orders(STORE, {ORDER_SN: long_ago, "231128-000000000000002": long_ago})
    assert found == {}
    [params] = seen
    assert int(params["end_updated_at"]) - int(params["start_updated_at"]) <= protocol.INCREMENT_SPAN_S


async def test_fetch_orders_lists_nothing_for_one_order_or_without_receipt_times(channel: PinduoduoChannel) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL)
        assert await channel.fetch_orders(STORE, {ORDER_SN: None, "231128-000000000000002": None}) == {}
        assert await channel.fetch_orders(STORE, {ORDER_SN: datetime.now(UTC)}) == {}
    assert not route.called


async def test_fetch_orders_reads_no_more_pages_than_orders_asked_for(channel: PinduoduoChannel) -> None:
    seen: list[dict[str, str]] = []
    now = datetime.now(UTC)
    async with respx.mock() as mock:
        mock.post(URL).mock(side_effect=_listing({}, 5000, seen))
        found = await channel.fetch_orders(STORE, {ORDER_SN: now, "231128-000000000000002": now})
    assert found == {}
    assert [p["page"] for p in seen] == ["1", "50"]


async def test_fetch_orders_errors_are_classified(channel: PinduoduoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=error(errors.RATE_LIMITED))
        with pytest.raises(ChannelError) as e:
            await channel.fetch_orders(
                STORE, {ORDER_SN: datetime.now(UTC), "231128-000000000000002": datetime.now(UTC)}
            )
    assert e.value.refusal is Refusal.RETRY


def test_a_message_is_stamped_with_when_it_was_received(channel: PinduoduoChannel) -> None:
    body = json.dumps(
        {
            "id": 1,
            "message": {
                "type": "pdd_trade_TradeConfirmed",
                "mallID": 171504183,
                "content": json.dumps({"mall_id": 171504183, "tid": ORDER_SN}),
            },
        }
    ).encode()
    stamp = str(int(time.time()))
    headers = {"X-Pdd-Client-Id": "pdd-client", "X-Pdd-Timestamp": stamp, "X-Pdd-Sign": ""}
    headers["X-Pdd-Sign"] = message_sign("pdd-secret", stamp, body)
    before = datetime.now(UTC)
    message = channel.read_message(headers, body)
    assert message.published is not None
    assert before <= message.published <= datetime.now(UTC)


def test_an_order_page_without_its_list_is_an_answer_we_cannot_read() -> None:
    with pytest.raises(protocol.PddError) as e:
        protocol.parse_order_page({"total_count": 3})
    assert e.value.short_code == errors.NETWORK
    rows, total, more = protocol.parse_order_page({"order_sn_list": [{"order_sn": ORDER_SN}, "junk"], "has_next": True})
    assert (rows, total, more) == ([{"order_sn": ORDER_SN}], None, True)
