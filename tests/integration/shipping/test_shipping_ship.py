"""Shipping one order: number, label, marketplace confirmation and every answer the marketplace can give."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.integration.shipping.fakes import FakeTrade
from tests.support import Env


async def _paid_order(world: World, shop: BoundShop, **trade: Any) -> tuple[FakeTrade, dict[str, Any]]:
    t = world.market.new_trade(shop.nick, **trade)
    resp = await world.shipping.post("/webhooks/marketplace", data=world.market.message(t))
    assert resp.json()["status"] == "order_created", resp.text
    found = await world.shipping.get("/v1/orders", params={"external_id": t.tid}, headers=shop.headers)
    (order,) = found.json()["data"]
    return t, order


async def _ship(world: World, shop: BoundShop, order_id: str, **body: Any) -> httpx.Response:
    return await world.shipping.post(f"/v1/orders/{order_id}/ship", json=body, headers=shop.headers)


async def _shipment(world: World, shop: BoundShop, shipment_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.shipping.get(f"/v1/shipments/{shipment_id}", headers=shop.headers)).json()
    return found


async def _order(world: World, shop: BoundShop, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.shipping.get(f"/v1/orders/{order_id}", headers=shop.headers)).json()
    return found


async def _waybill(world: World, shop: BoundShop, number: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.allocation.get(f"/v1/waybills/{number}", headers=shop.headers)).json()
    return found


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(20)})


async def test_ship_from_pool_confirms_and_hands_over_to_tracking(world: World, shop: BoundShop) -> None:
    trade, order = await _paid_order(world, shop)
    resp = await _ship(world, shop, order["id"], carrier="ZTO")
    assert resp.status_code == 202, resp.text
    shipment = resp.json()
    assert shipment["status"] == "pending"
    assert shipment["number_source"] == "pool"
    number = shipment["number"]
    assert (await _order(world, shop, order["id"]))["status"] == "label_printed"
    # Allocated to the order; shipping knows whether its label was fetched (printed) and acts on it if the
    # confirmation is refused (see test_shipping_refusals.py).
    assert (await _waybill(world, shop, number))["status"] == "allocated"

    await world.run_jobs()
    assert (await _shipment(world, shop, shipment["id"]))["status"] == "confirmed"
    done = await _order(world, shop, order["id"])
    assert done["status"] == "shipped"
    assert done["number"] == number
    assert (await _waybill(world, shop, number))["status"] == "shipped"
    (send,) = world.market.sends(trade.tid)
    assert (send["out_sid"], send["company_code"]) == (number, "ZTO")
    assert trade.status == "WAIT_BUYER_CONFIRM_GOODS"
    (sub,) = world.tracking.subscriptions()
    assert sub["order_id"] == order["id"]
    assert (sub["carrier"], sub["number"], sub["destination_province"]) == ("ZTO", number, "广东省")
    assert world.tracking.requests[0].headers["X-Shop-Id"] == shop.id
    events = (await world.shipping.get(f"/v1/orders/{order['id']}/events", headers=shop.headers)).json()["data"]
    assert [e["to_status"] for e in events] == ["paid", "waybill_assigned", "label_printed", "shipped"]


async def test_recommended_carrier_when_none_is_given(world: World, shop: BoundShop) -> None:
    _, order = await _paid_order(world, shop)
    ranked = await world.shipping.get(f"/v1/orders/{order['id']}/carrier-options", headers=shop.headers)
    options = ranked.json()["data"]
    assert options[0]["carrier"] == "ZTO"  # the only carrier with stock
    assert options[0]["recommended"]
    assert options[0]["usable"]
    assert "only 20 numbers left" in options[0]["reasons"]
    assert all(not o["usable"] for o in options[1:])
    assert any("no numbers in stock" in r for r in options[1]["reasons"])
    resp = await _ship(world, shop, order["id"])
    assert resp.status_code == 202
    assert resp.json()["carrier"] == "ZTO"


async def test_two_concurrent_ship_requests_ship_once(world: World, shop: BoundShop) -> None:
    trade, order = await _paid_order(world, shop)
    answers = await asyncio.gather(*(_ship(world, shop, order["id"], carrier="ZTO") for _ in range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 409, 409, 409]
    refused = next(a for a in answers if a.status_code == 409).json()["error"]
    assert refused["code"] == "invalid_transition"
    await world.run_jobs()
    assert len(world.market.sends(trade.tid)) == 1
    shipments = (
        await world.shipping.get("/v1/shipments", params={"order_id": order["id"]}, headers=shop.headers)
    ).json()["data"]
    assert len(shipments) == 1


async def test_typed_number_with_bad_check_digit_or_used_elsewhere_is_refused(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    _, order = await _paid_order(world, shop)
    bad = await _ship(world, shop, order["id"], carrier="EMS", number="EA123456784CN")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_waybill"
    assert "check digit" in bad.json()["error"]["message"]
    # A number another shop already used.
    other = await bind_shop(world, shipping_env)
    _, theirs = await _paid_order(world, other)
    first = await _ship(world, other, theirs["id"], carrier="EMS", number="EA123456785CN")
    assert first.status_code == 202, first.text
    assert first.json()["number_source"] == "manual"
    used = await _ship(world, shop, order["id"], carrier="EMS", number="ea123456785cn")
    assert used.status_code == 409
    assert used.json()["error"]["code"] == "waybill_in_use"
    assert (await _order(world, shop, order["id"]))["status"] == "paid"


async def test_cancel_before_confirmation_releases_the_number(world: World, shop: BoundShop) -> None:
    trade, order = await _paid_order(world, shop)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    cancelled = await world.shipping.post(f"/v1/shipments/{shipment['id']}/cancel", headers=shop.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (await _order(world, shop, order["id"]))["status"] == "paid"
    await world.run_jobs()
    assert world.market.sends(trade.tid) == []  # the queued confirmation found nothing to do
    # Its label never fetched: back to the pool (test_a_cancel_after_the_label_was_fetched_voids_the_number).
    assert (await _waybill(world, shop, shipment["number"]))["status"] == "available"
    # The order can be shipped again (the number, never printed, may well come back to it).
    again = await _ship(world, shop, order["id"], carrier="ZTO")
    assert again.status_code == 202
    await world.run_jobs()
    assert (await _order(world, shop, order["id"]))["status"] == "shipped"
    # Once confirmed, neither the shipment nor the order can be cancelled.
    late = await world.shipping.post(f"/v1/shipments/{again.json()['id']}/cancel", headers=shop.headers)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "invalid_transition"
    late_order = await world.shipping.post(f"/v1/orders/{order['id']}/cancel", headers=shop.headers)
    assert late_order.status_code == 409


async def test_cancelled_order_cannot_ship(world: World, shop: BoundShop) -> None:
    _, order = await _paid_order(world, shop)
    assert (await world.shipping.post(f"/v1/orders/{order['id']}/cancel", headers=shop.headers)).status_code == 200
    resp = await _ship(world, shop, order["id"], carrier="ZTO")
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "invalid_transition"


# --- the marketplace's answers ----------------------------------------------------------------


async def _confirm_with(
    world: World, shop: BoundShop, script: list[Any]
) -> tuple[FakeTrade, dict[str, Any], dict[str, Any]]:
    trade, order = await _paid_order(world, shop)
    world.market.script[trade.tid] = list(script)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await world.run_jobs()
    return trade, shipment, await _shipment(world, shop, shipment["id"])


async def test_b04_with_our_number_is_success(world: World, shop: BoundShop) -> None:
    trade, order = await _paid_order(world, shop)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    # The marketplace recorded our send but the answer was lost: it now says B04, shipped with our number.
    trade.status, trade.out_sid, trade.company = "WAIT_BUYER_CONFIRM_GOODS", shipment["number"], "ZTO"
    await world.run_jobs()
    assert (await _shipment(world, shop, shipment["id"]))["status"] == "confirmed"
    assert (await _order(world, shop, order["id"]))["status"] == "shipped"


async def test_b04_with_another_number_fails_and_flags(world: World, shop: BoundShop) -> None:
    trade, order = await _paid_order(world, shop)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    trade.status, trade.out_sid, trade.company = "WAIT_BUYER_CONFIRM_GOODS", "799999999999", "ZTO"
    await world.run_jobs()
    failed = await _shipment(world, shop, shipment["id"])
    assert failed["status"] == "failed"
    assert failed["error_code"] == "B04"
    assert "799999999999" in failed["error"]
    after = await _order(world, shop, order["id"])
    assert after["status"] == "paid"
    assert after["flags"][-1]["kind"] == "shipment_failed"
    assert (await _waybill(world, shop, shipment["number"]))["status"] == "available"  # no label was fetched


@pytest.mark.parametrize(
    ("code", "number_state"),
    [("B60", "quarantined"), ("F04", "quarantined"), ("F05", "quarantined"), ("F01", "expired")],
)
async def test_refused_number_is_replaced_and_retried(
    world: World, shop: BoundShop, code: str, number_state: str
) -> None:
    trade, first, done = await _confirm_with(world, shop, [code])
    assert done["status"] == "confirmed"
    assert done["number"] != first["number"]
    assert done["reallocations"] == 1
    assert [h["event"] for h in done["history"]] == ["assigned", f"{number_state} ({code})", "assigned"]
    assert (await _waybill(world, shop, first["number"]))["status"] == number_state
    assert (await _waybill(world, shop, done["number"]))["status"] == "shipped"
    assert [s["out_sid"] for s in world.market.sends(trade.tid)] == [first["number"], done["number"]]
    assert trade.out_sid == done["number"]


@pytest.mark.parametrize("script", [["B150"], ["S01", "B150"], [httpx.ConnectError("reset")]])
async def test_transient_errors_are_retried_with_backoff(world: World, shop: BoundShop, script: list[Any]) -> None:
    trade, first, done = await _confirm_with(world, shop, script)
    assert done["status"] == "confirmed"
    assert done["number"] == first["number"]
    assert done["attempts"] == len(script) + 1
    assert len(world.market.sends(trade.tid)) == len(script) + 1


@pytest.mark.parametrize("code", ["B01", "B56", "B57", "B59"])
async def test_other_errors_fail_with_the_platform_message(world: World, shop: BoundShop, code: str) -> None:
    trade, _first, done = await _confirm_with(world, shop, [code])
    assert done["status"] == "failed"
    assert done["error_code"] == code
    assert done["error"] == f"error {code}"
    assert len(world.market.sends(trade.tid)) == 1  # no retry


async def test_transient_errors_give_up_after_the_last_try(world: World, shop: BoundShop) -> None:
    from services.shipping.settings import get_settings

    tries = get_settings().confirm_max_tries
    trade, _, done = await _confirm_with(world, shop, ["S01"] * (tries + 5))
    assert done["status"] == "failed"
    assert done["error_code"] == "S01"
    assert len(world.market.sends(trade.tid)) == tries


# --- labels -----------------------------------------------------------------------------------


async def test_label_pdf_has_one_page_and_a_barcode_that_decodes_to_the_number(world: World, shop: BoundShop) -> None:
    import pypdf
    import pypdfium2  # type: ignore[import-untyped]
    import zxingcpp

    _, order = await _paid_order(world, shop)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    resp = await world.shipping.get(f"/v1/shipments/{shipment['id']}/label.pdf", headers=shop.headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(resp.content))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 100
    assert round(float(page.mediabox.height) / 72 * 25.4) == 150
    text = page.extract_text()
    for expected in (
        shipment["number"],
        "中通快递",
        "张*",  # a privacy label, as every shop's is unless it turns them off
        "广东省",
        "深圳市",
        order["external_id"],
        "1.25 kg",
        "杭州小铺",
    ):
        assert expected in text, expected
    image = pypdfium2.PdfDocument(resp.content)[0].render(scale=3).to_pil()
    codes = zxingcpp.read_barcodes(image)
    assert [(c.text, c.format.name) for c in codes] == [(shipment["number"], "Code128")]
    again = await world.shipping.get(f"/v1/shipments/{shipment['id']}/label.pdf", headers=shop.headers)
    assert again.headers["X-Label-Prints"] == "2"
    assert (await _shipment(world, shop, shipment["id"]))["label_prints"] == 2


async def test_a_lost_confirmation_job_is_found_and_asked_again(world: World, shop: BoundShop, redis: Any) -> None:
    from sqlalchemy import text

    from runtime.db import make_engine
    from services.shipping.settings import get_settings
    from services.shipping.tasks import resume_batches

    trade, order = await _paid_order(world, shop)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await redis.delete("arq:shipping")  # Redis lost the job...
    engine = make_engine(get_settings().database_url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM shipping.outbox"))  # ...and the outbox row is gone too
            await conn.execute(
                text("UPDATE shipping.shipments SET updated_at = now() - interval '1 hour' WHERE id = :id"),
                {"id": shipment["id"]},
            )
    finally:
        await engine.dispose()
    async with worker_ctx(redis) as ctx:
        assert await resume_batches(ctx) >= 1
    await world.run_jobs()
    assert (await _shipment(world, shop, shipment["id"]))["status"] == "confirmed"
    assert len(world.market.sends(trade.tid)) == 1
