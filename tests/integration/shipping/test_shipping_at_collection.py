"""Confirmation at collection (揽收): the label is made and its numbers held; the marketplace is told once the
courier collects a parcel or at the shop's confirmation time, whichever comes first; a parcel not collected by
its order's ship-by time raises an alert and is never confirmed silently."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.integration.shipping.test_shipping_channels import RECEIVER
from tests.integration.shipping.test_shipping_ship import _paid_order
from tests.support import INTERNAL_KEY, Env, bearer


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(12)})
    resp = await world.shipping.put("/v1/settings", json={"confirm_mode": "at_collection"}, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["confirm_mode"], resp.json()["confirm_time"]) == ("at_collection", None)
    return shop


async def _own(world: World, shop: BoundShop, external_id: str, **extra: Any) -> dict[str, Any]:
    body = {"external_id": external_id, "receiver": RECEIVER, "weight_g": 800, **extra}
    resp = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _get(world: World, shop: BoundShop, path: str, **params: Any) -> Any:
    resp = await world.shipping.get(path, params=params or None, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


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


async def _uncollected_alerts(world: World, shop: BoundShop, order_id: str) -> list[dict[str, Any]]:
    params = {"order_id": order_id, "kind": "not_collected_by_ship_by"}
    found: list[dict[str, Any]] = (await _get(world, shop, "/v1/order-alerts", **params))["data"]
    return found


async def _sql(env: Env, query: str, *args: Any) -> None:
    conn = await asyncpg.connect(env.database_url)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def test_a_held_shipment_is_confirmed_when_the_courier_collects_a_parcel(world: World, shop: BoundShop) -> None:
    order = await _own(world, shop, "erp-held-1")
    shipped = await world.shipping.post(
        f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO", "parcel_count": 2}, headers=shop.headers
    )
    assert shipped.status_code == 202, shipped.text
    shipment = shipped.json()
    assert (shipment["status"], shipment["confirm_mode"]) == ("held", "at_collection")
    await world.run_jobs()
    # Not confirmed, but followed: tracking is what reports the collection.
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "held"
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "label_printed"
    followed = {s["number"] for s in world.tracking.subscriptions() if s["order_id"] == order["id"]}
    assert followed == {p["number"] for p in shipment["parcels"]}
    label = await world.shipping.get(f"/v1/shipments/{shipment['id']}/label.pdf", headers=shop.headers)
    assert label.status_code == 200  # printed the night before, handed over in the morning

    await _collected(world, shop, order["id"], shipment["parcels"][1]["number"])
    after = await _get(world, shop, f"/v1/shipments/{shipment['id']}")
    assert after["status"] == "pending"
    assert after["parcels"][1]["collected_at"] is not None
    await world.run_jobs()
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "confirmed"
    assert (await _get(world, shop, f"/v1/orders/{order['id']}"))["status"] == "shipped"
    # A second collection report changes nothing.
    await _collected(world, shop, order["id"], shipment["parcels"][0]["number"])
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "confirmed"


async def test_the_shops_confirmation_time_confirms_what_is_still_held(
    world: World, shop: BoundShop, shipping_env: Env, redis: Any
) -> None:
    resp = await world.shipping.put("/v1/settings", json={"confirm_time": "18:00"}, headers=shop.headers)
    assert resp.json()["confirm_time"] == "18:00"
    bad = await world.shipping.put("/v1/settings", json={"confirm_time": "25:00"}, headers=shop.headers)
    assert bad.status_code == 422
    order = await _own(world, shop, "erp-held-2")
    shipment = (
        await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    ).json()
    assert shipment["status"] == "held"
    # Due at the next 18:00 in the shop's time zone (Beijing): between now and a day from now.
    from services.shipping.tasks import release_held_shipments

    async with worker_ctx(redis) as ctx:
        assert await release_held_shipments(ctx) == 0  # not due yet
    await _sql(
        shipping_env,
        "UPDATE shipping.shipments SET confirm_due_at = now() - interval '1 second' WHERE id = $1",
        shipment["id"],
    )
    async with worker_ctx(redis) as ctx:
        assert await release_held_shipments(ctx) == 1
        assert await release_held_shipments(ctx) == 0  # released once
    await world.run_jobs()
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "confirmed"


async def _due_and_printed(env: Env, shipment_id: str) -> tuple[datetime | None, datetime]:
    conn = await asyncpg.connect(env.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT confirm_due_at, created_at FROM shipping.shipments WHERE id = $1", shipment_id
        )
    finally:
        await conn.close()
    assert row is not None
    return row["confirm_due_at"], row["created_at"]


def _next_at(hhmm: str, zone: str, after: datetime) -> datetime:
    """The first hh:mm in ``zone`` after ``after``, worked out here independently of the service."""
    local = after.astimezone(ZoneInfo(zone))
    at = local.replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]), second=0, microsecond=0)
    return (at if at > local else at + timedelta(days=1)).astimezone(UTC)


async def test_a_new_confirmation_time_holds_for_shipments_held_already(
    world: World, shop: BoundShop, shipping_env: Env, redis: Any
) -> None:
    await world.shipping.put("/v1/settings", json={"confirm_time": "18:00"}, headers=shop.headers)
    order = await _own(world, shop, "erp-held-move")
    shipment = (
        await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    ).json()
    assert shipment["status"] == "held"
    due, printed = await _due_and_printed(shipping_env, shipment["id"])
    assert due == _next_at("18:00", "Asia/Shanghai", printed)

    # The shop hands over earlier from now on: its held shipment goes at the new time, counted from its print.
    earlier = (printed.astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=3)).strftime("%H:%M")
    await world.shipping.put("/v1/settings", json={"confirm_time": earlier}, headers=shop.headers)
    assert (await _due_and_printed(shipping_env, shipment["id"]))[0] == _next_at(earlier, "Asia/Shanghai", printed)
    # Another zone moves it too (the time of day is the shop's).
    await world.shipping.put("/v1/settings", json={"time_zone": "America/New_York"}, headers=shop.headers)
    assert (await _due_and_printed(shipping_env, shipment["id"]))[0] == _next_at(earlier, "America/New_York", printed)
    # No time any more: only the collection releases it.
    await world.shipping.put("/v1/settings", json={"confirm_time": None}, headers=shop.headers)
    assert (await _due_and_printed(shipping_env, shipment["id"]))[0] is None
    from services.shipping.tasks import release_held_shipments

    async with worker_ctx(redis) as ctx:
        assert await release_held_shipments(ctx) == 0
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "held"


async def test_a_parcel_not_collected_by_its_ship_by_time_alerts_and_stays_held(
    world: World, shop: BoundShop, redis: Any
) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    order = await _own(world, shop, "erp-held-3", ship_by=soon)
    shipment = (
        await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    ).json()
    from services.shipping.tasks import release_held_shipments

    async with worker_ctx(redis) as ctx:
        await release_held_shipments(ctx)
    assert await _uncollected_alerts(world, shop, order["id"]) == []
    await asyncio.sleep(2.5)
    async with worker_ctx(redis) as ctx:
        await release_held_shipments(ctx)
        await release_held_shipments(ctx)
    alerts = (await _get(world, shop, "/v1/order-alerts", order_id=order["id"], kind="not_collected_by_ship_by"))[
        "data"
    ]
    assert len(alerts) == 1
    assert "未揽收" in alerts[0]["message"]
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "held"
    # Collected at last: confirmed, and the alert resolves.
    await _collected(world, shop, order["id"], shipment["number"])
    await world.run_jobs()
    assert (await _get(world, shop, f"/v1/shipments/{shipment['id']}"))["status"] == "confirmed"
    alerts = (await _get(world, shop, "/v1/order-alerts", order_id=order["id"], kind="not_collected_by_ship_by"))[
        "data"
    ]
    assert [a["state"] for a in alerts] == ["resolved"]


async def test_a_store_may_confirm_at_collection_in_an_at_print_shop(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(4)})
    stores = (await _get(world, shop, "/v1/stores"))["data"]
    (store,) = stores
    resp = await world.shipping.patch(
        f"/v1/stores/{store['id']}", json={"confirm_mode": "at_collection"}, headers=shop.headers
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["confirm_mode"] == "at_collection"
    trade, order = await _paid_order(world, shop)
    shipment = (
        await world.shipping.post(f"/v1/orders/{order['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    ).json()
    assert shipment["status"] == "held"
    await world.run_jobs()
    assert world.market.sends(trade.tid) == []  # the marketplace is told nothing yet
    await _collected(world, shop, order["id"], shipment["number"])
    await world.run_jobs()
    (send,) = world.market.sends(trade.tid)
    assert send["out_sid"] == shipment["number"]
    # Back to the shop's mode: the next order confirms at print.
    reset = await world.shipping.patch(f"/v1/stores/{store['id']}", json={"confirm_mode": None}, headers=shop.headers)
    assert reset.json()["confirm_mode"] is None
