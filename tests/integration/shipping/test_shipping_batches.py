"""Batch shipping: chunks claimed in the database, per-order results, never an order shipped twice."""

from __future__ import annotations

import asyncio
import io
import random
from collections import Counter
from typing import Any

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.support import Env


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(400)})


async def _orders(world: World, shop: BoundShop, count: int) -> list[str]:
    trades = [world.market.new_trade(shop.nick) for _ in range(count)]
    answers = await asyncio.gather(
        *(world.shipping.post("/webhooks/marketplace", data=world.market.message(t)) for t in trades)
    )
    assert all(a.status_code == 200 for a in answers)
    orders = (await world.shipping.get("/v1/orders", params={"limit": 10_000}, headers=shop.headers)).json()["data"]
    by_tid = {o["external_id"]: o["id"] for o in orders}
    return [by_tid[t.tid] for t in trades]


async def _batch(world: World, shop: BoundShop, order_ids: list[str], **body: Any) -> dict[str, Any]:
    resp = await world.shipping.post(
        "/v1/shipment-batches", json={"order_ids": order_ids, **body}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _view(world: World, shop: BoundShop, batch_id: str) -> dict[str, Any]:
    resp = await world.shipping.get(f"/v1/shipment-batches/{batch_id}", params={"limit": 10_000}, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def test_batch_ships_every_order_once_despite_transient_errors(world: World, shop: BoundShop) -> None:
    order_ids = await _orders(world, shop, 150)
    rng = random.Random(5)
    for tid in rng.sample(sorted(world.market.trades), 15):
        world.market.script[tid] = [rng.choice(["S01", "B150"])]
    batch = await _batch(world, shop, [*order_ids, "ord_does_not_exist"], carrier="ZTO")
    assert batch["total"] == 151
    assert batch["status"] == "processing"
    await world.run_jobs()
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["failed"], view["skipped"], view["pending"]) == (150, 1, 0, 0)
    assert view["status"] == "completed"
    assert view["completed_at"] is not None
    assert next(i for i in view["items"] if i["order_id"] == "ord_does_not_exist")["message"] == "order not found"
    sends = world.market.sends()
    # 15 orders needed a second call, none a third.
    assert sorted(Counter(Counter(s["tid"] for s in sends).values()).items()) == [(1, 135), (2, 15)]
    # Every order shipped exactly once, each number used once.
    confirmed = [t for t in world.market.trades.values() if t.out_sid]
    assert len(confirmed) == 150
    assert len({t.out_sid for t in confirmed}) == 150
    assert {i["number"] for i in view["items"] if i["status"] == "shipped"} == {t.out_sid for t in confirmed}

    # Resubmitting the same batch ships nothing again.
    again = await _batch(world, shop, order_ids, carrier="ZTO")
    await world.run_jobs()
    view2 = await _view(world, shop, again["id"])
    assert (view2["done"], view2["skipped"]) == (0, 150)
    assert view2["items"][0]["message"].startswith("order is shipped")
    assert len(world.market.sends()) == len(sends)


async def test_a_redone_chunk_settles_its_earlier_confirmations_inline(world: World, shop: BoundShop) -> None:
    """A chunk redone after a crash meets the confirmations its first run sent as B04 with our number: the batch
    settles them itself (one trade lookup each) instead of handing each to a confirmation job that sends again."""
    order_ids = await _orders(world, shop, 40)
    earlier = sorted(world.market.trades)[:10]
    for tid in earlier:
        world.market.script[tid] = ["sent-earlier"]
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    await world.run_jobs()
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["failed"], view["pending"]) == (40, 0, 0)
    for tid in earlier:
        assert len(world.market.sends(tid)) == 1, tid
    lookups = Counter(c["tid"] for c in world.market.calls if c.get("method") == "taobao.trade.fullinfo.get")
    assert {tid for tid in earlier if lookups[tid]} == set(earlier)
    numbers = {i["order_id"]: i["number"] for i in view["items"]}
    assert len(set(numbers.values())) == 40
    assert all(world.market.trades[t].out_sid for t in earlier)


async def test_overlapping_batches_ship_each_order_once(world: World, shop: BoundShop) -> None:
    order_ids = await _orders(world, shop, 120)
    first = await _batch(world, shop, order_ids[:80])
    second = await _batch(world, shop, order_ids[40:])  # carrier recommended per order
    await world.run_jobs()
    a, b = await _view(world, shop, first["id"]), await _view(world, shop, second["id"])
    assert a["done"] + b["done"] == 120
    assert a["skipped"] + b["skipped"] == 40
    assert a["failed"] == b["failed"] == 0
    sent = Counter(s["tid"] for s in world.market.sends())
    assert len(sent) == 120
    assert set(sent.values()) == {1}


async def test_batch_labels_pdf_has_a_page_per_shipment(world: World, shop: BoundShop) -> None:
    import pypdf
    import pypdfium2  # type: ignore[import-untyped]
    import zxingcpp

    order_ids = await _orders(world, shop, 30)
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    await world.run_jobs()
    view = await _view(world, shop, batch["id"])
    resp = await world.shipping.get(f"/v1/shipment-batches/{batch['id']}/labels.pdf", headers=shop.headers)
    assert resp.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(resp.content))
    assert len(reader.pages) == 30
    numbers = [i["number"] for i in view["items"]]
    assert numbers[0] in reader.pages[0].extract_text()
    assert numbers[29] in reader.pages[29].extract_text()
    doc = pypdfium2.PdfDocument(resp.content)
    for page_no in (0, 17, 29):
        (code,) = zxingcpp.read_barcodes(doc[page_no].render(scale=3).to_pil())
        assert code.text == numbers[page_no]
    assert (await _view(world, shop, batch["id"]))["label_prints"] == 1


async def test_pool_running_out_mid_batch_fails_only_the_rest(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(25)})
    order_ids = await _orders(world, shop, 40)
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    await world.run_jobs()
    view = await _view(world, shop, batch["id"])
    assert (view["done"], view["failed"]) == (25, 15)
    failed = [i for i in view["items"] if i["status"] == "failed"]
    assert "pool_exhausted" in failed[0]["message"]
    orders = (await world.shipping.get("/v1/orders", params={"status": "paid"}, headers=shop.headers)).json()["data"]
    assert len(orders) == 15  # failed orders are back to paid, ready for another try


async def test_a_transient_allocation_failure_is_asked_again_not_failed(
    world: World, shop: BoundShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk allocation answered 503 once (a dropped connection under load): asked again, every order ships,
    each with one number; the batch does not fail the chunk for it."""
    import httpx

    from runtime.backoff import Backoff
    from services.shipping.service import batch_numbers

    monkeypatch.setattr(batch_numbers, "ALLOCATE_RETRY", Backoff(base_s=0.01, cap_s=0.02))
    order_ids = await _orders(world, shop, 20)
    forward = world.forward_allocation
    refused: list[str] = []

    async def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/allocations/batch" and not refused:
            refused.append(request.url.path)
            return httpx.Response(503, json={"code": "unavailable", "message": "try again"})
        return await forward(request)

    assert world.mock is not None
    world.mock.route(host="allocation.test").mock(side_effect=flaky)
    batch = await _batch(world, shop, order_ids, carrier="ZTO")
    await world.run_jobs()
    view = await _view(world, shop, batch["id"])
    assert refused
    assert (view["done"], view["failed"]) == (20, 0)
    assert len({i["number"] for i in view["items"]}) == 20
