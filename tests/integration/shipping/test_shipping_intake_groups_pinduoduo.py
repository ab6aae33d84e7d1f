"""Pinduoduo paid messages arriving together: one ``pdd.order.number.list.increment.get`` for their orders,
the orders it leaves out read one by one with ``pdd.order.information.get``, and every guarantee of a single
message kept (nothing stored the platform does not bear out, redeliveries stored once, a failed list call
taking the group again message by message)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from services.shipping.service import intake_batch
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.fake_pinduoduo import INCREMENT, ORDER_INFO, PddOrder
from tests.support import Env


@pytest.fixture(autouse=True)
def _wide_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message a test pushes at once joins one group, however slowly the test machine serves them."""
    monkeypatch.setattr(intake_batch, "WINDOW_S", 0.25)


async def _mall(world: World, shop: BoundShop) -> int:
    mall_id, token = world.pdd.add_mall()
    bound = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token, "name": "拼多多店"}, headers=shop.headers
    )
    assert bound.status_code == 201, bound.text
    return mall_id


Pushed = tuple[bytes, dict[str, str]]


async def _push_all(world: World, messages: list[Pushed]) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers) for body, headers in messages)
        )
    )


def _reads(world: World) -> list[str]:
    return [c["order_sn"] for c in world.pdd.calls if c.get("type") == ORDER_INFO]


async def _stored(world: World, shop: BoundShop) -> list[str]:
    resp = await world.shipping.get("/v1/orders", headers=shop.headers)
    return sorted(o["external_id"] for o in resp.json()["data"])


