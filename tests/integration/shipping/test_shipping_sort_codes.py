"""Each parcel carries its courier's sort code (三段码 / 大头笔) and consolidation centre (集包地) for its
destination: asked in the ship path (one allocation call per shipment, one per batch chunk), never holding a
shipment or a label up when the courier is down (the route_parcels job fills them later), cleared by an address
change and brought back for the new destination by the courier's answer to the new receiver. The courier is
tests/integration/shipping/fake_courier.py behind the real allocation app."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from arq import Retry

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.integration.shipping.fake_courier import route_of
from tests.integration.shipping.test_shipping_channels import RECEIVER, _own_order
from tests.support import Env

MOVED = {"name": "李雷", "phone": "13912345678", "state": "浙江省", "city": "金华市", "district": "义乌市",
         "address": "稠州北路 1 号"}  # fmt: skip


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(12)})


def _expected(receiver: dict[str, str]) -> tuple[str, str]:
    info = route_of({"city": receiver["city"], "district": receiver.get("district", "")})
    return info["routeCode"], info["consolidation"]["name"]


def _routing(shipment: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return [(p["sort_code"], p["package_center"]) for p in shipment["parcels"]]


async def _ship(world: World, shop: BoundShop, external_id: str, **body: Any) -> dict[str, Any]:
    order = await _own_order(world, shop, external_id)
    resp = await world.shipping.post(
        f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO", **body}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    shipment: dict[str, Any] = resp.json()
    return shipment


async def _shipment(world: World, shop: BoundShop, shipment_id: str) -> dict[str, Any]:
    resp = await world.shipping.get(f"/v1/shipments/{shipment_id}", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def test_shipping_answers_every_parcels_sort_code_in_one_call(world: World, shop: BoundShop) -> None:
    world.allocation_calls.clear()
    shipped = await _ship(world, shop, "erp-sort-1", parcel_count=2)
    numbers = [p["number"] for p in shipped["parcels"]]
    assert _routing(shipped) == [_expected(RECEIVER)] * 2
    assert world.allocation_calls.count("POST /v1/waybills/routes") == 1
    [message] = world.courier.routed
    assert [w["waybill_code"] for w in message["waybills"]] == numbers
    assert {w["address"]["city"] for w in message["waybills"]} == {"杭州市"}
    # Stored: every read of the shipment (and so its labels) has them.
    assert _routing(await _shipment(world, shop, shipped["id"])) == [_expected(RECEIVER)] * 2


async def test_a_courier_that_is_down_holds_neither_the_shipment_nor_its_label_up(
    world: World, shop: BoundShop, redis: Any
) -> None:
    world.courier.down = True
    shipped = await _ship(world, shop, "erp-sort-down", parcel_count=2)
    assert shipped["status"] == "pending"
    assert _routing(shipped) == [(None, None)] * 2
    label = await world.shipping.get(f"/v1/shipments/{shipped['id']}/label.pdf", headers=shop.headers)
    assert label.status_code == 200
    assert label.headers["content-type"] == "application/pdf"
    # The job queued with the shipment retries while the courier is still down...
    from services.shipping.tasks import route_parcels

    async with worker_ctx(redis) as ctx:
        with pytest.raises(Retry):
            await route_parcels(ctx, shop.id, [shipped["id"]])
    assert _routing(await _shipment(world, shop, shipped["id"])) == [(None, None)] * 2
    # ...and fills the parcels once it is back: the next print has them.
    world.courier.down = False
    await world.run_jobs()
    assert _routing(await _shipment(world, shop, shipped["id"])) == [_expected(RECEIVER)] * 2


async def test_an_address_change_clears_the_sort_codes_and_the_courier_gives_the_new_ones(
    world: World, shop: BoundShop
) -> None:
    shipped = await _ship(world, shop, "erp-sort-move", parcel_count=2)
    await world.run_jobs()
    resp = await world.shipping.put(f"/v1/orders/{shipped['order_id']}/receiver", json=MOVED, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    # At once: no sort code of the old destination left to print.
    assert _routing(await _shipment(world, shop, shipped["id"])) == [(None, None)] * 2
    routed_before = len(world.courier.routed)
    await world.run_jobs()
    after = await _shipment(world, shop, shipped["id"])
    assert _routing(after) == [_expected(MOVED)] * 2
    assert _expected(MOVED) != _expected(RECEIVER)
    assert [world.courier.sort_code(p["number"]) for p in after["parcels"]] == [_expected(MOVED)[0]] * 2
    # The update's own answer carried them: no routing call of its own.
    assert len(world.courier.routed) == routed_before


async def test_an_answer_for_an_address_that_moved_meanwhile_is_dropped_and_asked_again(
    world: World, shop: BoundShop, redis: Any
) -> None:
    from services.shipping.service import routing

    world.courier.down = True
    shipped = await _ship(world, shop, "erp-sort-race")
    world.courier.down = False
    number = shipped["number"]
    async with worker_ctx(redis) as ctx:
        res = ctx["resources"]
        old = (RECEIVER["state"], RECEIVER["city"], "", RECEIVER["address"])
        async with res.transaction() as uow:
            [(asked, where)] = await routing.to_route(uow, shop.id, [shipped["id"]])
        assert (asked, where) == (number, old)
        stale = routing.Routed(values={number: ("999-99 99", "别处包")})
        async with res.transaction() as uow:
            assert await routing.store(uow, shop.id, {number: ("浙江省", "温州市", "", "x")}, stale) == 0
    assert _routing(await _shipment(world, shop, shipped["id"])) == [(None, None)]
    await world.run_jobs()  # the shipment's own job, and the one the dropped answer queued
    assert _routing(await _shipment(world, shop, shipped["id"])) == [_expected(RECEIVER)]


async def test_a_batch_routes_each_chunk_in_one_call(world: World, shop: BoundShop) -> None:
    trades = [world.market.new_trade(shop.nick) for _ in range(6)]
    answers = await asyncio.gather(
        *(world.shipping.post("/webhooks/marketplace", data=world.market.message(t)) for t in trades)
    )
    assert all(a.status_code == 200 for a in answers)
    orders = (await world.shipping.get("/v1/orders", params={"limit": 100}, headers=shop.headers)).json()["data"]
    order_ids = [o["id"] for o in orders if o["external_id"] in {t.tid for t in trades}]
    world.allocation_calls.clear()
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": order_ids, "carrier": "ZTO"}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    await world.run_jobs()
    assert world.allocation_calls.count("POST /v1/waybills/routes") == 1
    page = (await world.shipping.get("/v1/shipments", params={"limit": 100}, headers=shop.headers)).json()["data"]
    batch = [s for s in page if s["batch_id"] == resp.json()["id"]]
    assert len(batch) == 6
    for shipment in batch:
        [(sort_code, centre)] = _routing(shipment)
        assert sort_code is not None, shipment
        assert sort_code == world.courier.sort_code(shipment["number"])
        assert centre is not None


async def test_a_refused_numbers_replacement_and_a_sort_code_write_never_deadlock(
    world: World, shop: BoundShop, redis: Any
) -> None:
    """The sort-code writer locks the order, then its parcels; the confirmation replacing a refused number
    must take the order before the parcels too. Here the writer holds the order while the replacement starts,
    then asks for the parcels: in the other lock order the two waited on each other until PostgreSQL killed
    one (a deadlock CI saw as a flaky test)."""
    from services.shipping.repository.orders import OrderRepository
    from services.shipping.service import routing, shipment_outcomes

    shipped = await _ship(world, shop, "erp-sort-lock")
    number, fresh = shipped["number"], zto_numbers(13)[12]
    where = (RECEIVER["state"], RECEIVER["city"], "", RECEIVER["address"])
    async with worker_ctx(redis) as ctx:
        res = ctx["resources"]

        async def replace() -> None:
            async with res.transaction() as uow:
                await shipment_outcomes.replace_number(uow, shipped["id"], number, fresh, "quarantined (B60)")

        async with res.transaction() as uow:
            await OrderRepository(uow.session).lock_many([shipped["order_id"]])
            replacing = asyncio.create_task(replace())
            await asyncio.sleep(0.5)  # the replacement is waiting on a lock by now
            assert not replacing.done()
            answer = routing.Routed(values={number: ("300-01 02", "杭州包")})
            assert await asyncio.wait_for(routing.store(uow, shop.id, {number: where}, answer), 5) == 1
        await asyncio.wait_for(replacing, 5)
    after = await _shipment(world, shop, shipped["id"])
    assert after["number"] == fresh
    assert [(p["number"], p["sort_code"]) for p in after["parcels"]] == [(fresh, "300-01 02")]
