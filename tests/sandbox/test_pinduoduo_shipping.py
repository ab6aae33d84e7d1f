"""Pinduoduo's several-parcel calls: extra numbers (pdd.order.upload.extra.logistics), a change of number
(redelivery_type 2), the ship-by time (last_ship_time), refusals naming the number, no collection at send."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.sandbox.addresses import Receiver
from services.sandbox.pinduoduo import methods
from services.sandbox.pinduoduo.errors import PddError
from services.sandbox.pinduoduo.orders import ConfirmStatus, Order, OrderStatus
from tests.sandbox.support import UTC8, courier_form
from tests.sandbox.test_pinduoduo_support import PddHarness, error_of, running_pdd

INFO = "pdd.order.information.get"
SEND = "pdd.logistics.online.send"
EXTRA = "pdd.order.upload.extra.logistics"
ZTO = 115
A, B, C, D = "731234567890", "731234567891", "731234567892", "731234567893"


@pytest.fixture
async def pdd() -> AsyncIterator[PddHarness]:
    async with running_pdd() as harness:
        yield harness


async def shop(pdd: PddHarness, **fields: Any) -> tuple[str, str]:
    """A mall's token and one order of it awaiting shipment."""
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id, **fields)
    return token, sn


async def send(pdd: PddHarness, token: str, sn: str, number: str, **extra: str) -> dict[str, Any]:
    return await pdd.call(SEND, token, order_sn=sn, logistics_id=str(ZTO), tracking_number=number, **extra)


async def extra(pdd: PddHarness, token: str, sn: str, *numbers: str, kind: str = "1") -> dict[str, Any]:
    rows = json.dumps([{"shipping_id": ZTO, "tracking_number": n} for n in numbers])
    return await pdd.call(EXTRA, token, order_sn=sn, extra_track_type=kind, extra_track_list=rows)


async def info(pdd: PddHarness, token: str, sn: str) -> dict[str, Any]:
    found: dict[str, Any] = (await pdd.call(INFO, token, order_sn=sn))["order_info_get_response"]["order_info"]
    return found


def sub_msg(body: dict[str, Any]) -> str:
    text: str = body["error_response"]["sub_msg"]
    return text


async def test_extra_numbers_of_a_shipped_order_show_in_its_order_info(pdd: PddHarness) -> None:
    token, sn = await shop(pdd)
    await send(pdd, token, sn, A)
    body = await extra(pdd, token, sn, B, C)
    assert body["upload_extra_logistics_response"]["success"] is True
    assert (await extra(pdd, token, sn, C, kind="3"))["upload_extra_logistics_response"]["success"]  # held: once
    assert "error_response" not in await extra(pdd, token, sn, D, kind="3")
    order = await info(pdd, token, sn)
    assert order["tracking_number"] == A
    assert order["extra_delivery_list"] == [
        {"logistics_id": ZTO, "tracking_number": B},
        {"logistics_id": ZTO, "tracking_number": C},
    ]
    assert order["gift_delivery_list"] == [{"logistics_id": ZTO, "tracking_number": D}]


async def test_extra_numbers_are_checked_and_the_refused_one_named(pdd: PddHarness) -> None:
    token, sn = await shop(pdd)
    other_token, other = await shop(pdd)
    assert error_of(await extra(pdd, token, sn, B)) == 50007  # not shipped yet
    await send(pdd, token, sn, A)
    await send(pdd, other_token, other, D)
    off_rule = await extra(pdd, token, sn, B, "YT1234567890123")
    assert (error_of(off_rule), "YT1234567890123" in sub_msg(off_rule)) == (50004, True)
    used = await extra(pdd, token, sn, B, D)
    assert (error_of(used), D in sub_msg(used)) == (50005, True)
    main = await extra(pdd, token, sn, A)
    assert (error_of(main), A in sub_msg(main)) == (50005, True)
    assert error_of(await extra(pdd, other_token, sn, B)) == 50001  # another mall's order
    assert error_of(await extra(pdd, token, sn, B, kind="4")) == 10000
    bad_list = await pdd.call(EXTRA, token, order_sn=sn, extra_track_type="1", extra_track_list="[{")
    assert error_of(bad_list) == 10000
    unknown = json.dumps([{"shipping_id": 99999, "tracking_number": B}])
    assert error_of(await pdd.call(EXTRA, token, order_sn=sn, extra_track_type="1", extra_track_list=unknown)) == 50006
    assert (await info(pdd, token, sn))["extra_delivery_list"] == []  # nothing half-added


