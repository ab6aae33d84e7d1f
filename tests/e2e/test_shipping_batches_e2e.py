"""Batch shipping end to end: 1,000 orders with platform faults, and a worker SIGKILLed mid-batch."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, list_all, wait_for

pytestmark = pytest.mark.e2e


async def _check_shipped_once(
    h: Harness, http: httpx.AsyncClient, shop: Shop, tids: list[str], batch: dict[str, Any]
) -> None:
    """Every trade shipped at the marketplace exactly once, with the number of our one confirmed shipment,
    and every number used once."""
    items = (
        await http.get(
            f"{h.shipping}/v1/shipment-batches/{batch['id']}", params={"limit": 10_000}, headers=shop.headers
        )
    ).json()["items"]
    assert [i["status"] for i in items] == ["shipped"] * len(tids)
    trades = await asyncio.gather(*(h.trade(http, tid) for tid in tids))
    assert all(t["status"] == "WAIT_BUYER_CONFIRM_GOODS" for t in trades)
    market_numbers = [t["shipping"]["out_sid"] for t in trades]
    assert len(set(market_numbers)) == len(tids)
    assert market_numbers == [i["number"] for i in items]
    shipments = await list_all(http, f"{h.shipping}/v1/shipments", shop.headers, limit=1000)
    confirmed: dict[str, int] = {}
    for s in shipments:
        if s["status"] == "confirmed":
            confirmed[s["order_id"]] = confirmed.get(s["order_id"], 0) + 1
    assert set(confirmed.values()) == {1}


async def test_batch_of_1000_with_transient_errors_ships_each_order_once(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop = await h.ready_shop(http, (("ZTO", "ZTO-5000"),))
        tids = await h.paid_trades(http, shop, 1000)
        order_ids = await h.orders_for(http, shop, tids)
        await h.faults(http, error_rate={"taobao.logistics.offline.send": 0.05}, seed=3)
        try:
            resp = await http.post(
                f"{h.shipping}/v1/shipment-batches",
                json={"order_ids": order_ids, "carrier": "ZTO"},
                headers=shop.headers,
            )
            assert resp.status_code == 202, resp.text
            batch = await h.wait_batch(http, shop, resp.json()["id"], within=180)
        finally:
            await h.faults(http, error_rate={})
        assert (batch["done"], batch["failed"], batch["skipped"]) == (1000, 0, 0)
        await _check_shipped_once(h, http, shop, tids, batch)
        listed = await list_all(http, f"{h.shipping}/v1/shipments", shop.headers, limit=1000)
        retried = [s for s in listed if s["attempts"] > 1]
        assert 20 <= len(retried) <= 120  # about 5% met a transient error and were retried
        # Resubmitting the batch ships nothing twice.
        again = await http.post(
            f"{h.shipping}/v1/shipment-batches",
            json={"order_ids": order_ids[:100], "carrier": "ZTO"},
            headers=shop.headers,
        )
        second = await h.wait_batch(http, shop, again.json()["id"])
        assert (second["done"], second["skipped"]) == (0, 100)


async def test_worker_killed_mid_batch_resumes_without_shipping_twice(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop = await h.ready_shop(http)
        tids = await h.paid_trades(http, shop, 800)
        order_ids = await h.orders_for(http, shop, tids)
        # Slow confirmations down so the kill lands in the middle of the work.
        await h.faults(http, latency_ms={"taobao.logistics.offline.send": 40})
        try:
            resp = await http.post(
                f"{h.shipping}/v1/shipment-batches",
                json={"order_ids": order_ids, "carrier": "ZTO"},
                headers=shop.headers,
            )
            batch_id = resp.json()["id"]

            async def some_done() -> bool:
                body = (
                    await http.get(
                        f"{h.shipping}/v1/shipment-batches/{batch_id}", params={"limit": 0}, headers=shop.headers
                    )
                ).json()
                return bool(body["done"] >= 50)

            await wait_for(some_done, 120, "the batch to be under way", every=0.05)
            h.kill("shipping-worker")
            view = (
                await http.get(
                    f"{h.shipping}/v1/shipment-batches/{batch_id}", params={"limit": 0}, headers=shop.headers
                )
            ).json()
            assert view["pending"] > 0, "the kill came too late to test anything"
            await asyncio.sleep(1)
            h.start(["shipping-worker"])
            batch = await h.wait_batch(http, shop, batch_id, within=180)
        finally:
            await h.faults(http, latency_ms={})
        assert (batch["done"], batch["failed"], batch["skipped"]) == (800, 0, 0), batch
        await _check_shipped_once(h, http, shop, tids, batch)
