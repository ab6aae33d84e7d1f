"""Steps the scenarios share, through the public APIs: a shop with paid orders, a batch, its progress."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx

from tests.e2e.harness import Shop, wait_for
from tests.faults.system import FaultSystem


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


async def shop_with_orders(
    s: FaultSystem, http: httpx.AsyncClient, count: int, package: str = "ZTO-5000"
) -> tuple[Shop, list[str], list[str]]:
    """A ready shop (balance, a package of numbers, a bound seller) and ``count`` paid orders."""
    shop = await s.ready_shop(http, (("ZTO", package),))
    tids = await s.paid_trades(http, shop, count)
    order_ids = await s.orders_for(http, shop, tids, within=600)
    return shop, tids, order_ids


async def start_batch(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, order_ids: list[str]) -> str:
    resp = await http.post(
        f"{s.shipping}/v1/shipment-batches", json={"order_ids": order_ids, "carrier": "ZTO"}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    batch_id: str = resp.json()["id"]
    return batch_id


async def batch_view(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, batch_id: str) -> dict[str, Any]:
    resp = await http.get(f"{s.shipping}/v1/shipment-batches/{batch_id}", params={"limit": 0}, headers=shop.headers)
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


async def wait_done(
    s: FaultSystem, http: httpx.AsyncClient, shop: Shop, batch_id: str, at_least: int, within: float = 600
) -> dict[str, Any]:
    async def enough() -> dict[str, Any] | None:
        s.assert_alive()
        view = await batch_view(s, http, shop, batch_id)
        return view if view["done"] >= at_least else None

    found: dict[str, Any] = await wait_for(enough, within, f"{at_least} orders of batch {batch_id} shipped", every=0.1)
    return found


async def wait_progress(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, batch_id: str, within: float) -> float:
    """Seconds until the batch ships one more order than now (the system is working again)."""
    t0 = time.monotonic()
    before = (await batch_view(s, http, shop, batch_id))["done"]
    view = await wait_done(s, http, shop, batch_id, before + 1, within)
    assert view["done"] > before
    return round(time.monotonic() - t0, 1)


async def bind_pinduoduo(s: FaultSystem, http: httpx.AsyncClient, shop: Shop) -> tuple[dict[str, Any], str]:
    """A new mall of the sandbox's Pinduoduo bound to the shop as a store (the binding asks the platform,
    pdd.mall.info.get: a 503 while its faults are on is asked again); the mall and the store's id."""
    mall = await s.pdd_mall(http)
    for _ in range(20):
        resp = await s.bind_store(http, shop, "pinduoduo", mall["access_token"])
        if resp.status_code != 503:
            break
        await asyncio.sleep(float(resp.headers.get("retry-after", "1")))
    assert resp.status_code == 201, resp.text
    store_id: str = resp.json()["id"]
    return mall, store_id


async def pdd_orders_for(
    s: FaultSystem, http: httpx.AsyncClient, shop: Shop, order_sns: list[str], within: float = 600
) -> list[str]:
    """Our order ids for these Pinduoduo orders, once their messages have all been acknowledged (each one only
    once it was stored: a refused delivery is made again)."""
    wanted = set(order_sns)

    async def all_there() -> dict[str, str] | None:
        s.assert_alive()
        if (await s.pdd_message_stats(http))["pending"]:
            return None
        found = {o["external_id"]: o["id"] for o in await s.orders_where(http, shop, channel="pinduoduo")}
        return found if wanted <= set(found) else None

    by_sn: dict[str, str] = await wait_for(all_there, within, f"{len(order_sns)} Pinduoduo orders", every=1.0)
    return [by_sn[sn] for sn in order_sns]


async def assert_batch_shipped_once(
    s: FaultSystem,
    http: httpx.AsyncClient,
    shop: Shop,
    tids: list[str],
    batch: dict[str, Any],
    order_sns: list[str] | None = None,
) -> None:
    """Every order of the batch shipped, each at its marketplace once with the number our item shows, and no
    number twice. The batch's orders are the Taobao trades ``tids`` then the Pinduoduo orders ``order_sns``."""
    sns = order_sns or []
    total = len(tids) + len(sns)
    assert (batch["status"], batch["done"], batch["failed"], batch["skipped"]) == ("completed", total, 0, 0)
    items = (
        await http.get(
            f"{s.shipping}/v1/shipment-batches/{batch['id']}", params={"limit": 10_000}, headers=shop.headers
        )
    ).json()["items"]
    assert [i["status"] for i in items] == ["shipped"] * total
    gate = asyncio.Semaphore(32)

    async def trade(tid: str) -> dict[str, Any]:
        async with gate:
            return await s.trade(http, tid)

    async def pdd_order(sn: str) -> dict[str, Any]:
        async with gate:
            return await s.pdd_order(http, sn)

    trades = await asyncio.gather(*(trade(t) for t in tids))
    assert all(t["status"] == "WAIT_BUYER_CONFIRM_GOODS" for t in trades)
    orders = await asyncio.gather(*(pdd_order(sn) for sn in sns))
    assert all(o["order_status"] == 2 for o in orders)  # 已发货待签收
    market = [t["shipping"]["out_sid"] for t in trades] + [o["tracking_number"] for o in orders]
    assert len(set(market)) == total
    assert market == [i["number"] for i in items]
