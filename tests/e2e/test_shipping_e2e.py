"""Shipping end to end: the sandbox marketplace pushes orders, real services and workers ship them."""

from __future__ import annotations

import io

import pytest

from tests.e2e.harness import Harness

pytestmark = pytest.mark.e2e


async def test_paid_trade_is_pushed_shipped_confirmed_and_labelled(harness: Harness) -> None:
    import pypdfium2  # type: ignore[import-untyped]
    import zxingcpp

    h = harness
    async with h.client() as http:
        shop = await h.ready_shop(http)
        (tid,) = await h.paid_trades(http, shop, 1)
        (order_id,) = await h.orders_for(http, shop, [tid])
        order = await h.order(http, shop, order_id)
        assert order["status"] == "paid"
        assert order["receiver"]["address"]  # fetched with fullinfo: the message had no address
        listed = await http.get(f"{h.shipping}/v1/orders/{order_id}/carrier-options", headers=shop.headers)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert page["has_more"] is False  # a whole list: every option on one page
        options = page["data"]
        assert options[0]["carrier"] == "ZTO"
        assert options[0]["recommended"]
        shipment = await h.ship(http, shop, order_id, carrier=None)  # no carrier named: shipping picks one
        done = await h.settled(http, shop, shipment["id"], within=60)
        assert done["status"] == "confirmed", done
        trade = await h.trade(http, tid)
        assert trade["status"] == "WAIT_BUYER_CONFIRM_GOODS"
        assert trade["shipping"]["out_sid"] == shipment["number"]
        assert trade["shipping"]["company_code"] == "ZTO"
        label = await http.get(f"{h.shipping}/v1/shipments/{shipment['id']}/label.pdf", headers=shop.headers)
        image = pypdfium2.PdfDocument(io.BytesIO(label.content))[0].render(scale=3).to_pil()
        assert [c.text for c in zxingcpp.read_barcodes(image)] == [shipment["number"]]
        final = await h.order(http, shop, order_id)
        assert final["status"] == "shipped"


async def test_every_offline_send_answer_against_the_sandbox(harness: Harness) -> None:
    """The worker is stopped while each case is arranged at the marketplace, then started again."""
    h = harness
    async with h.client() as http:
        shop = await h.ready_shop(http)
        other = await h.bind_seller(http, await h.create_shop(http))
        tids = await h.paid_trades(http, shop, 7)
        decoy = await h.paid_trades(http, shop, 2)  # trades another client of the seller ships with our numbers
        (foreign,) = await h.paid_trades(http, other, 1)
        ids = await h.orders_for(http, shop, tids)
        await h.orders_for(http, other, [foreign])
        cases = dict(
            zip(["same", "other", "b60", "f04", "f05", "f01", "own"], zip(tids, ids, strict=True), strict=False)
        )
        rest = await http.post(
            f"{h.shipping}/v1/orders",
            json={
                "external_id": "1234567",
                "receiver": {
                    "name": "王五",
                    "phone": "13700000000",
                    "state": "江苏省",
                    "city": "南京市",
                    "address": "1 号",
                },
                "weight_g": 500,
            },
            headers=shop.headers,
        )
        # The shop's own order (created over REST): never sent to Taobao, whatever its id looks like (B01 at
        # Taobao, before channels; B01 itself is tested in-process, tests/integration/shipping/test_shipping_ship.py).
        cases["own"] = ("1234567", rest.json()["id"])

        h.kill("shipping-worker")
        shipped = {name: await h.ship(http, shop, oid, carrier="ZTO") for name, (_, oid) in cases.items()}
        number = {name: s["number"] for name, s in shipped.items()}
        send = "taobao.logistics.offline.send"
        # B04 with our number: the marketplace took our send but the answer was lost.
        ok = await h.top(http, send, shop.session, tid=cases["same"][0], out_sid=number["same"], company_code="ZTO")
        assert "error_response" not in ok, ok
        # B04 with another number: someone shipped the trade by hand with another number.
        await h.top(http, send, shop.session, tid=cases["other"][0], out_sid="712345678901", company_code="ZTO")
        # B60: our number was used on another trade of this seller.
        await h.top(http, send, shop.session, tid=decoy[0], out_sid=number["b60"], company_code="ZTO")
        # F04: the number was cancelled at the courier.
        discard = {"cp_code": "ZTO", "seller_id": shop.id, "waybill_code": number["f04"]}
        assert (await h.courier(http, "TMS_WAYBILL_DISCARD", discard))["success"] is True
        # F05: another seller shipped with our number.
        await h.top(http, send, other.session, tid=foreign, out_sid=number["f05"], company_code="ZTO")
        # F01: the number expired.
        await http.post(f"{h.sandbox}/control/courier/expire", json={"waybill_codes": [number["f01"]]})
        h.start(["shipping-worker"])

        results = {name: await h.settled(http, shop, s["id"], within=60) for name, s in shipped.items()}
        assert results["same"]["status"] == "confirmed"
        assert results["same"]["number"] == number["same"]
        assert results["other"]["status"] == "failed"
        assert results["other"]["error_code"] == "B04"
        assert "712345678901" in results["other"]["error"]
        for name, state in (("b60", "quarantined"), ("f04", "quarantined"), ("f05", "quarantined"), ("f01", "expired")):
            r = results[name]
            assert r["status"] == "confirmed", (name, r)
            assert r["number"] != number[name]
            assert r["history"][1]["event"].startswith(state), (name, r["history"])
            waybill = (await http.get(f"{h.allocation}/v1/waybills/{number[name]}", headers=shop.headers)).json()
            assert waybill["status"] == state, (name, waybill)
            trade = await h.trade(http, cases[name][0])
            assert trade["shipping"]["out_sid"] == r["number"]
        assert results["own"]["status"] == "confirmed"
        unknown = await http.get(f"{h.sandbox}/control/marketplace/trades/1234567")
        assert unknown.status_code == 404  # the marketplace never heard of it
        failed_order = await h.order(http, shop, cases["other"][1])
        assert failed_order["status"] == "paid"
        assert failed_order["flags"][-1]["kind"] == "shipment_failed"


async def test_transient_platform_errors_are_retried(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop = await h.ready_shop(http)
        tids = await h.paid_trades(http, shop, 6)
        ids = await h.orders_for(http, shop, tids)
        await h.faults(http, error_rate={"taobao.logistics.offline.send": 0.6}, seed=11)
        try:
            shipments = [await h.ship(http, shop, oid, carrier="ZTO") for oid in ids]
            results = [await h.settled(http, shop, s["id"], within=60) for s in shipments]
        finally:
            await h.faults(http, error_rate={})
        assert [r["status"] for r in results] == ["confirmed"] * 6
        assert sum(r["attempts"] for r in results) > 6  # some needed more than one call
        assert {r["error_code"] for r in results if r["attempts"] > 1} <= {"B150", "S01"}
