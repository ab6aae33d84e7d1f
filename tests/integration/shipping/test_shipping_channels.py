"""Orders from every channel: the shop's own orders ship with no marketplace at all, Pinduoduo stores beside
Taobao ones (several per shop, proven at binding, one shop per seller), messages routed by store, and every
shipment confirmed on the channel its order came from, never on another."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.conftest import make_shop
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.support import Env

RECEIVER = {"name": "张三", "phone": "13800138000", "state": "浙江省", "city": "杭州市", "address": "文一西路 969 号"}


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(20)})


async def _own_order(world: World, shop: BoundShop, external_id: str) -> dict[str, Any]:
    body = {"external_id": external_id, "receiver": RECEIVER, "weight_g": 800}
    resp = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _get(world: World, shop: BoundShop, path: str, **params: Any) -> Any:
    resp = await world.shipping.get(path, params=params or None, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _bind_pdd(world: World, shop: BoundShop) -> tuple[int, dict[str, Any]]:
    mall_id, token = world.pdd.add_mall()
    resp = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token, "name": "拼多多店"}, headers=shop.headers
    )
    assert resp.status_code == 201, resp.text
    return mall_id, resp.json()


async def test_an_own_channel_order_ships_without_any_marketplace_and_tells_the_shop(
    world: World, shipping_env: Env, hooks_test_allowed: None
) -> None:
    # No store bound at all: the shop sells on its own web store only.
    created = await make_shop(world.allocation)
    shop = BoundShop(created.id, created.key)
    from tests.integration.allocation_support import seed_numbers

    await seed_numbers(shipping_env, shop.id, "ZTO", zto_numbers(5))
    hook = await world.shipping.post(
        "/v1/webhook-endpoints",
        json={"url": "http://hooks.test/own", "events": ["shipment.confirmed"]},
        headers=shop.headers,
    )
    assert hook.status_code == 201, hook.text
    order = await _own_order(world, shop, "erp-0001")
    assert (order["channel"], order["store_id"]) == ("own", None)
    shipped = await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    assert shipped.status_code == 202, shipped.text
    await world.run_jobs()
    shipment = await _get(world, shop, f"/v1/shipments/{shipped.json()['id']}")
    assert shipment["status"] == "confirmed"
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "shipped"
    assert world.market.sends("erp-0001") == []
    assert world.pdd.calls == []
    number = await world.allocation.get(f"/v1/waybills/{shipment['number']}", headers=shop.headers)
    assert number.json()["status"] == "shipped"  # the number is used, not lost
    events = [b for b in world.hooks.bodies() if isinstance(b, dict) and b.get("type") == "shipment.confirmed"]
    assert [e["data"]["external_id"] for e in events] == ["erp-0001"]
    notes = [e["note"] for e in (await _get(world, shop, f"/v1/orders/{order['id']}/events"))["data"]]
    assert any("own channel" in (n or "") for n in notes)


async def test_a_marketplace_orders_external_id_is_not_the_shops_own(world: World, shop: BoundShop) -> None:
    trade = world.market.new_trade(shop.nick)
    await world.shipping.post("/webhooks/marketplace", data=world.market.message(trade))
    body = {"external_id": trade.tid, "receiver": RECEIVER, "weight_g": 500}
    resp = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["details"]["channel"] == "taobao"
    refused = await world.shipping.post(
        "/v1/orders", json={**body, "external_id": "erp-9", "channel": "taobao"}, headers=shop.headers
    )
    assert refused.status_code == 422  # marketplace orders come from their stores' messages only


async def test_a_shop_binds_a_pinduoduo_store_beside_taobao_and_each_orders_ship_on_their_own_channel(
    world: World, shop: BoundShop
) -> None:
    mall_id, store = await _bind_pdd(world, shop)
    assert (store["channel"], store["seller_id"], store["name"], store["token_set"]) == (
        "pinduoduo",
        str(mall_id),
        "拼多多店",
        True,
    )
    listed = await _get(world, shop, "/v1/stores")
    assert sorted(s["channel"] for s in listed["data"]) == ["pinduoduo", "taobao"]
    assert [s["id"] for s in (await _get(world, shop, "/v1/stores", channel="pinduoduo"))["data"]] == [store["id"]]

    pdd_order = world.pdd.new_order(mall_id)
    body, headers = world.pdd.message(pdd_order)
    got = await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "order_created"
    again = await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)
    assert again.json()["status"] == "duplicate"
    trade = world.market.new_trade(shop.nick)
    await world.shipping.post("/webhooks/marketplace", data=world.market.message(trade))
    own = await _own_order(world, shop, "erp-0002")

    pdd = (await _get(world, shop, "/v1/orders", channel="pinduoduo"))["data"]
    assert [(o["external_id"], o["store_id"]) for o in pdd] == [(pdd_order.order_sn, store["id"])]
    assert pdd[0]["receiver"]["state"] == "广东省"
    assert pdd[0]["payment_cents"] == 5990
    by_store = (await _get(world, shop, "/v1/orders", store_id=store["id"]))["data"]
    assert [o["id"] for o in by_store] == [pdd[0]["id"]]
    taobao = (await _get(world, shop, "/v1/orders", channel="taobao"))["data"]
    assert [o["external_id"] for o in taobao] == [trade.tid]

    # One batch mixing the three channels; each confirmed where it came from.
    ids = [pdd[0]["id"], taobao[0]["id"], own["id"]]
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": ids, "carrier": "ZTO"}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    await world.run_jobs()
    for order_id in ids:
        assert (await _get(world, shop, f"/v1/orders/{order_id}"))["status"] == "shipped"
    [pdd_send] = world.pdd.sends(pdd_order.order_sn)
    assert pdd_send["logistics_id"] == "115"
    assert pdd_send["tracking_number"] == pdd_order.tracking_number
    assert len(world.market.sends(trade.tid)) == 1
    assert world.market.sends("erp-0002") == []
    assert world.market.sends(pdd_order.order_sn) == []


async def test_a_seller_is_bound_to_one_shop_and_binding_needs_the_channels_proof(
    world: World, shop: BoundShop
) -> None:
    mall_id, store = await _bind_pdd(world, shop)
    other = await make_shop(world.allocation)
    [token] = [t for t, m in world.pdd.tokens.items() if m == mall_id]
    taken = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token}, headers=other.headers
    )
    assert taken.status_code == 409, taken.text
    forged = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": "not-a-token"}, headers=other.headers
    )
    assert forged.status_code == 422
    assert forged.json()["error"]["code"] == "seller_not_verified"
    claimed = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token, "seller_id": "1"}, headers=shop.headers
    )
    assert claimed.status_code == 422  # the token is not mall 1's
    renewed = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token}, headers=shop.headers
    )
    assert renewed.status_code == 200
    assert renewed.json()["id"] == store["id"]
    assert (await world.shipping.get(f"/v1/stores/{store['id']}", headers=other.headers)).status_code == 404


async def test_an_unbound_stores_messages_and_orders_go_nowhere(world: World, shop: BoundShop) -> None:
    mall_id, store = await _bind_pdd(world, shop)
    first = world.pdd.new_order(mall_id)
    body, headers = world.pdd.message(first)
    assert (await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)).status_code == 200
    [order] = (await _get(world, shop, "/v1/orders", store_id=store["id"]))["data"]
    gone = await world.shipping.delete(f"/v1/stores/{store['id']}", headers=shop.headers)
    assert gone.status_code == 200
    assert gone.json()["active"] is False
    assert gone.json()["token_set"] is False
    later = world.pdd.new_order(mall_id)
    body, headers = world.pdd.message(later)
    answer = await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)
    assert answer.json()["status"] == "unknown_seller"
    refused = await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    assert refused.status_code == 409
    assert "unbound" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"id": 1}', {"X-Pdd-Client-Id": "sandbox-pdd-client", "X-Pdd-Timestamp": "1", "X-Pdd-Sign": "00"}),
        (b"not json", {}),
    ],
)
async def test_a_pinduoduo_message_not_signed_by_the_platform_stores_nothing(
    world: World, shop: BoundShop, body: bytes, headers: dict[str, str]
) -> None:
    resp = await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "bad_signature"
