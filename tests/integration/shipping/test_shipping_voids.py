"""Voiding labels before collection (回收单号) and changing a confirmed shipment's numbers (换单号)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.test_shipping_channels import _own_order
from tests.integration.shipping.test_shipping_ship import _paid_order
from tests.support import INTERNAL_KEY, Env, bearer


@pytest.fixture
async def shop(world: World, shipping_env: Env, hooks_test_allowed: None) -> BoundShop:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(12)})
    hook = await world.shipping.post(
        "/v1/webhook-endpoints",
        json={"url": "http://hooks.test/voids", "events": ["shipment.voided", "shipment.numbers_changed"]},
        headers=shop.headers,
    )
    assert hook.status_code == 201, hook.text
    return shop


async def _post(world: World, shop: BoundShop, path: str, **body: Any) -> Any:
    return await world.shipping.post(path, json=body, headers=shop.headers)


async def _get(world: World, shop: BoundShop, path: str) -> Any:
    resp = await world.shipping.get(path, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _waybill(world: World, shop: BoundShop, number: str) -> str:
    status: str = (await world.allocation.get(f"/v1/waybills/{number}", headers=shop.headers)).json()["status"]
    return status


async def _collected(world: World, shop: BoundShop, order_id: str, number: str) -> dict[str, Any]:
    body = {
        "event_id": str(uuid.uuid4()),
        "kind": "status_changed",
        "order_id": order_id,
        "carrier": "ZTO",
        "number": number,
        "status": "collected",
        "occurred_at": datetime.now(UTC).isoformat(),
        "description": "已揽收",
    }
    resp = await world.shipping.post("/internal/v1/tracking-updates", json=body, headers=bearer(INTERNAL_KEY, shop.id))
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


def _events(world: World, kind: str) -> list[dict[str, Any]]:
    return [b["data"] for b in world.hooks.bodies() if isinstance(b, dict) and b.get("type") == kind]


async def test_voiding_before_confirmation_voids_every_number_and_the_order_ships_again(
    world: World, shop: BoundShop
) -> None:
    order = await _own_order(world, shop, "erp-void-1")
    shipment = (await _post(world, shop, f"/v1/orders/{order['id']}/ship", carrier="ZTO", parcel_count=2)).json()
    old = [p["number"] for p in shipment["parcels"]]
    resp = await _post(world, shop, f"/v1/shipments/{shipment['id']}/void", reason="买家退款")
    assert resp.status_code == 200, resp.text
    voided = resp.json()
    assert voided["status"] == "voided"
    assert voided["voided_at"] is not None
    assert [p["status"] for p in voided["parcels"]] == ["voided", "voided"]
    again = await _post(world, shop, f"/v1/shipments/{shipment['id']}/void")
    assert again.status_code == 200
    assert again.json()["status"] == "voided"
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "paid"
    await world.run_jobs()
    # Voided (a label may exist), never back in the pool.
    assert [await _waybill(world, shop, n) for n in old] == ["voided", "voided"]
    (event,) = _events(world, "shipment.voided")
    assert event["numbers"] == old
    assert event["was_confirmed"] is False
    assert event["reason"] == "买家退款"
    # Shipped again: new numbers, none of the voided ones.
    reship = (await _post(world, shop, f"/v1/orders/{order['id']}/ship", carrier="ZTO", parcel_count=2)).json()
    assert not {p["number"] for p in reship["parcels"]} & set(old)


async def test_a_confirmed_own_order_is_voided_and_its_systems_told(world: World, shop: BoundShop) -> None:
    order = await _own_order(world, shop, "erp-void-2")
    shipment = (await _post(world, shop, f"/v1/orders/{order['id']}/ship", carrier="ZTO")).json()
    await world.run_jobs()
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "shipped"
    resp = await _post(world, shop, f"/v1/shipments/{shipment['id']}/void")
    assert resp.status_code == 200, resp.text
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "paid"
    await world.run_jobs()
    assert _events(world, "shipment.voided")[0]["was_confirmed"] is True
    # Tracking news of the voided number moves nothing.
    late = await _collected(world, shop, order["id"], shipment["number"])
    assert late["order_status"] == "paid"


async def test_a_collected_parcel_is_never_voided(world: World, shop: BoundShop) -> None:
    order = await _own_order(world, shop, "erp-void-3")
    shipment = (await _post(world, shop, f"/v1/orders/{order['id']}/ship", carrier="ZTO", parcel_count=2)).json()
    await world.run_jobs()
    await _collected(world, shop, order["id"], shipment["parcels"][1]["number"])
    resp = await _post(world, shop, f"/v1/shipments/{shipment['id']}/void")
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "already_collected"
    assert error["details"]["collected"] == [shipment["parcels"][1]["number"]]
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "confirmed"
    changed = await _post(world, shop, f"/v1/shipments/{shipment['id']}/change-numbers")
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "already_collected"


async def test_a_marketplace_confirmation_cannot_be_withdrawn(world: World, shop: BoundShop) -> None:
    _, order = await _paid_order(world, shop)
    shipment = (await _post(world, shop, f"/v1/orders/{order['id']}/ship", carrier="ZTO")).json()
    await world.run_jobs()
    resp = await _post(world, shop, f"/v1/shipments/{shipment['id']}/void")
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "cannot_withdraw"
    assert "change-numbers" in error["message"]
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "confirmed"
    assert await _waybill(world, shop, shipment["number"]) == "shipped"


async def test_changing_a_confirmed_own_shipments_numbers(world: World, shop: BoundShop) -> None:
    order = await _own_order(world, shop, "erp-change-1")
    shipment = (await _post(world, shop, f"/v1/orders/{order['id']}/ship", carrier="ZTO", parcel_count=2)).json()
    old = [p["number"] for p in shipment["parcels"]]
    not_yet = await _post(world, shop, f"/v1/shipments/{shipment['id']}/change-numbers")
    assert not_yet.status_code == 409  # not confirmed yet: voided and shipped again instead
    await world.run_jobs()
    resp = await _post(world, shop, f"/v1/shipments/{shipment['id']}/change-numbers")
    assert resp.status_code == 200, resp.text
    changed = resp.json()
    live = [p for p in changed["parcels"] if p["status"] == "live"]
    new = [p["number"] for p in live]
    assert [p["seq"] for p in live] == [1, 2]
    assert len(set(new)) == 2
    assert not set(new) & set(old)
    assert changed["number"] == new[0]
    assert sorted(p["number"] for p in changed["parcels"] if p["status"] == "voided") == sorted(old)
    await world.run_jobs()
    assert [await _waybill(world, shop, n) for n in old] == ["voided", "voided"]
    assert [await _waybill(world, shop, n) for n in new] == ["shipped", "shipped"]
    (event,) = _events(world, "shipment.numbers_changed")
    assert (event["old_numbers"], event["numbers"]) == (old, new)
    followed = {s["number"] for s in world.tracking.subscriptions() if s["order_id"] == order["id"]}
    assert set(new) <= followed
    flags = (await _get(world, shop, f"/v1/orders/{order['id']}"))["flags"]
    assert any(f.get("kind") == "label_outdated" or "label_outdated" in str(f) for f in flags)
    # The old numbers' tracking news moves nothing; the new ones' does.
    assert (await _collected(world, shop, order["id"], old[0]))["applied"] is False
    assert (await _collected(world, shop, order["id"], new[0]))["order_status"] == "in_transit"


async def test_changing_numbers_with_a_pool_that_has_too_few_changes_nothing(
    world: World, shipping_env: Env, hooks_test_allowed: None
) -> None:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(3)})
    await seed_numbers(shipping_env, shop.id, "YTO", [f"YT{n:013d}" for n in range(1_000_000, 1_000_001)])
    order = await _own_order(world, shop, "erp-change-2")
    shipment = (await _post(world, shop, f"/v1/orders/{order['id']}/ship", carrier="ZTO", parcel_count=2)).json()
    await world.run_jobs()
    resp = await _post(world, shop, f"/v1/shipments/{shipment['id']}/change-numbers", carrier="YTO")
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "pool_exhausted"
    after = await _get(world, shop, f"/v1/shipments/{shipment['id']}")
    assert [p["number"] for p in after["parcels"]] == [p["number"] for p in shipment["parcels"]]
