"""TaobaoChannel as base.Channel over respx: which call confirms (or changes) which numbers, split sends by
line, a trade read back with every number it holds, and each refusal of the new calls classified."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from services.shipping.channels.base import (
    Channel,
    ChannelError,
    ChannelName,
    OrderState,
    Refusal,
    StoreAccess,
    named_number,
)
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.channel import TaobaoChannel
from services.shipping.channels.taobao.client import MarketplaceClient

URL = "http://top.test/router/rest"
SECRET = "top-secret"
STORE = StoreAccess(store_id="s1", seller_id="shop-a", token="sess")
TID = "3000000000123456789"
OIDS = ["3000000000123456790", "3000000000123456791"]


@pytest.fixture
async def channel() -> AsyncIterator[TaobaoChannel]:
    async with httpx.AsyncClient() as http:
        yield TaobaoChannel(MarketplaceClient(http, URL, "app", SECRET, "md5", timeout=5), "app", SECRET, 300)


def answer(body: object) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body, ensure_ascii=False).encode())


def ok(method: str) -> httpx.Response:
    if method.startswith("alibaba.ascp."):
        return answer({protocol.response_key(method): {"result": {"success": True}, "request_id": "r"}})
    return answer({protocol.response_key(method): {"shipping": {"is_success": True}, "request_id": "r"}})


def refused(sub_code: str, sub_msg: str = "拒绝") -> httpx.Response:
    return answer(
        {"error_response": {"code": 15, "msg": "Remote service error", "sub_code": sub_code, "sub_msg": sub_msg}}
    )


def offline(xx: str) -> str:
    return f"{protocol.OFFLINE_PREFIX}{xx}"


def resend(xx: str) -> str:
    return f"{protocol.RESEND_PREFIX}{xx}"


def form_of(route: respx.Route) -> dict[str, str]:
    form = dict(parse_qsl(route.calls.last.request.content.decode()))
    assert form["sign"] == protocol.top_sign(form, SECRET, "md5")
    assert form["session"] == "sess"
    return form


def test_it_is_a_channel(channel: TaobaoChannel) -> None:
    typed: Channel = channel
    assert typed.name is ChannelName.TAOBAO


def test_line_ids_are_the_oids(channel: TaobaoChannel) -> None:
    assert channel.line_ids([{"oid": OIDS[0], "title": "茶"}, {"oid": OIDS[1]}]) == OIDS
    with pytest.raises(ChannelError) as e:
        channel.line_ids([{"oid": OIDS[0]}, {"title": "no oid"}])
    assert e.value.refusal is Refusal.PERMANENT


async def test_one_number_for_the_whole_trade_is_an_offline_send(channel: TaobaoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=ok(protocol.OFFLINE_SEND))
        await channel.confirm(STORE, TID, ["712345678901"], "ZTO")
    form = form_of(route)
    assert (form["method"], form["tid"], form["out_sid"], form["company_code"]) == (
        protocol.OFFLINE_SEND,
        TID,
        "712345678901",
        "ZTO",
    )
    assert "is_split" not in form
    assert "sub_tid" not in form


async def test_one_number_for_some_lines_is_a_split_offline_send(channel: TaobaoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=ok(protocol.OFFLINE_SEND))
        await channel.confirm(STORE, TID, ["712345678901"], "ZTO", lines=OIDS, first=False)
    form = form_of(route)
    assert (form["method"], form["is_split"], form["sub_tid"]) == (protocol.OFFLINE_SEND, "1", ",".join(OIDS))


@pytest.mark.parametrize("lines", [None, OIDS[:1]])
async def test_several_numbers_are_one_multi_package_send(channel: TaobaoChannel, lines: list[str] | None) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=ok(protocol.ASCP_OFFLINE_SEND))
        await channel.confirm(STORE, TID, ["712345678901", "712345678902"], "ZTO", lines=lines)
    form = form_of(route)
    assert (form["method"], form["tid"]) == ("alibaba.ascp.logistics.offline.send", TID)
    assert json.loads(form["consign_pkgs"]) == [
        {"company_code": "ZTO", "out_sid": "712345678901"},
        {"company_code": "ZTO", "out_sid": "712345678902"},
    ]
    assert form.get("sub_tid") == (OIDS[0] if lines else None)
    assert "is_split" not in form
    assert "out_sid" not in form


async def test_a_multi_package_answer_without_success_is_permanent(channel: TaobaoChannel) -> None:
    failed = answer({"alibaba_ascp_logistics_offline_send_response": {"result": {"success": False}}})
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=failed)
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, TID, ["712345678901", "712345678902"], "ZTO")
    assert e.value.refusal is Refusal.PERMANENT


@pytest.mark.parametrize(("numbers", "lines"), [([], None), (["7"], []), (["7", "7"], None), ([" "], None)])
async def test_bad_numbers_or_lines_are_refused_before_any_call(
    channel: TaobaoChannel, numbers: list[str], lines: list[str] | None
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL)
        for call in (channel.confirm, channel.change_numbers):
            with pytest.raises(ChannelError) as e:
                await call(STORE, TID, numbers, "ZTO", lines=lines)
            assert e.value.refusal is Refusal.PERMANENT
        assert not route.called


async def test_a_number_change_with_one_number_is_a_consign_resend(channel: TaobaoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=ok(protocol.CONSIGN_RESEND))
        await channel.change_numbers(STORE, TID, ["712345678903"], "ZTO", lines=OIDS[1:])
    form = form_of(route)
    assert (form["method"], form["tid"], form["out_sid"], form["company_code"]) == (
        "taobao.logistics.consign.resend",
        TID,
        "712345678903",
        "ZTO",
    )
    assert (form["is_split"], form["sub_tid"]) == ("1", OIDS[1])


async def test_a_number_change_with_several_numbers_replaces_every_package(channel: TaobaoChannel) -> None:
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=ok(protocol.ASCP_CONSIGN_RESEND))
        await channel.change_numbers(STORE, TID, ["712345678903", "712345678904"], "ZTO", lines=OIDS)
    form = form_of(route)
    assert (form["method"], form["sub_tids"]) == ("alibaba.ascp.logistics.consign.resend", ",".join(OIDS))
    assert [p["out_sid"] for p in json.loads(form["consign_pkgs"])] == ["712345678903", "712345678904"]


async def test_a_change_to_the_numbers_it_holds_already_is_success(channel: TaobaoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=refused(resend("P07"), "未作修改"))
        await channel.change_numbers(STORE, TID, ["712345678903"], "ZTO")


@pytest.mark.parametrize(
    ("sub_code", "refusal", "says"),
    [
        (resend("CD19"), Refusal.PERMANENT, "has not shipped"),
        (resend("P08"), Refusal.PERMANENT, "24 h"),
        (resend("P06"), Refusal.PERMANENT, "status allows no change"),
        (resend("CD22"), Refusal.PERMANENT, "拒绝"),
        (resend("B04"), Refusal.PERMANENT, "拒绝"),  # a resend's B04 is 其他异常, not "already shipped"
        (resend("CD30"), Refusal.ORDER_CLOSED, "拒绝"),
        (resend("P10"), Refusal.NUMBER_REJECTED, "拒绝"),
        (resend("F05"), Refusal.NUMBER_REJECTED, "拒绝"),
        (resend("F01"), Refusal.NUMBER_EXPIRED, "拒绝"),
        ("isp.top-remote-service-unavailable", Refusal.RETRY, "拒绝"),
    ],
)
async def test_resend_refusals(channel: TaobaoChannel, sub_code: str, refusal: Refusal, says: str) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=refused(sub_code))
        with pytest.raises(ChannelError) as e:
            await channel.change_numbers(STORE, TID, ["712345678903"], "ZTO")
    assert e.value.refusal is refusal
    assert says in e.value.message
    assert e.value.code == sub_code.rsplit(":", 1)[-1]
    assert e.value.number == ("712345678903" if refusal.number_related else None)


@pytest.mark.parametrize(
    ("sub_code", "refusal"),
    [
        (offline("B04"), Refusal.ALREADY_SHIPPED),
        (offline("B01"), Refusal.ORDER_CLOSED),
        (offline("B06"), Refusal.PERMANENT),  # sub_tid does not match the trade's lines
        (offline("CD23"), Refusal.PERMANENT),  # split already: the send must name its lines
        (offline("B60"), Refusal.NUMBER_REJECTED),
        (offline("F01"), Refusal.NUMBER_EXPIRED),
        (offline("S01"), Refusal.RETRY),
    ],
)
async def test_multi_package_send_refusals(channel: TaobaoChannel, sub_code: str, refusal: Refusal) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=refused(sub_code))
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, TID, ["712345678901", "712345678902"], "ZTO", lines=OIDS)
    assert e.value.refusal is refusal
    assert e.value.number is None  # the answer names no number of the two


async def test_a_refusal_of_several_numbers_names_the_one_the_answer_names(channel: TaobaoChannel) -> None:
    message = "运单号 712345678902 已被使用 (number already used on trade 3000000000000000001)"
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=refused(offline("B60"), message))
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, TID, ["712345678901", "712345678902", "71234567890"], "ZTO")
    assert (e.value.refusal, e.value.code, e.value.number) == (Refusal.NUMBER_REJECTED, "B60", "712345678902")
    assert e.value.message == message


async def test_a_refusal_of_one_number_is_that_number(channel: TaobaoChannel) -> None:
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=refused(offline("F04")))
        with pytest.raises(ChannelError) as e:
            await channel.confirm(STORE, TID, ["712345678901"], "ZTO", lines=OIDS[:1])
    assert (e.value.refusal, e.value.number) == (Refusal.NUMBER_REJECTED, "712345678901")


def trade(status: str, lines: Sequence[Mapping[str, object]]) -> httpx.Response:
    body = {"tid": TID, "status": status, "seller_nick": "shop-a", "orders": {"order": lines}}
    return answer({"trade_fullinfo_get_response": {"trade": body}})


async def test_a_partly_shipped_trade_may_ship_its_other_lines(channel: TaobaoChannel) -> None:
    lines = [
        {
            "oid": OIDS[0],
            "status": "WAIT_BUYER_CONFIRM_GOODS",
            "logistics_company": "ZTO",
            "invoice_no": "712345678901",
        },
        {"oid": OIDS[1], "status": "WAIT_SELLER_SEND_GOODS"},
    ]
    async with respx.mock() as mock:
        route = mock.post(URL).mock(return_value=trade("SELLER_CONSIGNED_PART", lines))
        order = await channel.fetch_order(STORE, TID)
    assert "orders.consign_pkgs" in form_of(route)["fields"]
    assert order is not None
    assert (order.state, order.shipped_number, order.shipped_numbers) == (
        OrderState.PARTLY_SHIPPED,
        "712345678901",
        ("712345678901",),
    )
    assert channel.may_ship(order)
    assert order.ship_by is None  # Taobao gives no deadline: shipping keeps its own default


async def test_a_shipped_trade_gives_every_line_and_package_number_once(channel: TaobaoChannel) -> None:
    pkgs = [{"company_code": "ZTO", "out_sid": "712345678901"}, {"company_code": "ZTO", "out_sid": "712345678902"}]
    lines: list[dict[str, object]] = [
        {"oid": OIDS[0], "logistics_company": "ZTO", "invoice_no": "712345678901", "consign_pkgs": pkgs},
        {"oid": OIDS[1], "logistics_company": "ZTO", "invoice_no": "712345678903", "consign_pkgs": {"consign_pkg": []}},
    ]
    async with respx.mock() as mock:
        mock.post(URL).mock(return_value=trade("WAIT_BUYER_CONFIRM_GOODS", lines))
        order = await channel.fetch_order(STORE, TID)
    assert order is not None
    assert order.state is OrderState.SHIPPED
    assert not channel.may_ship(order)
    assert order.shipped_numbers == ("712345678901", "712345678902", "712345678903")
    assert (order.shipped_number, order.shipped_carrier) == ("712345678901", "ZTO")


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ("运单号 712345678902 已被使用", "712345678902"),
        ("运单号不符合规则", None),
        ("712345678901 and 712345678902", None),  # two named: we cannot tell which
        ("7123456789012 被使用", "7123456789012"),  # the longer one, not the shorter inside it
    ],
)
def test_named_number_is_the_one_number_the_message_names(message: str, named: str | None) -> None:
    assert named_number(message, ["712345678901", "712345678902", "7123456789012"]) == named
