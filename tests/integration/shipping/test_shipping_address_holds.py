"""Address checks at intake over the real database: an order whose receiver fails them is created held
(``held: address_invalid``, a flag saying what is wrong, an ``address_invalid`` alert and its webhook), shipping
it answers 409 ``address_invalid``, a batch skips it with that reason, and fixing the address (the REST
receiver update, the marketplace's address-changed message) checks it again and releases the hold."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.integration.shipping.test_shipping_at_collection import _collected as collected
from tests.support import Env

GOOD = {
    "name": "张三",
    "phone": "13800138000",
    "state": "广东省",
    "city": "广州市",
    "district": "天河区",
    "address": "天河路 1 号",
}
BAD = {**GOOD, "district": "XX区"}


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(20)})


async def _create(world: World, shop: BoundShop, external_id: str, receiver: dict[str, str]) -> dict[str, Any]:
    body = {"external_id": external_id, "receiver": receiver, "weight_g": 800}
    resp = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _get(world: World, shop: BoundShop, path: str, **params: Any) -> Any:
    resp = await world.shipping.get(path, params=params or None, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _alerts(world: World, shop: BoundShop, order_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await _get(world, shop, "/v1/order-alerts", order_id=order_id))["data"]
    return found


async def test_a_bad_address_creates_the_order_held_flagged_and_alerted(
    world: World, shop: BoundShop, hooks_test_allowed: None
) -> None:
    hook = await world.shipping.post(
        "/v1/webhook-endpoints",
        json={"url": "http://hooks.test/holds", "events": ["order.alert_opened"]},
        headers=shop.headers,
    )
    assert hook.status_code == 201, hook.text
    order = await _create(world, shop, "erp-hold-1", BAD)
    assert order["held"] == "address_invalid"
    assert order["flags"][-1]["kind"] == "address_invalid"
    assert order["flags"][-1]["message"] == "区县「XX区」不属于「广州市」"
    (alert,) = await _alerts(world, shop, order["id"])
    assert (alert["kind"], alert["state"], alert["message"]) == (
        "address_invalid",
        "open",
        "区县「XX区」不属于「广州市」",
    )
    events = await _get(world, shop, f"/v1/orders/{order['id']}/events")
    assert [e["event"] for e in events["data"]] == ["create", "held"]
    await world.run_jobs()
    (sent,) = [b for b in world.hooks.bodies() if b["shop_id"] == shop.id]
    assert (sent["type"], sent["data"]["order_id"], sent["data"]["kind"]) == (
        "order.alert_opened",
        order["id"],
        "address_invalid",
    )
    # A good address (a virtual number with its extension included) is not held.
    fine = await _create(world, shop, "erp-hold-2", {**GOOD, "phone": "13800138000转1234"})
    assert fine["held"] is None
    assert await _alerts(world, shop, fine["id"]) == []
    held = (await _get(world, shop, "/v1/orders", held="true"))["data"]
    assert [o["id"] for o in held] == [order["id"]]
    assert [o["id"] for o in (await _get(world, shop, "/v1/orders", held="false"))["data"]] == [fine["id"]]


async def test_a_held_order_is_refused_by_ship_and_skipped_by_a_batch(world: World, shop: BoundShop) -> None:
    held = await _create(world, shop, "erp-hold-3", {**GOOD, "phone": "88886666"})
    fine = await _create(world, shop, "erp-hold-4", GOOD)
    refused = await world.shipping.post(f"/v1/orders/{held['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "address_invalid"
    assert error["details"] == {
        "order_id": held["id"],
        "held": "address_invalid",
        "reason": "固定电话「88886666」缺少区号",
    }

    batch = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": [held["id"], fine["id"]], "carrier": "ZTO"}, headers=shop.headers
    )
    assert batch.status_code == 202, batch.text
    await world.run_jobs()
    items = {
        i["order_id"]: i for i in (await _get(world, shop, f"/v1/shipment-batches/{batch.json()['id']}/items"))["data"]
    }
    assert items[held["id"]]["status"] == "skipped"
    assert items[held["id"]]["message"] == "address_invalid: 固定电话「88886666」缺少区号"
    assert items[fine["id"]]["status"] == "shipped"
    assert (await _get(world, shop, f"/v1/orders/{held['id']}"))["status"] == "paid"


async def test_fixing_the_address_over_rest_releases_the_hold(world: World, shop: BoundShop) -> None:
    order = await _create(world, shop, "erp-hold-5", BAD)
    # Still wrong, in another way: still held, the alert says the new problem.
    still = await world.shipping.put(
        f"/v1/orders/{order['id']}/receiver", json={**GOOD, "city": "杭州市"}, headers=shop.headers
    )
    assert still.status_code == 200, still.text
    assert still.json()["held"] == "address_invalid"
    alerts = await _alerts(world, shop, order["id"])
    assert sorted((a["state"], a["message"]) for a in alerts) == [
        ("open", "城市「杭州市」不属于「广东省」"),
        ("resolved", "区县「XX区」不属于「广州市」"),
    ]
    fixed = await world.shipping.put(f"/v1/orders/{order['id']}/receiver", json=GOOD, headers=shop.headers)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["held"] is None
    assert fixed.json()["receiver"]["district"] == "天河区"
    assert {a["state"] for a in await _alerts(world, shop, order["id"])} == {"resolved"}
    events = [e["event"] for e in (await _get(world, shop, f"/v1/orders/{order['id']}/events"))["data"]]
    assert events == ["create", "held", "address_changed", "address_changed", "released"]
    shipped = await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    assert shipped.status_code == 202, shipped.text
    await world.run_jobs()
    # Collected by the courier: its receiver can no longer change (test_shipping_address_changes.py has the rest).
    await collected(world, shop, order["id"], shipped.json()["number"])
    late = await world.shipping.put(f"/v1/orders/{order['id']}/receiver", json=BAD, headers=shop.headers)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "already_collected"


async def test_a_good_address_changed_to_a_bad_one_holds_the_order(world: World, shop: BoundShop) -> None:
    order = await _create(world, shop, "erp-hold-6", GOOD)
    changed = await world.shipping.put(f"/v1/orders/{order['id']}/receiver", json=BAD, headers=shop.headers)
    assert changed.json()["held"] == "address_invalid"
    refused = await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    assert refused.json()["error"]["code"] == "address_invalid"


async def test_another_shops_order_receiver_is_not_found(world: World, shop: BoundShop, shipping_env: Env) -> None:
    other = await bind_shop(world, shipping_env)
    order = await _create(world, shop, "erp-hold-7", BAD)
    resp = await world.shipping.put(f"/v1/orders/{order['id']}/receiver", json=GOOD, headers=other.headers)
    assert resp.status_code == 404
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["held"] == "address_invalid"


async def test_the_marketplaces_address_change_releases_the_hold(world: World, shop: BoundShop) -> None:
    trade = world.market.new_trade(shop.nick, receiver_state="浙江省")  # with the fake's 深圳市 南山区
    created = await world.shipping.post("/webhooks/marketplace", data=world.market.message(trade))
    assert created.json()["status"] == "order_created"
    (order,) = (await _get(world, shop, "/v1/orders", channel="taobao"))["data"]
    assert order["held"] == "address_invalid"
    assert order["flags"][-1]["message"] == "城市「深圳市」不属于「浙江省」"

    trade.receiver_state = "广东"
    topic = "taobao_trade_TradeLogisticsAddressChanged"
    changed = await world.shipping.post("/webhooks/marketplace", data=world.market.message(trade, topic=topic))
    assert changed.json()["status"] == "address_updated"
    order = await _get(world, shop, f"/v1/orders/{order['id']}")
    assert order["held"] is None
    assert [a["state"] for a in await _alerts(world, shop, order["id"])] == ["resolved"]


async def test_a_cancelled_held_orders_alert_resolves(world: World, shop: BoundShop, redis: Any) -> None:
    from services.shipping.tasks import sweep_ship_by

    order = await _create(world, shop, "erp-hold-8", BAD)
    cancelled = await world.shipping.post(f"/v1/orders/{order['id']}/cancel", headers=shop.headers)
    assert cancelled.status_code == 200, cancelled.text
    async with worker_ctx(redis) as ctx:
        await sweep_ship_by(ctx)
    assert [a["state"] for a in await _alerts(world, shop, order["id"])] == ["resolved"]
