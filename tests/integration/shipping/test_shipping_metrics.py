"""Shipping's Prometheus counters move with what happens: shipments, marketplace answers, batch orders, labels."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.support import Env

SAMPLES = {
    "created": ("waybill_shipments_total", {"carrier": "ZTO", "outcome": "created"}),
    "confirmed": ("waybill_shipments_total", {"carrier": "ZTO", "outcome": "confirmed"}),
    "shipment_failed": ("waybill_shipments_total", {"carrier": "ZTO", "outcome": "failed"}),
    "success": ("waybill_marketplace_confirmations_total", {"channel": "taobao", "outcome": "success"}),
    "retry": ("waybill_marketplace_confirmations_total", {"channel": "taobao", "outcome": "retry"}),
    "quarantine": ("waybill_marketplace_confirmations_total", {"channel": "taobao", "outcome": "quarantine"}),
    "expired": ("waybill_marketplace_confirmations_total", {"channel": "taobao", "outcome": "expired"}),
    "failed": ("waybill_marketplace_confirmations_total", {"channel": "taobao", "outcome": "failed"}),
    "sends": ("waybill_marketplace_confirmation_seconds_count", {"channel": "taobao"}),
    "batch_shipped": ("waybill_batch_orders_total", {"result": "shipped"}),
    "batch_failed": ("waybill_batch_orders_total", {"result": "failed"}),
    "batch_skipped": ("waybill_batch_orders_total", {"result": "skipped"}),
    "chunks": ("waybill_batch_chunk_seconds_count", {}),
    "single_labels": ("waybill_label_renders_total", {"kind": "single", "format": "pdf"}),
    "batch_labels": ("waybill_label_renders_total", {"kind": "batch", "format": "pdf"}),
    "single_zpl": ("waybill_label_renders_total", {"kind": "single", "format": "zpl"}),
}


def _snapshot() -> dict[str, float]:
    return {k: REGISTRY.get_sample_value(name, labels) or 0.0 for k, (name, labels) in SAMPLES.items()}


def _delta(before: dict[str, float]) -> Callable[[], dict[str, float]]:
    def moved() -> dict[str, float]:
        now = _snapshot()
        return {k: now[k] - before[k] for k in now if now[k] != before[k]}

    return moved


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(40)})


async def _orders(world: World, shop: BoundShop, count: int) -> list[tuple[str, str]]:
    trades = [world.market.new_trade(shop.nick) for _ in range(count)]
    await asyncio.gather(*(world.shipping.post("/webhooks/marketplace", data=world.market.message(t)) for t in trades))
    orders = (await world.shipping.get("/v1/orders", params={"limit": 10_000}, headers=shop.headers)).json()["data"]
    by_tid = {o["external_id"]: o["id"] for o in orders}
    return [(t.tid, by_tid[t.tid]) for t in trades]


async def test_batch_moves_shipment_confirmation_and_batch_counters(world: World, shop: BoundShop) -> None:
    orders = await _orders(world, shop, 8)
    # The batch sends each order once and hands anything but success to the confirmation job, which sends
    # again: these answers are given to those two sends.
    scripts: list[list[Any]] = [["S01"], ["B60", "B60"], ["F01", "F01"], ["B01", "B01"], [httpx.ConnectError("x")]]
    for (tid, _), script in zip(orders, scripts, strict=False):
        world.market.script[tid] = script
    moved = _delta(_snapshot())
    order_ids = [oid for _, oid in orders]
    for listed in (order_ids, order_ids[-1:]):  # the second batch finds its order shipped already
        resp = await world.shipping.post(
            "/v1/shipment-batches", json={"order_ids": listed, "carrier": "ZTO"}, headers=shop.headers
        )
        assert resp.status_code == 202
        await world.run_jobs()
    sends = len(world.market.sends())
    assert moved() == {
        "created": 8,
        "confirmed": 7,
        "shipment_failed": 1,  # B01
        "success": 7,
        "retry": 2,  # S01 and the network error, each asked again
        "quarantine": 2,
        "expired": 2,
        "failed": 2,
        "sends": sends,
        "batch_shipped": 7,
        "batch_failed": 1,
        "batch_skipped": 1,
        "chunks": 2,
    }


async def test_label_renders_are_counted(world: World, shop: BoundShop) -> None:
    orders = await _orders(world, shop, 3)
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": [oid for _, oid in orders], "carrier": "ZTO"}, headers=shop.headers
    )
    await world.run_jobs()
    moved = _delta(_snapshot())
    view = (await world.shipping.get(f"/v1/shipment-batches/{resp.json()['id']}", headers=shop.headers)).json()
    pdf = await world.shipping.get(f"/v1/shipment-batches/{view['id']}/labels.pdf", headers=shop.headers)
    assert pdf.status_code == 200
    one = await world.shipping.get(f"/v1/shipments/{view['items'][0]['shipment_id']}/label.pdf", headers=shop.headers)
    assert one.status_code == 200
    zpl = await world.shipping.get(f"/v1/shipments/{view['items'][0]['shipment_id']}/label.zpl", headers=shop.headers)
    assert zpl.status_code == 200
    assert moved() == {"batch_labels": 3, "single_labels": 1, "single_zpl": 1}