async def test_a_group_is_read_back_in_one_list_call(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    mall_id = await _mall(world, shop)
    orders = [world.pdd.new_order(mall_id) for _ in range(6)]
    world.pdd.calls.clear()
    answers = await _push_all(world, [world.pdd.message(o) for o in orders])
    assert [a.json()["status"] for a in answers] == ["order_created"] * 6
    [listed] = world.pdd.listed()
    assert (listed["order_status"], listed["refund_status"], listed["page"]) == ("1", "5", "1")
    assert listed["page_size"] == "100"
    start, end = int(listed["start_updated_at"]), int(listed["end_updated_at"])
    # From a little before the earliest message was received to now, within the call's 30 minutes.
    assert start <= min(int(o.updated_at) for o in orders)
    assert abs(end - time.time()) < 30
    assert 0 < end - start <= 1800
    assert _reads(world) == []
    assert await _stored(world, shop) == sorted(o.order_sn for o in orders)


async def test_an_order_the_list_leaves_out_is_read_on_its_own(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    mall_id = await _mall(world, shop)
    orders = [world.pdd.new_order(mall_id) for _ in range(3)]
    world.pdd.unlisted.add(orders[1].order_sn)
    world.pdd.calls.clear()
    answers = await _push_all(world, [world.pdd.message(o) for o in orders])
    assert [a.json()["status"] for a in answers] == ["order_created"] * 3
    assert len(world.pdd.listed()) == 1
    assert _reads(world) == [orders[1].order_sn]


async def test_the_last_pages_are_read_backwards_until_every_order_is_found(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    mall_id = await _mall(world, shop)
    earlier = [world.pdd.new_order(mall_id) for _ in range(250)]  # updated before ours, not messaged
    for n, order in enumerate(earlier):
        order.updated_at -= 20 - n * 0.01
    ours = [world.pdd.new_order(mall_id) for _ in range(2)]
    world.pdd.calls.clear()
    answers = await _push_all(world, [world.pdd.message(o) for o in ours])
    assert [a.json()["status"] for a in answers] == ["order_created"] * 2
    # Page 1 for the total (252: three pages), then the last, which holds both: page 2 is not read.
    assert [c["page"] for c in world.pdd.listed()] == ["1", "3"]
    assert _reads(world) == []
    assert await _stored(world, shop) == sorted(o.order_sn for o in ours)


async def test_unpaid_unknown_and_forged_messages_change_nothing(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    mall_id = await _mall(world, shop)
    genuine = world.pdd.new_order(mall_id)
    unpaid = world.pdd.new_order(mall_id)
    unpaid.confirm_status = 0  # listed as 待发货 by its order_status, yet not 成交: not to ship
    refunding = world.pdd.new_order(mall_id)
    refunding.refund_status = 2
    gone = world.pdd.new_order(mall_id)
    other_mall, _ = world.pdd.add_mall()
    elsewhere = world.pdd.new_order(other_mall)  # a mall no store of ours is bound to
    stranger = PddOrder(gone.order_sn.replace("-", "-9")[:22], mall_id)  # the platform has no such order
    forged_body, forged_headers = world.pdd.message(world.pdd.new_order(mall_id))
    forged_headers = {**forged_headers, "X-Pdd-Sign": "0" * 32}
    messages = [world.pdd.message(o) for o in (genuine, unpaid, refunding, gone, elsewhere, stranger)]
    del world.pdd.orders[gone.order_sn]
    world.pdd.calls.clear()
    answers = await _push_all(world, [*messages, (forged_body, forged_headers)])
    assert [a.status_code for a in answers] == [200] * 6 + [401]
    statuses = [a.json()["status"] for a in answers[:6]]
    assert statuses[0] == "order_created"
    assert statuses[1].startswith("trade_")
    assert statuses[2].startswith("trade_")
    assert statuses[3:] == ["trade_not_found", "unknown_seller", "trade_not_found"]
    assert await _stored(world, shop) == [genuine.order_sn]
    # The list answered the unpaid and refunding orders (as not to ship); the two it does not hold were read.
    assert sorted(_reads(world)) == sorted([gone.order_sn, stranger.order_sn])
    assert len(world.pdd.listed()) == 1


async def test_redelivered_messages_are_stored_once(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    mall_id = await _mall(world, shop)
    a, b = world.pdd.new_order(mall_id), world.pdd.new_order(mall_id)
    first, second = world.pdd.message(a), world.pdd.message(b)
    answers = await _push_all(world, [first, second, first, first])
    assert [r.json()["status"] for r in answers] == ["order_created", "order_created", "duplicate", "duplicate"]
    again = await _push_all(world, [second, first])
    assert [r.json()["status"] for r in again] == ["duplicate", "duplicate"]
    assert (await _push_all(world, [world.pdd.message(a)]))[0].json()["status"] == "order_exists"
    assert await _stored(world, shop) == sorted([a.order_sn, b.order_sn])


async def test_a_failed_list_call_takes_the_group_again_message_by_message(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    mall_id = await _mall(world, shop)
    orders = [world.pdd.new_order(mall_id) for _ in range(3)]
    world.pdd.list_failures = 1
    world.pdd.calls.clear()
    answers = await _push_all(world, [world.pdd.message(o) for o in orders])
    assert [a.json()["status"] for a in answers] == ["order_created"] * 3
    assert [c["type"] for c in world.pdd.calls].count(INCREMENT) == 1
    assert sorted(_reads(world)) == sorted(o.order_sn for o in orders)  # each message read on its own
    assert await _stored(world, shop) == sorted(o.order_sn for o in orders)


async def test_a_failed_list_call_and_failed_reads_store_nothing_until_redelivered(
    world: World, shipping_env: Env
) -> None:
    shop = await bind_shop(world, shipping_env)
    mall_id = await _mall(world, shop)
    orders = [world.pdd.new_order(mall_id) for _ in range(2)]
    world.pdd.list_failures, world.pdd.info_failures = 1, 2
    messages = [world.pdd.message(o) for o in orders]
    answers = await _push_all(world, messages)
    assert [a.status_code for a in answers] == [503, 503]
    assert await _stored(world, shop) == []
    # Redelivered once the platform answers: taken in then (the failed tries burnt no message id).
    assert [a.json()["status"] for a in await _push_all(world, messages)] == ["order_created"] * 2
