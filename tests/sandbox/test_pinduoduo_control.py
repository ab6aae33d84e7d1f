"""Control of the Pinduoduo imitation: malls, orders and their changes, faults, message listing, reset."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sandbox.support import wait_for
from tests.sandbox.test_pinduoduo_support import PddHarness, running_pdd


@pytest.fixture
async def pdd() -> AsyncIterator[PddHarness]:
    async with running_pdd() as harness:
        yield harness


async def test_malls_are_created_and_listed(pdd: PddHarness) -> None:
    named, _ = await pdd.mall("测试店")
    generated, _ = await pdd.mall()
    malls = (await pdd.client.get("/control/pinduoduo/malls")).json()
    assert {m["mall_id"] for m in malls} == {named, generated}
    assert len({m["access_token"] for m in malls}) == 2


async def test_orders_take_the_given_fields_and_count(pdd: PddHarness) -> None:
    mall_id, _ = await pdd.mall()
    sns = await pdd.orders(mall_id, count=3, receiver_phone="13800138000", goods_name="测试商品", goods_count=2,
                           goods_price_cents=1990)  # fmt: skip
    assert len(set(sns)) == 3
    order = await pdd.order(sns[0])
    assert order["mall_id"] == mall_id
    assert order["receiver_phone"] == "13800138000"
    assert {(i["goods_name"], i["goods_count"], i["goods_price"]) for i in order["item_list"]} == {
        ("测试商品", 2, 19.9)
    }


@pytest.mark.parametrize(
    "body",
    [{"count": 0}, {"count": 20_001}, {"receiver_phone": "12"}, {"goods_price_cents": -1}, {"count": "many"}],
)
async def test_bad_order_requests_are_422(pdd: PddHarness, body: dict[str, object]) -> None:
    mall_id, _ = await pdd.mall()
    response = await pdd.client.post("/control/pinduoduo/orders", json={"mall_id": mall_id, **body})
    assert response.status_code == 422


async def test_unknown_mall_and_order_are_404(pdd: PddHarness) -> None:
    assert (await pdd.client.post("/control/pinduoduo/orders", json={"mall_id": 1})).status_code == 404
    assert (await pdd.client.get("/control/pinduoduo/orders/231128-000000000000000")).status_code == 404
    assert (await pdd.client.post("/control/pinduoduo/malls/1/token")).status_code == 404


async def test_refund_steps_and_their_refusals(pdd: PddHarness) -> None:
    mall_id, _ = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    asked = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/refund", json={"agree": False})
    assert asked.json()["refund_status"] == 2
    again = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/refund", json={"agree": False})
    assert again.status_code == 409
    agreed = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/refund", json={"agree": True})
    assert (agreed.json()["refund_status"], agreed.json()["after_sales_status"]) == (4, 10)
    assert (await pdd.client.post(f"/control/pinduoduo/orders/{sn}/refund")).status_code == 409


async def test_confirm_cancel_and_address_follow_the_order_state(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id, confirmed=False)
    assert (await pdd.order(sn))["confirm_status"] == 0
    confirmed = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/confirm")
    assert confirmed.json()["confirm_status"] == 1
    assert (await pdd.client.post(f"/control/pinduoduo/orders/{sn}/confirm")).status_code == 409
    moved = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/address", json={"town": "滨江区"})
    assert moved.json()["town"] == "滨江区"
    before = (await pdd.order(sn))["receiver_name"]
    random_new = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/address")
    assert random_new.status_code == 200
    assert (random_new.json()["receiver_name"], random_new.json()["address"]) != (before, moved.json()["address"])
    await pdd.call("pdd.logistics.online.send", token, order_sn=sn, logistics_id="115", tracking_number="731234567890")
    assert (await pdd.client.post(f"/control/pinduoduo/orders/{sn}/address")).status_code == 409
    assert (await pdd.client.post(f"/control/pinduoduo/orders/{sn}/cancel")).status_code == 409


async def test_faults_are_read_changed_and_validated(pdd: PddHarness) -> None:
    assert (await pdd.client.get("/control/pinduoduo/faults")).json()["message_duplicate_rate"] == 0.0
    view = await pdd.faults(message_duplicate_rate=0.5, error_rate={"pdd.logistics.online.send": 0.1})
    assert view["message_duplicate_rate"] == 0.5
    assert (await pdd.faults(seed=3))["error_rate"] == {"pdd.logistics.online.send": 0.1}
    for bad in ({"message_drop_rate": 2}, {"error_rate": {"taobao.x": 0.1}}, {"nonsense": 1}):
        assert (await pdd.client.put("/control/pinduoduo/faults", json=bad)).status_code == 422


async def test_messages_are_listed_by_order_and_pending(pdd: PddHarness) -> None:
    pdd.receiver.fail_next = 10_000
    mall_id, _ = await pdd.mall()
    first, second = await pdd.orders(mall_id, count=2)
    await wait_for(lambda: len(pdd.receiver.received) >= 2, what="attempts")
    listed = (await pdd.client.get("/control/pinduoduo/messages", params={"order_sn": first})).json()
    assert [m["order_sn"] for m in listed] == [first]
    pending = (await pdd.client.get("/control/pinduoduo/messages", params={"pending_only": True})).json()
    assert {m["order_sn"] for m in pending} == {first, second}
    assert (await pdd.client.get("/control/pinduoduo/messages", params={"limit": 0})).status_code == 422


async def test_reset_forgets_malls_orders_and_messages(pdd: PddHarness) -> None:
    mall_id, _ = await pdd.mall()
    await pdd.orders(mall_id)
    assert (await pdd.client.post("/control/reset")).status_code == 200
    assert (await pdd.client.get("/control/pinduoduo/malls")).json() == []
    assert (await pdd.client.get("/control/pinduoduo/messages")).json() == []
    new_mall, _ = await pdd.mall()
    await pdd.orders(new_mall)
    await wait_for(lambda: any(r.content["mall_id"] == new_mall for r in pdd.receiver.good()), what="delivery")
