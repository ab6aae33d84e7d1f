"""Split orders (拆单): an order's lines ship in several shipments at different times; the database refuses a line
on two live shipments; the order is partly shipped until its last line is confirmed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.support import Env

RECEIVER = {"name": "张三", "phone": "13800138000", "state": "浙江省", "city": "杭州市", "address": "文一西路 969 号"}
ITEMS = [
    {"title": "保温杯", "num": 1, "price_cents": 5990},
    {"title": "茶叶", "num": 2, "price_cents": 12800},
    {"title": "茶盘", "num": 1, "price_cents": 26800},
]


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(12)})


async def _order(world: World, shop: BoundShop, external_id: str) -> dict[str, Any]:
    body = {"external_id": external_id, "receiver": RECEIVER, "weight_g": 3000, "items": ITEMS}
    resp = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _ship(world: World, shop: BoundShop, order_id: str, **body: Any) -> Any:
    return await world.shipping.post(f"/v1/orders/{order_id}/ship", json=body, headers=shop.headers)


async def _status(world: World, shop: BoundShop, order_id: str) -> str:
    status: str = (await world.shipping.get(f"/v1/orders/{order_id}", headers=shop.headers)).json()["status"]
    return status


async def test_an_order_ships_its_lines_in_two_parts(world: World, shop: BoundShop) -> None:
    order = await _order(world, shop, "erp-split-1")
    first = await _ship(world, shop, order["id"], carrier="ZTO", lines=[1])
    assert first.status_code == 202, first.text
    # Its line is taken while the first part is live: asking for it again is refused.
    again = await _ship(world, shop, order["id"], carrier="ZTO", lines=[1, 2])
    assert again.status_code == 409
    await world.run_jobs()
    assert await _status(world, shop, order["id"]) == "partly_shipped"
    taken = await _ship(world, shop, order["id"], carrier="ZTO", lines=[1])
    assert taken.status_code == 409
    assert taken.json()["error"]["details"]["lines"] == [1]
    unknown = await _ship(world, shop, order["id"], carrier="ZTO", lines=[4])
    assert unknown.status_code == 422
    # The rest, in two boxes: lines 2 and 3 by default.
    rest = await _ship(world, shop, order["id"], carrier="ZTO", parcels=[{"lines": [2]}, {"lines": [3]}])
    assert rest.status_code == 202, rest.text
    assert await _status(world, shop, order["id"]) == "partly_shipped"  # shipping its last part moves nothing
    await world.run_jobs()
    assert await _status(world, shop, order["id"]) == "shipped"
    events = (await world.shipping.get(f"/v1/orders/{order['id']}/events", headers=shop.headers)).json()["data"]
    assert [e["to_status"] for e in events if e["from_status"] != e["to_status"]] == [
        "paid",
        "waybill_assigned",
        "label_printed",
        "partly_shipped",
        "shipped",
    ]
    assert any(e["event"] == "part_shipping" for e in events)
    shipments = (
        await world.shipping.get("/v1/shipments", params={"order_id": order["id"]}, headers=shop.headers)
    ).json()["data"]
    assert sorted(s["parcel_count"] for s in shipments) == [1, 2]
    assert {s["status"] for s in shipments} == {"confirmed"}


async def test_a_cancelled_later_part_gives_its_lines_back(world: World, shop: BoundShop) -> None:
    order = await _order(world, shop, "erp-split-2")
    assert (await _ship(world, shop, order["id"], carrier="ZTO", lines=[1, 2])).status_code == 202
    await world.run_jobs()
    second = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    cancelled = await world.shipping.post(f"/v1/shipments/{second['id']}/cancel", headers=shop.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert await _status(world, shop, order["id"]) == "partly_shipped"
    await world.run_jobs()
    number = second["number"]
    waybill = (await world.allocation.get(f"/v1/waybills/{number}", headers=shop.headers)).json()
    assert waybill["status"] == "available"  # unprinted: back to the pool
    third = await _ship(world, shop, order["id"], carrier="ZTO")
    assert third.status_code == 202, third.text
    await world.run_jobs()
    assert await _status(world, shop, order["id"]) == "shipped"


async def test_concurrent_parts_never_take_one_line_twice(world: World, shop: BoundShop) -> None:
    order = await _order(world, shop, "erp-split-3")
    answers = await asyncio.gather(
        *(_ship(world, shop, order["id"], carrier="ZTO", lines=lines) for lines in ([1, 2], [2, 3], [2]))
    )
    assert sorted(a.status_code for a in answers) == [202, 409, 409]
