"""Shipping tells allocation where each shipped number was used: the order's store and channel go with every
shipped mark (one order, a multi-parcel one, a batch, a mark retried as a job, changed numbers), and allocation
keeps them with the time it shipped (spend reports by store and channel)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from runtime.settings import to_asyncpg_dsn
from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.test_shipping_channels import _own_order
from tests.integration.shipping.test_shipping_ship import _paid_order
from tests.support import Env


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(20)})


async def _uses(env: Env, numbers: list[str]) -> dict[str, tuple[str | None, str | None, bool]]:
    """number -> (store_id, channel, shipped_at set) as allocation keeps them."""
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        rows = await conn.fetch(
            "SELECT number, store_id, channel, shipped_at FROM allocation.waybills WHERE number = ANY($1)", numbers
        )
    finally:
        await conn.close()
    return {r["number"]: (r["store_id"], r["channel"], r["shipped_at"] is not None) for r in rows}


async def _ship(world: World, shop: BoundShop, order_id: str, **body: Any) -> dict[str, Any]:
    resp = await world.shipping.post(
        f"/v1/orders/{order_id}/ship", json={"carrier": "ZTO", **body}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    found: dict[str, Any] = resp.json()
    return found


def _numbers(shipment: dict[str, Any]) -> list[str]:
    return [p["number"] for p in shipment["parcels"]] or [shipment["number"]]


async def test_a_marketplace_order_and_an_own_order_are_marked_with_their_store_and_channel(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    _, order = await _paid_order(world, shop)
    assert order["store_id"]
    taobao = await _ship(world, shop, order["id"], parcel_count=2)
    own = await _ship(world, shop, (await _own_order(world, shop, "use-own-1"))["id"])
    await world.run_jobs()
    uses = await _uses(shipping_env, _numbers(taobao) + _numbers(own))
    assert {uses[n] for n in _numbers(taobao)} == {(order["store_id"], "taobao", True)}
    assert uses[own["number"]] == (None, "own", True)


async def test_a_batch_marks_each_number_with_its_orders_store_and_channel(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    orders = [(await _paid_order(world, shop))[1] for _ in range(2)] + [await _own_order(world, shop, "use-own-b")]
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": [o["id"] for o in orders], "carrier": "ZTO"}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    await world.run_jobs()
    items = (
        await world.shipping.get(
            f"/v1/shipment-batches/{resp.json()['id']}", params={"limit": 10}, headers=shop.headers
        )
    ).json()["items"]
    by_order = {i["order_id"]: i["number"] for i in items}
    uses = await _uses(shipping_env, list(by_order.values()))
    assert {o["id"]: uses[by_order[o["id"]]] for o in orders} == {
        orders[0]["id"]: (orders[0]["store_id"], "taobao", True),
        orders[1]["id"]: (orders[1]["store_id"], "taobao", True),
        orders[2]["id"]: (None, "own", True),
    }


async def test_a_mark_allocation_missed_is_retried_as_a_job_with_the_store_and_channel(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    _, order = await _paid_order(world, shop)
    failed: list[str] = []

    async def mark_fails_once(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/mark") and not failed:
            failed.append(request.url.path)
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "down", "details": {}}})
        return await world.forward_allocation(request)

    assert world.mock is not None
    world.mock.route(host="allocation.test").mock(side_effect=mark_fails_once)
    shipment = await _ship(world, shop, order["id"])
    await world.run_jobs()
    assert failed, "the confirmation's own mark did not fail: the job path was not taken"
    assert (await _uses(shipping_env, [shipment["number"]]))[shipment["number"]] == (order["store_id"], "taobao", True)


async def test_changed_numbers_are_marked_with_the_orders_store_and_channel(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    order = await _own_order(world, shop, "use-change-1")
    shipment = await _ship(world, shop, order["id"])
    await world.run_jobs()
    resp = await world.shipping.post(f"/v1/shipments/{shipment['id']}/change-numbers", json={}, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    new = [p["number"] for p in resp.json()["parcels"] if p["status"] == "live"]
    await world.run_jobs()
    assert set((await _uses(shipping_env, new)).values()) == {(None, "own", True)}