async def test_a_refunded_order_takes_no_extra_number(pdd: PddHarness) -> None:
    token, sn = await shop(pdd)
    await send(pdd, token, sn, A)
    refunded = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/refund", json={"agree": True})
    assert refunded.status_code == 200, refunded.text
    assert error_of(await extra(pdd, token, sn, B)) == 50003


async def test_a_redelivery_replaces_the_shipped_number_and_frees_the_old_one(pdd: PddHarness) -> None:
    token, sn = await shop(pdd)
    other_token, other = await shop(pdd)
    assert error_of(await send(pdd, token, sn, A, redelivery_type="2")) == 50007  # not shipped: nothing to change
    await send(pdd, token, sn, A)
    await extra(pdd, token, sn, B)
    body = await send(pdd, token, sn, C, redelivery_type="2")
    assert body["logistics_online_send_response"]["is_success"] is True
    assert "error_response" not in await send(pdd, token, sn, C, redelivery_type="2")  # the same again
    order = await info(pdd, token, sn)
    assert (order["order_status"], order["tracking_number"]) == (2, C)
    assert order["extra_delivery_list"] == [{"logistics_id": ZTO, "tracking_number": B}]  # extras stay
    assert error_of(await send(pdd, token, sn, B, redelivery_type="2")) == 50005  # an extra is not the main one
    assert "error_response" not in await send(pdd, other_token, other, A)  # free again
    used = await send(pdd, token, sn, A, redelivery_type="2")
    assert (error_of(used), A in sub_msg(used)) == (50005, True)
    assert error_of(await send(pdd, token, sn, D, redelivery_type="3")) == 10000
    assert error_of(await send(pdd, token, sn, D)) == 50002  # a first send of a shipped order stays refused


def test_a_signed_order_cannot_change_its_number_but_takes_extra_ones() -> None:
    # No control endpoint signs a Pinduoduo order: the check itself, on an order signed for.
    receiver = Receiver("张三", "13800000000", "浙江省", "杭州市", "西湖区", "文三路1号", "310000")
    order = Order("231128-000000000000001", 1, receiver, [], 0.0, ConfirmStatus.CONFIRMED)
    order.order_status = OrderStatus.RECEIVED
    with pytest.raises(PddError) as refused:
        methods._changeable(order, "修改发货")
    assert refused.value.code == 50007
    methods._changeable(order, "上传额外运单")  # 补发 after the buyer signed is allowed


async def test_last_ship_time_is_the_paid_time_plus_48_hours_or_as_set(pdd: PddHarness) -> None:
    token, sn = await shop(pdd)
    order = await info(pdd, token, sn)
    paid = datetime.strptime(order["pay_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC8)
    due = datetime.strptime(order["last_ship_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC8)
    assert due - paid == timedelta(hours=48)
    token, quick = await shop(pdd, ship_within_hours=24)
    order = await info(pdd, token, quick)
    paid = datetime.strptime(order["pay_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC8)
    assert datetime.strptime(order["last_ship_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC8) - paid == timedelta(
        hours=24
    )


async def test_shipping_collects_no_number(pdd: PddHarness) -> None:
    token, sn = await shop(pdd)
    dtos = [{"object_id": "o-1", "quantity": 2}]
    issued = await pdd.client.post(
        "/courier/gateway",
        data=courier_form("TMS_WAYBILL_GET", {"cp_code": "ZTO", "seller_id": "s", "trade_order_info_dtos": dtos}),
    )
    first, second = issued.json()["waybill_apply_new_cols"][0]["waybill_codes"]
    await send(pdd, token, sn, first)
    await extra(pdd, token, sn, second)
    states = [(await pdd.client.get(f"/control/courier/numbers/{n}")).json()["state"] for n in (first, second)]
    assert states == ["issued", "issued"]
