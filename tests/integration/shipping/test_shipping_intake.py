"""Order intake: the signed marketplace webhook and REST, both idempotent on (shop, marketplace order id)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.conftest import ShopCreds
from tests.integration.shipping.conftest import World, bind_shop
from tests.integration.shipping.fakes import sign
from tests.integration.shipping.test_shipping_at_collection import _collected as collected
from tests.support import Env


async def _orders(world: World, shop: ShopCreds, **params: str) -> list[dict[str, Any]]:
    resp = await world.shipping.get("/v1/orders", params=params, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["data"]
    return found


async def _push(world: World, form: dict[str, str]) -> httpx.Response:
    return await world.shipping.post("/webhooks/marketplace", data=form)


async def test_bad_signature_is_refused_and_nothing_is_stored(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    world.market.calls.clear()  # the binding's session check
    trade = world.market.new_trade(shop.nick)
    form = world.market.message(trade)
    tampered = {**form, "content": form["content"].replace("59.90", "0.01")}
    resp = await _push(world, tampered)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "bad_signature"
    wrong_secret = {**form}
    wrong_secret["sign"] = sign(form, secret="not-the-secret")
    assert (await _push(world, wrong_secret)).status_code == 401
    unsigned = {k: v for k, v in form.items() if k != "sign"}
    assert (await _push(world, unsigned)).status_code == 401
    assert await _orders(world, shop) == []
    assert world.market.calls == []  # not even a trade lookup
    # The genuine message still goes through afterwards (its id was not burnt by the forgeries).
    ok = await _push(world, form)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "order_created"


async def test_stale_timestamp_is_refused(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trade = world.market.new_trade(shop.nick)
    form = world.market.message(trade, timestamp="2020-01-01 00:00:00")
    assert (await _push(world, form)).status_code == 401
    assert await _orders(world, shop) == []


async def test_same_message_twice_makes_one_order_with_the_fetched_address(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trade = world.market.new_trade(shop.nick)
    form = world.market.message(trade)
    first, second = await asyncio.gather(_push(world, form), _push(world, form))
    assert {first.status_code, second.status_code} == {200}
    assert sorted([first.json()["status"], second.json()["status"]]) == ["duplicate", "order_created"]
    third = await _push(world, form)
    assert third.json()["status"] == "duplicate"
    orders = await _orders(world, shop)
    assert len(orders) == 1
    order = orders[0]
    assert order["external_id"] == trade.tid
    assert order["source"] == "marketplace"
    assert order["status"] == "paid"
    assert order["receiver"]["state"] == "广东省"
    assert order["receiver"]["name"] == "张三"
    assert order["weight_g"] == 1250
    assert order["payment_cents"] == 5990
    # The message had no address: the trade was read back once (listed, as paid messages are), with our signature.
    reads = ("taobao.trade.fullinfo.get", "taobao.trades.sold.increment.get")
    fetches = [c for c in world.market.calls if c["method"] in reads]
    assert len(fetches) == 1
    assert world.market.bad_signatures == 0


async def test_another_message_for_the_same_trade_does_not_duplicate_the_order(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trade = world.market.new_trade(shop.nick)
    assert (await _push(world, world.market.message(trade))).json()["status"] == "order_created"
    assert (await _push(world, world.market.message(trade))).json()["status"] == "order_exists"
    assert len(await _orders(world, shop)) == 1


async def test_marketplace_down_answers_503_then_redelivery_stores(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trade = world.market.new_trade(shop.nick)
    form = world.market.message(trade)
    world.market.list_failures = 1
    world.market.fullinfo_failures = 1
    resp = await _push(world, form)
    assert resp.status_code == 503
    assert await _orders(world, shop) == []
    again = await _push(world, form)
    assert again.status_code == 200
    assert again.json()["status"] == "order_created"


async def test_unknown_seller_is_acknowledged_and_recorded(world: World, shipping_env: Env) -> None:
    trade = world.market.new_trade("nobody-we-know")
    resp = await _push(world, world.market.message(trade))
    assert resp.status_code == 200
    assert resp.json()["status"] == "unknown_seller"


async def test_close_cancels_unshipped_order_and_is_refused_after_shipping(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": [f"7{n:011d}" for n in range(1_000_000_1, 1_000_000_3)]})
    unshipped = world.market.new_trade(shop.nick)
    shipped = world.market.new_trade(shop.nick)
    for t in (unshipped, shipped):
        assert (await _push(world, world.market.message(t))).status_code == 200
    orders = {o["external_id"]: o for o in await _orders(world, shop)}
    ship = await world.shipping.post(
        f"/v1/orders/{orders[shipped.tid]['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers
    )
    assert ship.status_code == 202, ship.text
    await world.run_jobs()

    for t in (unshipped, shipped):
        t.status = "TRADE_CLOSED"  # the marketplace closed both (a refund after shipping, for the second)
    closed = await _push(world, world.market.message(unshipped, topic="taobao_trade_TradeClose"))
    assert closed.json()["status"] == "cancelled"
    refused = await _push(world, world.market.message(shipped, topic="taobao_trade_TradeClose"))
    assert refused.json()["status"] == "refused_shipped"
    after = {o["external_id"]: o for o in await _orders(world, shop)}
    assert after[unshipped.tid]["status"] == "cancelled"
    assert after[shipped.tid]["status"] == "shipped"
    assert [f["kind"] for f in after[shipped.tid]["flags"]] == ["close_refused"]


async def test_address_change_updates_unshipped_and_is_flagged_once_shipped(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": [f"7{n:011d}" for n in range(1_000_000_5, 1_000_000_6)]})
    trade = world.market.new_trade(shop.nick)
    await _push(world, world.market.message(trade))
    # Still in 深圳市 南山区 (the fake trade's city and district): a province with another city would hold it.
    trade.receiver_state, trade.receiver_address = "广东", "粤海街道科技南路 88 号"
    changed = await _push(world, world.market.message(trade, topic="taobao_trade_TradeLogisticsAddressChanged"))
    assert changed.json()["status"] == "address_updated"
    (order,) = await _orders(world, shop)
    assert order["receiver"]["state"] == "广东"
    assert order["receiver"]["address"] == "粤海街道科技南路 88 号"

    shipped = await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    await world.run_jobs()
    # Shipped, not collected yet: the change reaches the courier, the label is outdated.
    trade.receiver_address = "改到公司前台"
    moved = await _push(world, world.market.message(trade, topic="taobao_trade_TradeLogisticsAddressChanged"))
    assert moved.json()["status"] == "address_updated"
    (order,) = await _orders(world, shop)
    assert order["receiver"]["address"] == "改到公司前台"
    assert order["flags"][-1]["kind"] == "label_outdated"
    # Collected: refused, flagged.
    await collected(world, shop, order["id"], shipped.json()["number"])
    trade.receiver_address = "又改了"
    refused = await _push(world, world.market.message(trade, topic="taobao_trade_TradeLogisticsAddressChanged"))
    assert refused.json()["status"] == "refused_shipped"
    (order,) = await _orders(world, shop)
    assert order["receiver"]["address"] == "改到公司前台"
    assert order["status"] == "in_transit"
    assert order["flags"][-1]["kind"] == "address_change_refused"


async def test_forged_or_stale_close_changes_nothing(world: World, shipping_env: Env) -> None:
    """A correctly signed TradeClose whose trade, read back, is still open (a replayed, stale or forged
    message) cancels nothing, flags nothing and emits nothing; the close that the trade bears out does."""
    shop = await bind_shop(world, shipping_env)
    trade = world.market.new_trade(shop.nick)
    gone = world.market.new_trade(shop.nick)
    for t in (trade, gone):
        assert (await _push(world, world.market.message(t))).json()["status"] == "order_created"
    fetches_before = len([c for c in world.market.calls if c["method"] == "taobao.trade.fullinfo.get"])

    forged = await _push(world, world.market.message(trade, topic="taobao_trade_TradeClose"))
    assert forged.status_code == 200, forged.text
    assert forged.json()["status"] == "close_not_confirmed"
    del world.market.trades[gone.tid]  # the marketplace no longer knows it: nothing to confirm the close
    unknown = await _push(world, world.market.message(gone, topic="taobao_trade_TradeClose"))
    assert unknown.json()["status"] == "trade_not_found"
    fetches = [c for c in world.market.calls if c["method"] == "taobao.trade.fullinfo.get"][fetches_before:]
    assert [c["tid"] for c in fetches] == [trade.tid, gone.tid]  # each close was read back
    orders = {o["external_id"]: o for o in await _orders(world, shop)}
    for t in (trade, gone):
        assert orders[t.tid]["status"] == "paid"
        assert orders[t.tid]["flags"] == []
        events = await world.shipping.get(f"/v1/orders/{orders[t.tid]['id']}/events", headers=shop.headers)
        assert [e["event"] for e in events.json()["data"]] == ["create"]

    trade.status = "TRADE_CLOSED_BY_TAOBAO"
    closed = await _push(world, world.market.message(trade, topic="taobao_trade_TradeClose"))
    assert closed.json()["status"] == "cancelled"


async def test_address_message_without_a_change_changes_nothing(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trade = world.market.new_trade(shop.nick)
    await _push(world, world.market.message(trade))
    (before,) = await _orders(world, shop)
    same = await _push(world, world.market.message(trade, topic="taobao_trade_TradeLogisticsAddressChanged"))
    assert same.json()["status"] == "address_unchanged"
    (after,) = await _orders(world, shop)
    assert after == before


ORDER = {
    "external_id": "shop-ref-1001",
    "receiver": {"name": "李四", "phone": "13800000000", "state": "浙江省", "city": "杭州市", "address": "西湖区 1 号"},
    "weight_g": 800,
}


async def test_rest_order_is_idempotent_and_scoped_to_the_shop(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    other = await bind_shop(world, shipping_env)
    first = await world.shipping.post("/v1/orders", json=ORDER, headers=shop.headers)
    assert first.status_code == 201, first.text
    again = await world.shipping.post("/v1/orders", json={**ORDER, "weight_g": 999}, headers=shop.headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["weight_g"] == 800
    order_id = first.json()["id"]
    assert (await world.shipping.get(f"/v1/orders/{order_id}", headers=other.headers)).status_code == 404
    theirs = await world.shipping.post("/v1/orders", json=ORDER, headers=other.headers)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != order_id
    bad = await world.shipping.post("/v1/orders", json={**ORDER, "weight_g": 0}, headers=shop.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_error"
