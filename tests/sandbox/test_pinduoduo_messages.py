"""Pinduoduo order messages: the frame, the signed delivery, redelivery until a 2xx, and the faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from tests.sandbox.support import wait_for
from tests.sandbox.test_pinduoduo_support import CLIENT_ID, PddHarness, pdd_params, running_pdd

CONFIRMED = "pdd_trade_TradeConfirmed"


@pytest.fixture
async def pdd() -> AsyncIterator[PddHarness]:
    async with running_pdd() as harness:
        yield harness


async def test_a_confirmed_order_is_delivered_as_a_signed_frame(pdd: PddHarness) -> None:
    mall_id, _ = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    await wait_for(lambda: len(pdd.receiver.received) >= 1, what="TradeConfirmed")
    [got] = pdd.receiver.received
    assert got.sign_ok
    assert got.headers["x-pdd-client-id"] == CLIENT_ID
    assert abs(int(got.headers["x-pdd-timestamp"]) - time.time()) < 5
    frame = got.frame
    assert frame["commandType"] == "Common"
    assert isinstance(frame["id"], int)
    assert frame["sendTime"] >= frame["time"]
    assert frame["message"]["type"] == CONFIRMED
    assert frame["message"]["mallID"] == mall_id
    assert isinstance(frame["message"]["content"], str)
    assert got.content["mall_id"] == mall_id
    assert got.content["tid"] == sn


async def test_an_unacknowledged_message_is_redelivered_with_the_same_id(pdd: PddHarness) -> None:
    pdd.receiver.fail_next = 2
    mall_id, _ = await pdd.mall()
    await pdd.orders(mall_id)
    await wait_for(lambda: len(pdd.receiver.received) >= 3, what="two redeliveries")
    ids = {r.frame["id"] for r in pdd.receiver.received}
    assert len(ids) == 1
    stats = (await pdd.client.get("/control/pinduoduo/messages/stats")).json()
    assert stats["delivered"] == 1
    assert stats["failed_attempts"] == 2
    [message] = (await pdd.client.get("/control/pinduoduo/messages")).json()
    assert [d["result"] for d in message["deliveries"]] == ["HTTP 503", "HTTP 503", "HTTP 200"]
    assert message["delivered"] is True


async def test_each_change_publishes_its_type(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    first, second = await pdd.orders(mall_id, count=2)
    await pdd.client.post(f"/control/pinduoduo/orders/{first}/address", json={"city": "宁波市"})
    await pdd.post(
        pdd_params(
            "pdd.logistics.online.send", token, order_sn=first, logistics_id="115", tracking_number="731234567890"
        )
    )
    await pdd.client.post(f"/control/pinduoduo/orders/{second}/refund", json={"agree": True})
    await wait_for(lambda: len(pdd.receiver.good()) >= 6, what="six messages")
    types = {(r.content["tid"], r.frame["message"]["type"]) for r in pdd.receiver.good()}
    assert types == {
        (first, CONFIRMED),
        (first, "pdd_trade_TradeLogisticsAddressChanged"),
        (first, "pdd_trade_TradeSellerShip"),
        (second, CONFIRMED),
        (second, "pdd_refund_RefundCreated"),
        (second, "pdd_refund_RefundAgreeAgreement"),
    }
    [agreed] = pdd.receiver.good("pdd_refund_RefundAgreeAgreement")
    assert agreed.content["refund_fee"] > 0
    assert isinstance(agreed.content["refund_id"], int)


async def test_a_duplicate_is_delivered_again_under_the_fault(pdd: PddHarness) -> None:
    await pdd.faults(message_duplicate_rate=1.0)
    mall_id, _ = await pdd.mall()
    await pdd.orders(mall_id)
    await wait_for(lambda: len(pdd.receiver.received) >= 2, what="the duplicate")
    first, second = pdd.receiver.received
    assert first.frame["id"] == second.frame["id"]
    assert second.sign_ok
    stats = (await pdd.client.get("/control/pinduoduo/messages/stats")).json()
    assert stats["duplicates"] == 1


async def test_a_dropped_attempt_is_redelivered(pdd: PddHarness) -> None:
    await pdd.faults(message_drop_rate=1.0)
    mall_id, _ = await pdd.mall()
    await pdd.orders(mall_id)
    await _wait_stat(pdd, "dropped", 2)  # attempts lost on the way: nothing reaches us
    assert pdd.receiver.received == []
    await pdd.faults(message_drop_rate=0.0)
    await wait_for(lambda: len(pdd.receiver.good()) == 1, what="the redelivery")


async def test_a_bad_sign_is_refused_by_us_and_redelivered_well_signed(pdd: PddHarness) -> None:
    await pdd.faults(message_bad_sign_rate=1.0)
    mall_id, _ = await pdd.mall()
    await pdd.orders(mall_id)
    await wait_for(lambda: len(pdd.receiver.received) >= 1, what="a badly signed attempt")
    await pdd.faults(message_bad_sign_rate=0.0)
    await wait_for(lambda: len(pdd.receiver.good()) == 1, what="a well signed redelivery")
    assert not pdd.receiver.received[0].sign_ok


async def test_a_delayed_message_arrives_later(pdd: PddHarness) -> None:
    await pdd.faults(message_delay_rate=1.0, message_delay_s=0.3)
    mall_id, _ = await pdd.mall()
    started = time.monotonic()
    await pdd.orders(mall_id)
    await wait_for(lambda: len(pdd.receiver.good()) == 1, what="the delayed message")
    assert time.monotonic() - started >= 0.3


async def test_a_reordered_message_arrives_after_the_next_one(pdd: PddHarness) -> None:
    await pdd.faults(message_reorder_rate=1.0, message_delay_s=5.0)
    mall_id, _ = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    await pdd.faults(message_reorder_rate=0.0)
    await pdd.client.post(f"/control/pinduoduo/orders/{sn}/address")
    await wait_for(lambda: len(pdd.receiver.good()) == 2, what="both messages")
    order = [r.frame["message"]["type"] for r in pdd.receiver.good()]
    assert order == ["pdd_trade_TradeLogisticsAddressChanged", CONFIRMED]


async def test_a_held_message_is_released_when_nothing_follows(pdd: PddHarness) -> None:
    await pdd.faults(message_reorder_rate=1.0, message_delay_s=0.2)
    mall_id, _ = await pdd.mall()
    await pdd.orders(mall_id)
    await wait_for(lambda: len(pdd.receiver.good()) == 1, what="the held message")


async def test_the_frame_body_is_exactly_what_is_signed(pdd: PddHarness) -> None:
    mall_id, _ = await pdd.mall()
    await pdd.orders(mall_id, receiver_name="李雷")
    await wait_for(lambda: len(pdd.receiver.good()) == 1, what="the message")
    raw = pdd.receiver.good()[0].body
    assert json.loads(raw.decode("utf-8"))["message"]["mallID"] == mall_id


async def _wait_stat(pdd: PddHarness, name: str, at_least: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stats = (await pdd.client.get("/control/pinduoduo/messages/stats")).json()
        if stats[name] >= at_least:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name} never reached {at_least}")
