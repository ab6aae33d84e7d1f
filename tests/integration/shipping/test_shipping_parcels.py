"""Several parcels per order (一单多包): one allocation call for every number, a label, tracking and a status per
parcel, the order's status derived from all of them, and nothing lost when a ship is retried."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.test_shipping_channels import _own_order
from tests.support import INTERNAL_KEY, Env, bearer


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(12)})


def sf_numbers(count: int) -> list[str]:
    start = random.randrange(10**12, 9 * 10**12)
    return [f"SF{start + i:013d}" for i in range(count)]


async def _ship(world: World, shop: BoundShop, order_id: str, **body: Any) -> Any:
    return await world.shipping.post(f"/v1/orders/{order_id}/ship", json=body, headers=shop.headers)


async def _get(world: World, shop: BoundShop, path: str) -> Any:
    resp = await world.shipping.get(path, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _waybill(world: World, shop: BoundShop, number: str) -> str:
    resp = await world.allocation.get(f"/v1/waybills/{number}", headers=shop.headers)
    status: str = resp.json()["status"]
    return status


async def _tracking(world: World, shop: BoundShop, order_id: str, number: str, status: str) -> dict[str, Any]:
    body = {
        "event_id": str(uuid.uuid4()),
        "kind": "status_changed",
        "order_id": order_id,
        "carrier": "ZTO",
        "number": number,
        "status": status,
        "occurred_at": datetime.now(UTC).isoformat(),
        "description": status,
    }
    resp = await world.shipping.post("/internal/v1/tracking-updates", json=body, headers=bearer(INTERNAL_KEY, shop.id))
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def test_an_order_ships_in_three_parcels_each_with_its_number_label_and_tracking(
    world: World, shop: BoundShop
) -> None:
    order = await _own_order(world, shop, "erp-parcels-1")
    resp = await _ship(world, shop, order["id"], carrier="ZTO", parcel_count=3)
    assert resp.status_code == 202, resp.text
    shipment = resp.json()
    parcels = shipment["parcels"]
    assert [p["seq"] for p in parcels] == [1, 2, 3]
    numbers = [p["number"] for p in parcels]
    assert len(set(numbers)) == 3
    assert shipment["number"] == numbers[0]
    assert shipment["parcel_count"] == 3
    # The order's weight shared between boxes given none; ZTO ships each box as a waybill of its own.
    assert [p["weight_g"] for p in parcels] == [266, 266, 266]
    assert all(p["parent_number"] is None for p in parcels)
    # One allocation call for every number.
    assert sum(1 for c in world.allocation_calls if c.startswith("POST /v1/allocations")) == 1
    assert [await _waybill(world, shop, n) for n in numbers] == ["allocated"] * 3

    label = await world.shipping.get(f"/v1/shipments/{shipment['id']}/label.pdf", headers=shop.headers)
    assert label.status_code == 200
    assert label.content.count(b"/Type /Page ") == 3  # a page per parcel
    assert b"/Count 3" in label.content
    one = await world.shipping.get(f"/v1/shipments/{shipment['id']}/parcels/2/label.pdf", headers=shop.headers)
    assert one.status_code == 200
    assert one.headers["content-disposition"].endswith(f'{numbers[1]}.pdf"')

    await world.run_jobs()
    confirmed = await _get(world, shop, f"/v1/shipments/{shipment['id']}")
    assert confirmed["status"] == "confirmed"
    assert [p["label_prints"] for p in confirmed["parcels"]] == [1, 2, 1]
    assert [await _waybill(world, shop, n) for n in numbers] == ["shipped"] * 3
    followed = {s["number"] for s in world.tracking.subscriptions() if s["order_id"] == order["id"]}
    assert followed == set(numbers)

    # The order is delivered only when every parcel is.
    assert (await _tracking(world, shop, order["id"], numbers[0], "delivered"))["order_status"] == "in_transit"
    assert (await _tracking(world, shop, order["id"], numbers[1], "delivered"))["order_status"] == "in_transit"
    assert (await _tracking(world, shop, order["id"], numbers[2], "delivered"))["order_status"] == "delivered"
    statuses = [p["tracking_status"] for p in (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["parcels"]]
    assert statuses == ["delivered"] * 3


async def test_parcels_with_weights_and_lines_and_their_refusals(world: World, shop: BoundShop) -> None:
    order = await _own_order(world, shop, "erp-parcels-2")
    too_many_lines = await _ship(world, shop, order["id"], parcels=[{"lines": [1]}, {"lines": [2]}])
    assert too_many_lines.status_code == 422
    assert "no line 2" in too_many_lines.json()["error"]["message"]
    typed = await _ship(world, shop, order["id"], carrier="ZTO", number="123456789012", parcel_count=2)
    assert typed.status_code == 422
    both = await _ship(world, shop, order["id"], parcel_count=3, parcels=[{}, {}])
    assert both.status_code == 422
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "paid"
    resp = await _ship(
        world, shop, order["id"], carrier="ZTO", parcels=[{"weight_g": 500, "lines": [1]}, {"weight_g": 300}]
    )
    assert resp.status_code == 202, resp.text
    assert [(p["weight_g"], p["lines"]) for p in resp.json()["parcels"]] == [(500, [1]), (300, [])]


async def test_a_pool_that_cannot_fill_every_parcel_allocates_none(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(2)})
    order = await _own_order(world, shop, "erp-parcels-3")
    resp = await _ship(world, shop, order["id"], carrier="ZTO", parcel_count=3)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "pool_exhausted"
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "paid"
    pools = (await world.allocation.get("/v1/pools", headers=shop.headers)).json()["data"]
    assert next(p for p in pools if p["carrier"] == "ZTO")["counts"]["available"] == 2
    # Two parcels fit.
    assert (await _ship(world, shop, order["id"], carrier="ZTO", parcel_count=2)).status_code == 202


async def test_a_retried_ship_gets_the_numbers_a_crashed_one_was_given(world: World, shop: BoundShop) -> None:
    """A request that got its numbers and died before its commit: the retry asks for the same references
    (derived from the order's parcel ordinals) and gets the same numbers; none is lost, none doubled."""
    order = await _own_order(world, shop, "erp-parcels-4")
    refs = ["erp-parcels-4", "erp-parcels-4:P2", "erp-parcels-4:P3"]
    crashed = await world.allocation.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": refs}, headers=shop.headers
    )
    assert crashed.status_code in (200, 201), crashed.text
    given = [a["number"] for a in crashed.json()["allocations"]]
    resp = await _ship(world, shop, order["id"], carrier="ZTO", parcel_count=3)
    assert resp.status_code == 202, resp.text
    assert [p["number"] for p in resp.json()["parcels"]] == given


async def test_multi_piece_freight_is_one_parent_with_children(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    await seed_numbers(shipping_env, shop.id, "SF", sf_numbers(3))
    order = await _own_order(world, shop, "erp-parcels-5")
    resp = await _ship(world, shop, order["id"], carrier="SF", parcel_count=3)
    assert resp.status_code == 202, resp.text
    parent, *children = resp.json()["parcels"]
    assert parent["parent_number"] is None
    assert [c["parent_number"] for c in children] == [parent["number"]] * 2


async def test_cancelling_a_multi_parcel_shipment_gives_every_number_back(world: World, shop: BoundShop) -> None:
    order = await _own_order(world, shop, "erp-parcels-6")
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO", parcel_count=2)).json()
    numbers = [p["number"] for p in shipment["parcels"]]
    cancelled = await world.shipping.post(f"/v1/shipments/{shipment['id']}/cancel", headers=shop.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert [p["status"] for p in cancelled.json()["parcels"]] == ["released", "released"]
    await world.run_jobs()
    # No label was printed: both back in the pool.
    assert [await _waybill(world, shop, n) for n in numbers] == ["available", "available"]
