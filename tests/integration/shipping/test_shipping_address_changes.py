"""An address change after printing (改址): before collection the numbers stay, each parcel's courier waybill is
told the new receiver (allocation's TMS_WAYBILL_UPDATE), the labels are outdated and print the new address;
after collection the change is refused (409 already_collected) and an alert opens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.fake_courier import FakeCourier
from tests.integration.shipping.test_shipping_at_collection import _collected as collected
from tests.integration.shipping.test_shipping_channels import RECEIVER, _own_order
from tests.support import Env

NEW = {"name": "李雷", "phone": "13912345678", "state": "浙江省", "city": "杭州市", "district": "西湖区",
       "address": "文三路 90 号"}  # fmt: skip


@pytest.fixture
async def courier(world: World) -> FakeCourier:
    return world.courier


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(8)})


async def _put_receiver(world: World, shop: BoundShop, order_id: str, receiver: dict[str, str]) -> httpx.Response:
    return await world.shipping.put(f"/v1/orders/{order_id}/receiver", json=receiver, headers=shop.headers)


async def _order(world: World, shop: BoundShop, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.shipping.get(f"/v1/orders/{order_id}", headers=shop.headers)).json()
    return found


async def test_a_printed_and_confirmed_order_changes_address_keeping_its_numbers(
    world: World, shop: BoundShop, courier: FakeCourier
) -> None:
    order = await _own_order(world, shop, "erp-move-1")
    shipped = (
        await world.shipping.post(
            f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO", "parcel_count": 2}, headers=shop.headers
        )
    ).json()
    numbers = [p["number"] for p in shipped["parcels"]]
    first = await world.shipping.get(f"/v1/shipments/{shipped['id']}/label.pdf", headers=shop.headers)
    await world.run_jobs()
    assert (await _order(world, shop, order["id"]))["status"] == "shipped"
    resp = await _put_receiver(world, shop, order["id"], NEW)
    assert resp.status_code == 200, resp.text
    assert resp.json()["receiver"]["address"] == "文三路 90 号"
    assert resp.json()["flags"][-1]["kind"] == "label_outdated"
    await world.run_jobs()
    # Every parcel's courier waybill told the new receiver; the numbers stay.
    assert sorted(u["waybill_code"] for u in courier.updates) == sorted(numbers)
    assert {u["recipient"]["address"]["detail"] for u in courier.updates} == {"文三路 90 号"}
    assert {u["recipient"]["name"] for u in courier.updates} == {"李雷"}
    after = (await world.shipping.get(f"/v1/shipments/{shipped['id']}", headers=shop.headers)).json()
    assert [p["number"] for p in after["parcels"]] == numbers
    # The new label carries the new address (and counts as a reprint).
    second = await world.shipping.get(f"/v1/shipments/{shipped['id']}/label.pdf", headers=shop.headers)
    assert second.content != first.content
    assert second.headers["X-Label-Prints"] == "2"


async def test_after_collection_the_change_is_refused_and_an_alert_opens(
    world: World, shop: BoundShop, courier: FakeCourier
) -> None:
    order = await _own_order(world, shop, "erp-move-2")
    shipped = (
        await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    ).json()
    await world.run_jobs()
    await collected(world, shop, order["id"], shipped["number"])
    resp = await _put_receiver(world, shop, order["id"], NEW)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "already_collected"
    found = await _order(world, shop, order["id"])
    assert found["receiver"]["address"] == RECEIVER["address"]
    assert found["flags"][-1]["kind"] == "address_change_refused"
    alerts = (
        await world.shipping.get("/v1/order-alerts", params={"order_id": order["id"]}, headers=shop.headers)
    ).json()["data"]
    assert [(a["kind"], a["state"]) for a in alerts] == [("address_change_after_collection", "open")]
    assert courier.updates == []


async def test_a_courier_that_collected_meanwhile_refuses_and_the_seller_is_told(
    world: World, shop: BoundShop, courier: FakeCourier
) -> None:
    order = await _own_order(world, shop, "erp-move-3")
    shipped = (
        await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    ).json()
    await world.run_jobs()
    courier.collected.add(shipped["number"])  # picked up before tracking has said so
    assert (await _put_receiver(world, shop, order["id"], NEW)).status_code == 200
    await world.run_jobs()
    alerts = (
        await world.shipping.get("/v1/order-alerts", params={"order_id": order["id"]}, headers=shop.headers)
    ).json()["data"]
    assert [a["kind"] for a in alerts] == ["address_change_after_collection"]
