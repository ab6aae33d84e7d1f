"""A batch talks to allocation and the database per chunk, not per order, and its follow-ups (numbers marked
shipped, tracking handoff) still reach every shipment."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.support import Env


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(200)})


async def _orders(world: World, shop: BoundShop, count: int) -> list[str]:
    trades = [world.market.new_trade(shop.nick) for _ in range(count)]
    answers = await asyncio.gather(
        *(world.shipping.post("/webhooks/marketplace", data=world.market.message(t)) for t in trades)
    )
    assert all(a.status_code == 200 for a in answers)
    orders = (await world.shipping.get("/v1/orders", params={"limit": 10_000}, headers=shop.headers)).json()["data"]
    by_tid = {o["external_id"]: o["id"] for o in orders}
    return [by_tid[t.tid] for t in trades]


async def test_batch_calls_allocation_per_chunk_and_follow_ups_reach_every_shipment(
    world: World, shop: BoundShop
) -> None:
    order_ids = await _orders(world, shop, 120)  # three chunks of 50 (SHIPPING_BATCH_CHUNK_SIZE in conftest)
    world.allocation_calls.clear()
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": order_ids, "carrier": "ZTO"}, headers=shop.headers
    )
    assert resp.status_code == 202
    await world.run_jobs()
    view = (
        await world.shipping.get(
            f"/v1/shipment-batches/{resp.json()['id']}", params={"limit": 1000}, headers=shop.headers
        )
    ).json()
    assert view["done"] == 120
    numbers = {i["number"] for i in view["items"]}
    assert len(numbers) == 120

    calls = Counter(c.rsplit("/", 1)[-1] if "/waybills/" in c else c for c in world.allocation_calls)
    # One allocation, one routing (the labels' sort codes) and one mark call per chunk; never a call per number.
    assert calls == {"POST /v1/allocations/batch": 3, "routes": 3, "batch-mark": 3}
    assert sorted(len(m["waybills"]) for m in world.courier.routed) == [20, 50, 50]
    pool = (await world.allocation.get("/v1/pools", headers=shop.headers)).json()["data"][0]
    assert pool["counts"]["shipped"] == 120

    subscribed = world.tracking.subscriptions()
    assert sorted(b["number"] for b in subscribed) == sorted(numbers)
    # One bulk handoff per chunk (each chunk's confirmations finish together), none per shipment.
    assert [r.url.path for r in world.tracking.requests] == ["/internal/v1/subscriptions/batch"] * 3
    assert {b["carrier"] for b in subscribed} == {"ZTO"}
    assert all(b["destination_province"] == "广东省" for b in subscribed)


async def test_tracking_trouble_retries_the_bulk_handoff_until_it_gets_through(world: World, shop: BoundShop) -> None:
    order_ids = await _orders(world, shop, 10)
    world.tracking.statuses = [503, 503]  # tracking refuses the handoff twice, then takes it
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": order_ids, "carrier": "ZTO"}, headers=shop.headers
    )
    assert resp.status_code == 202
    await world.run_jobs()
    assert len(world.tracking.requests) == 3  # the same bulk call, asked again by the job's retries
    handed = world.tracking.subscriptions()
    assert len(handed) == 30
    assert Counter(Counter(b["number"] for b in handed).values()) == {3: 10}  # ten shipments, each sent thrice


async def test_a_single_handoff_job_queued_by_an_earlier_release_goes_the_bulk_way(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    from arq.connections import RedisSettings, create_pool

    from runtime.jobs import job_deserializer, job_serializer, queue_name

    order_ids = await _orders(world, shop, 2)
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": order_ids, "carrier": "ZTO"}, headers=shop.headers
    )
    await world.run_jobs()
    view = (await world.shipping.get(f"/v1/shipment-batches/{resp.json()['id']}", headers=shop.headers)).json()
    first = view["items"][0]
    world.tracking.requests.clear()
    pool = await create_pool(
        RedisSettings.from_dsn(shipping_env.redis_url),
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        default_queue_name=queue_name("shipping"),
    )
    await pool.enqueue_job("subscribe_tracking", shipment_id=first["shipment_id"])
    await pool.aclose()
    await world.run_jobs()
    assert [r.url.path for r in world.tracking.requests] == ["/internal/v1/subscriptions/batch"]
    assert [s["number"] for s in world.tracking.subscriptions()] == [first["number"]]
