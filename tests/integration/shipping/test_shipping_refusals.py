"""A refused confirmation never loses a paid number that was not physically used: its label never fetched,
it goes back to the pool; fetched, it stays the order's (shipping the order again reuses it and its label)
unless the order closed; a number the channel calls bad is put out of use. The shop is told which, and why
(``shipment.failed``'s ``number_outcome`` and the order's flag)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.test_shipping_ship import _order, _paid_order, _ship, _shipment, _waybill
from tests.support import Env


@pytest.fixture
async def shop(world: World, shipping_env: Env, hooks_test_allowed: None) -> BoundShop:
    bound = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(20)})
    hook = await world.shipping.post(
        "/v1/webhook-endpoints",
        json={"url": "http://hooks.test/failed", "events": ["shipment.failed"]},
        headers=bound.headers,
    )
    assert hook.status_code == 201, hook.text
    return bound


def _failed_events(world: World) -> list[dict[str, Any]]:
    return [b["data"] for b in world.hooks.bodies() if isinstance(b, dict) and b.get("type") == "shipment.failed"]


async def _print(world: World, shop: BoundShop, shipment_id: str) -> None:
    resp = await world.shipping.get(f"/v1/shipments/{shipment_id}/label.pdf", headers=shop.headers)
    assert resp.status_code == 200, resp.text


async def test_a_refusal_before_the_label_was_printed_returns_the_number_to_the_pool(
    world: World, shop: BoundShop
) -> None:
    trade, order = await _paid_order(world, shop)
    world.market.script[trade.tid] = ["B01"]  # the order does not exist on Taobao (any more)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await world.run_jobs()
    assert (await _shipment(world, shop, shipment["id"]))["status"] == "failed"
    assert (await _waybill(world, shop, shipment["number"]))["status"] == "available"
    after = await _order(world, shop, order["id"])
    assert (after["status"], after["number"]) == ("paid", None)
    assert f"{shipment['number']} returned" in after["flags"][-1]["message"]
    [event] = _failed_events(world)
    assert (event["code"], event["number"], event["number_outcome"]) == ("B01", shipment["number"], "returned")


async def test_a_refusal_after_the_label_was_printed_keeps_the_number_with_the_order(
    world: World, shop: BoundShop
) -> None:
    trade, order = await _paid_order(world, shop)
    world.market.script[trade.tid] = ["B01"]
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await _print(world, shop, shipment["id"])
    await world.run_jobs()
    after = await _order(world, shop, order["id"])
    assert (after["status"], after["number"], after["carrier"]) == ("paid", shipment["number"], "ZTO")
    assert (await _waybill(world, shop, shipment["number"]))["status"] == "allocated"  # still the order's
    assert _failed_events(world)[-1]["number_outcome"] == "kept"
    # Shipped again (the marketplace answers now): the same number, so the label on the parcel is right.
    again = await _ship(world, shop, order["id"])
    assert again.status_code == 202, again.text
    assert again.json()["number"] == shipment["number"]
    await world.run_jobs()
    assert (await _order(world, shop, order["id"]))["status"] == "shipped"
    assert (await _waybill(world, shop, shipment["number"]))["status"] == "shipped"


async def test_a_kept_number_is_voided_when_the_order_is_cancelled(world: World, shop: BoundShop) -> None:
    trade, order = await _paid_order(world, shop)
    world.market.script[trade.tid] = ["B01"]
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await _print(world, shop, shipment["id"])
    await world.run_jobs()
    cancelled = await world.shipping.post(
        f"/v1/orders/{order['id']}/cancel", json={"reason": "buyer gave up"}, headers=shop.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await world.run_jobs()
    assert (await _waybill(world, shop, shipment["number"]))["status"] == "voided"  # a label exists: never again


async def test_a_number_the_marketplace_calls_bad_is_put_out_of_use_printed_or_not(
    world: World, shop: BoundShop
) -> None:
    trade, order = await _paid_order(world, shop)
    world.market.script[trade.tid] = ["B60"] * 10  # every number refused as not the carrier's or used
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await _print(world, shop, shipment["id"])
    await world.run_jobs()
    failed = await _shipment(world, shop, shipment["id"])
    assert failed["status"] == "failed"
    assert failed["reallocations"] == 3
    tried = [h["number"] for h in failed["history"] if h["event"] == "assigned"]
    for number in tried:
        assert (await _waybill(world, shop, number))["status"] == "quarantined"
    assert _failed_events(world)[-1]["number_outcome"] == "quarantined"
    flags = (await _order(world, shop, order["id"]))["flags"]
    assert any(f["kind"] == "label_outdated" for f in flags)  # the printed label carried a refused number


async def test_a_failed_shipments_label_is_never_printed(world: World, shop: BoundShop) -> None:
    trade, order = await _paid_order(world, shop)
    world.market.script[trade.tid] = ["B01"]
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await world.run_jobs()
    resp = await world.shipping.get(f"/v1/shipments/{shipment['id']}/label.pdf", headers=shop.headers)
    assert resp.status_code == 404  # its number went back to the pool: a label now could reach two parcels


async def test_a_cancel_after_the_label_was_fetched_voids_the_number(world: World, shop: BoundShop) -> None:
    _trade, order = await _paid_order(world, shop)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await _print(world, shop, shipment["id"])
    cancelled = await world.shipping.post(f"/v1/shipments/{shipment['id']}/cancel", headers=shop.headers)
    assert cancelled.status_code == 200, cancelled.text
    await world.run_jobs()
    assert (await _waybill(world, shop, shipment["number"]))["status"] == "voided"
