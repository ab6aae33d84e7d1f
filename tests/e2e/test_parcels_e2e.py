"""Parcels end to end, over the real processes, on Taobao and Pinduoduo: an order in several parcels (一单多包),
an order shipped in parts (拆单), voids before confirmation (回收单号) and number changes after it (换单号).

Every fact about the outside world is read from the sandbox's control API: what the marketplace holds (a
Taobao trade's consignments and their packages, a Pinduoduo order's tracking_number and extra tracks), what
the couriers know of a number (discarded, collected), and what the tracking provider follows and has
revealed of each journey. Our own answers (shipments, orders, allocation's numbers and ledger) are what is
checked against them.

- Three parcels: three numbers, each on the marketplace (Taobao: one consignment of three packages by
  alibaba.ascp.logistics.offline.send; Pinduoduo: online.send with the first, the others as extra tracks of
  type 分包发货), shipped in allocation, followed by tracking, a label PDF of three pages (each the barcode of
  its number). The third parcel's journey is forced to stall, so two are delivered days before it: the order
  stays in transit until the last is delivered. Its own system: the sandbox's clock is jumped days ahead,
  which a shared system's later tests must not inherit (see conftest's own_harness). Once collected, the
  parcels can be neither voided nor given new numbers (409 already_collected).
- Split: a Taobao trade of three lines shipped as line 1, then lines 2 and 3 (in two boxes): the trade is
  SELLER_CONSIGNED_PART with line 1's oid consigned, then WAIT_BUYER_CONFIRM_GOODS; a Pinduoduo order of
  several lines shipped as line 1, then the rest: shipped with the first number, the second part's number an
  extra track. Our order is partly_shipped, then shipped.
- Void before confirmation: the marketplace made to fail every confirmation, the pending shipment is voided:
  every number voided in allocation and discarded at the courier, each credited once (full policy: the 300
  cents ZTO-1000 paid per number), the marketplace never shipped; the order ships again with new numbers.
- A confirmed shipment is not voided (409 cannot_withdraw) and the marketplace keeps its numbers; its numbers
  are changed instead: the marketplace holds the new ones (Taobao's alibaba.ascp.logistics.consign.resend,
  Pinduoduo's online.send with redelivery_type 2), the old ones are voided and credited, the new ones shipped
  and followed.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, wait_for

pytestmark = pytest.mark.e2e

ZTO_LOGISTICS_ID = 115  # 中通快递 on Pinduoduo (see test_channels_e2e's docstring)
# ZTO-1000: 300,000 cents for 1,000 numbers, a void credited in full (the seeded policy of ZTO's packages).
PRICE_PER_NUMBER_CENTS = 300
HOUR = 3600.0
# Journeys as the sandbox plans them (services/sandbox/tracking_provider/journeys.py): a normal one ends within
# 101 simulated hours of its subscription, a stalled one (silent 96 h after its first mile) no sooner than 106.5.
# At 104 h both normal parcels are delivered and the stalled one is not; by 214 h every journey has ended.
BEFORE_THE_STALLED_ONE_S = 104 * HOUR
AFTER_EVERY_ONE_S = 110 * HOUR
PDD_FAULTS_OFF = {"error_rate": {}, "latency_ms": {}, "rate_limit_rate": 0.0}


# -- setting up ---------------------------------------------------------------------------------------------


async def _pdd_order_of_lines(
    h: Harness, http: httpx.AsyncClient, shop: Shop, mall: dict[str, Any], wanted: int = 3
) -> tuple[str, str, int]:
    """A confirmed order with the most lines found (``wanted`` if any): the sandbox draws 1 to 3 items per order
    and takes no count, so unconfirmed orders (which publish nothing) are made until one has them, and only that
    one is confirmed. (order_sn, our order id, its lines)."""
    best: tuple[str, int] | None = None
    for _ in range(4):
        for sn in await h.pdd_orders(http, mall["mall_id"], 20, confirmed=False):
            lines = len((await h.pdd_order(http, sn))["item_list"])
            if best is None or lines > best[1]:
                best = (sn, lines)
        if best is not None and best[1] >= wanted:
            break
    assert best is not None
    assert best[1] >= 2, best
    sn, lines = best
    (await http.post(f"{h.sandbox}/control/pinduoduo/orders/{sn}/confirm")).raise_for_status()
    order_id = await h.pdd_order_id(http, shop, sn)
    order = await h.order(http, shop, order_id)
    assert len(order["items"]) == lines, order
    return sn, order_id, lines


# -- our side -----------------------------------------------------------------------------------------------


def _live(shipment: dict[str, Any]) -> list[str]:
    """The numbers of the shipment's live parcels, parcel 1 first."""
    return [p["number"] for p in sorted(shipment["parcels"], key=lambda p: p["seq"]) if p["status"] == "live"]


async def _void(h: Harness, http: httpx.AsyncClient, shop: Shop, shipment_id: str, reason: str) -> httpx.Response:
    """POST .../void; asked again while the worker holds the shipment mid-call (409, status confirming)."""

    async def answered() -> httpx.Response | None:
        resp = await http.post(
            f"{h.shipping}/v1/shipments/{shipment_id}/void", json={"reason": reason}, headers=shop.headers
        )
        busy = resp.status_code == 409 and (resp.json()["error"].get("details") or {}).get("status") == "confirming"
        return None if busy else resp

    found: httpx.Response = await wait_for(answered, 30, f"void of {shipment_id} answered", every=0.1)
    return found


async def _change_numbers(h: Harness, http: httpx.AsyncClient, shop: Shop, shipment_id: str) -> httpx.Response:
    return await http.post(f"{h.shipping}/v1/shipments/{shipment_id}/change-numbers", json={}, headers=shop.headers)


async def _voided_and_credited_once(
    h: Harness, http: httpx.AsyncClient, shop: Shop, purchase: dict[str, Any], numbers: list[str]
) -> None:
    """Each number voided in allocation, the courier's cancellation settled (discarded: the sandbox's courier
    says so too), and credited exactly once at the price paid for it."""

    async def settled() -> list[dict[str, Any]] | None:
        found = [await h.waybill(http, shop, n) for n in numbers]
        done = all(w["status"] == "voided" and w["void"] and w["void"]["courier"] != "pending" for w in found)
        return found if done else None

    waybills = await wait_for(settled, 60, f"voids of {numbers} settled", every=0.5)
    for w in waybills:
        assert w["purchase_id"] == purchase["id"], w
        void = w["void"]
        assert (void["courier"], void["credit_policy"], void["credited_cents"]) == (
            "discarded",
            "full",
            PRICE_PER_NUMBER_CENTS,
        ), w
        courier = (await http.get(f"{h.sandbox}/control/courier/numbers/{w['number']}")).json()
        assert courier["state"] == "discarded", courier
    # A release asked again (as a retried job would) answers the same and credits nothing more.
    for number in numbers:
        again = await http.post(f"{h.allocation}/v1/waybills/{number}/release", json={}, headers=shop.headers)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "voided", again.json()
    await asyncio.sleep(1.0)  # time for a wrong second credit to be written, had the repeat queued one
    ledger = (await http.get(f"{h.allocation}/v1/balance", params={"limit": 1000}, headers=shop.headers)).json()
    for number in numbers:
        credits = [e for e in ledger["ledger"] if e["kind"] == "void_credit" and number in (e["note"] or "")]
        assert [(e["amount_cents"], e["reference"]) for e in credits] == [(PRICE_PER_NUMBER_CENTS, purchase["id"])], (
            number,
            credits,
        )
    assert ledger["balance_cents"] == ledger["ledger_total_cents"]


# -- the outside world --------------------------------------------------------------------------------------


def _packages(consignment: dict[str, Any]) -> list[str]:
    assert {p["company_code"] for p in consignment["packages"]} == {"ZTO"}, consignment
    return [p["out_sid"] for p in consignment["packages"]]


def _pdd_numbers(held: dict[str, Any]) -> tuple[str, list[str]]:
    """A Pinduoduo order's main number and its extra ones (each checked to be ZTO's)."""
    extras = held["extra_delivery_list"]
    assert {t["logistics_id"] for t in extras} <= {ZTO_LOGISTICS_ID}, held
    if held["tracking_number"]:
        assert held["logistics_id"] == ZTO_LOGISTICS_ID, held
    return held["tracking_number"], [t["tracking_number"] for t in extras]


async def _pages(h: Harness, http: httpx.AsyncClient, shop: Shop, path: str) -> list[list[str]]:
    """The label PDF at ``path``: the barcodes read on each of its pages."""
    import pypdfium2  # type: ignore[import-untyped]
    import zxingcpp

    resp = await http.get(f"{h.shipping}{path}", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    pdf = pypdfium2.PdfDocument(io.BytesIO(resp.content))
    return [[c.text for c in zxingcpp.read_barcodes(page.render(scale=3).to_pil())] for page in pdf]


# -- 1. three parcels ---------------------------------------------------------------------------------------


async def test_three_parcels_three_numbers_and_delivered_only_with_the_last(own_harness: Harness) -> None:
    h = own_harness
    async with h.client() as http:
        shop, _, mall, _ = await h.two_store_shop(http, "三包裹店")
        ((tid, tb_order),) = await h.taobao_orders(http, shop, 1, lines=2)
        ((sn, pdd_order),) = await h.pdd_orders_taken_in(http, shop, mall["mall_id"], 1)

        # The worker waits while the journeys are forced: the last parcel of each order stalls, the others
        # travel normally (set before tracking subscribes them, which follows the confirmation).
        h.kill("shipping-worker")
        try:
            tb = await h.ship(http, shop, tb_order, parcel_count=3)
            pdd = await h.ship(http, shop, pdd_order, parcel_count=3)
            numbers = {"taobao": _live(tb), "pinduoduo": _live(pdd)}
            kinds = {n: "normal" for ns in numbers.values() for n in ns[:2]}
            kinds |= {ns[2]: "stall" for ns in numbers.values()}
            await h.journey_kinds(http, kinds)
        finally:
            h.start(["shipping-worker"])
        every = numbers["taobao"] + numbers["pinduoduo"]
        assert len(set(every)) == 6, numbers
        assert [p["seq"] for p in tb["parcels"]] == [1, 2, 3]
        assert (tb["parcel_count"], pdd["parcel_count"]) == (3, 3)

        tb = await h.confirmed(http, shop, tb["id"])
        pdd = await h.confirmed(http, shop, pdd["id"])
        assert (_live(tb), _live(pdd)) == (numbers["taobao"], numbers["pinduoduo"])
        trade = await h.trade(http, tid)
        assert trade["status"] == "WAIT_BUYER_CONFIRM_GOODS", trade
        (consignment,) = trade["consignments"]
        assert _packages(consignment) == numbers["taobao"]  # one consignment of the trade's lines, three packages
        assert sorted(consignment["oids"]) == sorted(o["oid"] for o in trade["orders"]["order"])
        assert trade["shipping"]["out_sid"] == numbers["taobao"][0]
        held = await h.pdd_order(http, sn)
        assert held["order_status"] == 2, held
        assert _pdd_numbers(held) == (numbers["pinduoduo"][0], numbers["pinduoduo"][1:])
        await h.waybills_become(http, shop, every, "shipped")
        for order_id in (tb_order, pdd_order):
            assert (await h.order(http, shop, order_id))["status"] == "shipped"

        # A page per parcel, each with its number's barcode; one parcel's label alone.
        assert await _pages(h, http, shop, f"/v1/shipments/{tb['id']}/label.pdf") == [[n] for n in numbers["taobao"]]
        assert await _pages(h, http, shop, f"/v1/shipments/{pdd['id']}/parcels/2/label.pdf") == [
            [numbers["pinduoduo"][1]]
        ]

        await h.followed(http, shop, tb_order, numbers["taobao"])
        await h.followed(http, shop, pdd_order, numbers["pinduoduo"])
        truths = await h.truths(http, every)
        assert {n: t["kind"] for n, t in truths.items()} == kinds

        # Two parcels of each order delivered, the stalled third still on its way: the order is in transit.
        await h.advance(http, BEFORE_THE_STALLED_ONE_S)

        async def two_delivered() -> bool:
            truths = await h.truths(http, every)
            if not all(truths[n]["finished"] and truths[n]["all_pushed"] for n in kinds if kinds[n] == "normal"):
                return False
            for shipment in (tb, pdd):
                parcels = (await h.shipment(http, shop, shipment["id"]))["parcels"]
                if [p["tracking_status"] for p in parcels][:2] != ["delivered", "delivered"]:
                    return False
            return True

        await wait_for(two_delivered, 120, "the normal parcels delivered", every=1.0)
        truths = await h.truths(http, every)
        for ns in numbers.values():
            stalled = truths[ns[2]]
            assert not stalled["finished"], stalled
            assert stalled["current_state"] == "0", stalled  # collected, in transit
            assert stalled["final_state"] == "3", stalled  # it will be signed for
        for order_id, shipment in ((tb_order, tb), (pdd_order, pdd)):
            assert (await h.order(http, shop, order_id))["status"] == "in_transit"
            parcels = (await h.shipment(http, shop, shipment["id"]))["parcels"]
            assert all(p["collected_at"] for p in parcels), parcels
            assert parcels[2]["tracking_status"] != "delivered", parcels
        # Collected at the courier: the numbers can neither be voided nor changed.
        for number in every:
            courier = (await http.get(f"{h.sandbox}/control/courier/numbers/{number}")).json()
            assert courier["state"] == "collected", courier
        for shipment in (tb, pdd):
            voided = await _void(h, http, shop, shipment["id"], "买家取消")
            assert voided.status_code == 409, voided.text
            assert voided.json()["error"]["code"] == "already_collected"
            changed = await _change_numbers(h, http, shop, shipment["id"])
            assert changed.status_code == 409, changed.text
            assert changed.json()["error"]["code"] == "already_collected"
        assert _packages((await h.trade(http, tid))["consignments"][0]) == numbers["taobao"]

        # The stalled parcels delivered too: now each order is delivered.
        await h.advance(http, AFTER_EVERY_ONE_S)
        for order_id in (tb_order, pdd_order):
            await h.order_becomes(http, shop, order_id, "delivered")
        truths = await h.truths(http, every)
        assert all(t["finished"] and t["final_state"] == "3" for t in truths.values()), truths
        for order_id, ns in ((tb_order, numbers["taobao"]), (pdd_order, numbers["pinduoduo"])):
            view = (await http.get(f"{h.tracking}/v1/orders/{order_id}/tracking", headers=shop.headers)).json()
            assert {p["number"]: p["status"] for p in view["parcels"]} == dict.fromkeys(ns, "delivered"), view


# -- 2. split orders ----------------------------------------------------------------------------------------


async def test_split_orders_ship_their_lines_in_two_parts(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, _, mall, _ = await h.two_store_shop(http, "拆单店")
        ((tid, tb_order),) = await h.taobao_orders(http, shop, 1, lines=3)
        sn, pdd_order, pdd_lines = await _pdd_order_of_lines(h, http, shop, mall)
        oids = [o["oid"] for o in (await h.trade(http, tid))["orders"]["order"]]
        assert len(oids) == 3
        assert len((await h.order(http, shop, tb_order))["items"]) == 3

        # Part one: line 1 of each.
        tb1 = await h.confirmed(http, shop, (await h.ship(http, shop, tb_order, lines=[1]))["id"])
        pdd1 = await h.confirmed(http, shop, (await h.ship(http, shop, pdd_order, lines=[1]))["id"])
        (n1,), (p1,) = _live(tb1), _live(pdd1)
        trade = await h.trade(http, tid)
        assert trade["status"] == "SELLER_CONSIGNED_PART", trade
        assert [(c["oids"], _packages(c)) for c in trade["consignments"]] == [([oids[0]], [n1])]
        lines = trade["orders"]["order"]
        assert [o["status"] for o in lines] == ["WAIT_BUYER_CONFIRM_GOODS"] + ["WAIT_SELLER_SEND_GOODS"] * 2
        assert lines[0]["invoice_no"] == n1
        assert "invoice_no" not in lines[1]
        held = await h.pdd_order(http, sn)
        assert held["order_status"] == 2, held
        assert _pdd_numbers(held) == (p1, [])
        for order_id in (tb_order, pdd_order):
            await h.order_becomes(http, shop, order_id, "partly_shipped")

        await asyncio.sleep(2)  # the other part ships later
        # Part two: the other lines (every line not shipped yet, by default); Taobao's in a box per line.
        tb2 = await h.ship(http, shop, tb_order, parcels=[{"lines": [2]}, {"lines": [3]}])
        # Read at once: the worker confirms the part within moments (not after Pinduoduo's ship below).
        assert (await h.order(http, shop, tb_order))["status"] == "partly_shipped"  # until it is confirmed
        pdd2 = await h.ship(http, shop, pdd_order)
        tb2 = await h.confirmed(http, shop, tb2["id"])
        pdd2 = await h.confirmed(http, shop, pdd2["id"])
        n2, n3 = _live(tb2)
        (p2,) = _live(pdd2)
        assert [p["lines"] for p in sorted(tb2["parcels"], key=lambda p: p["seq"])] == [[2], [3]]
        assert len({n1, n2, n3, p1, p2}) == 5
        trade = await h.trade(http, tid)
        assert trade["status"] == "WAIT_BUYER_CONFIRM_GOODS", trade
        assert [(c["oids"], _packages(c)) for c in trade["consignments"]] == [
            ([oids[0]], [n1]),
            ([oids[1], oids[2]], [n2, n3]),
        ]
        assert [o["invoice_no"] for o in trade["orders"]["order"]] == [n1, n2, n2]  # a line shows its first package
        held = await h.pdd_order(http, sn)
        assert held["order_status"] == 2, held
        assert _pdd_numbers(held) == (p1, [p2])  # the later part: an extra track
        for order_id in (tb_order, pdd_order):
            await h.order_becomes(http, shop, order_id, "shipped")
        await h.waybills_become(http, shop, [n1, n2, n3, p1, p2], "shipped")
        shipments = (
            await http.get(f"{h.shipping}/v1/shipments", params={"order_id": pdd_order}, headers=shop.headers)
        ).json()["data"]
        assert sorted(s["status"] for s in shipments) == ["confirmed", "confirmed"], (pdd_lines, shipments)


# -- 3. voided before confirmation --------------------------------------------------------------------------


async def test_a_shipment_voided_before_confirmation_gives_every_number_up_and_ships_again(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, _, mall, purchase = await h.two_store_shop(http, "回收单号店")
        ((tid, tb_order),) = await h.taobao_orders(http, shop, 1, lines=1)
        ((sn, pdd_order),) = await h.pdd_orders_taken_in(http, shop, mall["mall_id"], 1)

        # Both marketplaces refuse every confirmation for now (transient errors, retried): the shipments stay
        # unconfirmed, and are voided so.
        sends = {"taobao.logistics.offline.send": 1.0, "alibaba.ascp.logistics.offline.send": 1.0}
        await h.faults(http, error_rate=sends, seed=3)
        await h.pdd_faults(http, error_rate={"pdd.logistics.online.send": 1.0})
        try:
            tb = await h.ship(http, shop, tb_order, parcel_count=2)
            pdd = await h.ship(http, shop, pdd_order, parcel_count=2)
            voided = {}
            for shipment in (tb, pdd):
                resp = await _void(h, http, shop, shipment["id"], "买家改了主意")
                assert resp.status_code == 200, resp.text
                voided[shipment["id"]] = resp.json()
        finally:
            await h.faults(http, error_rate={})
            await h.pdd_faults(http, **PDD_FAULTS_OFF)
        old = {"taobao": _live(tb), "pinduoduo": _live(pdd)}
        for shipment in (tb, pdd):
            body = voided[shipment["id"]]
            assert body["status"] == "voided", body
            assert body["voided_at"], body
            assert [p["status"] for p in body["parcels"]] == ["voided", "voided"], body
            assert body["confirmed_at"] is None
            again = await _void(h, http, shop, shipment["id"], "再说一次")
            assert again.status_code == 200, again.text
            assert again.json()["status"] == "voided", again.text  # the same answer
        for order_id in (tb_order, pdd_order):
            order = await h.order(http, shop, order_id)
            assert (order["status"], order["number"], order["shipment_id"]) == ("paid", None, None), order

        every_old = old["taobao"] + old["pinduoduo"]
        await _voided_and_credited_once(h, http, shop, purchase, every_old)
        # Neither marketplace ever shipped them, though the voided shipments' confirmations were still due.
        trade = await h.trade(http, tid)
        assert (trade["status"], trade["consignments"]) == ("WAIT_SELLER_SEND_GOODS", []), trade
        held = await h.pdd_order(http, sn)
        assert (held["order_status"], held["tracking_number"], held["extra_delivery_list"]) == (1, "", []), held

        # Shipped again: new numbers, which the marketplaces hold.
        tb = await h.confirmed(http, shop, (await h.ship(http, shop, tb_order, parcel_count=2))["id"])
        pdd = await h.confirmed(http, shop, (await h.ship(http, shop, pdd_order, parcel_count=2))["id"])
        new = {"taobao": _live(tb), "pinduoduo": _live(pdd)}
        every_new = new["taobao"] + new["pinduoduo"]
        assert len(set(every_new)) == 4, new
        assert not set(every_new) & set(every_old), (old, new)
        trade = await h.trade(http, tid)
        assert trade["status"] == "WAIT_BUYER_CONFIRM_GOODS", trade
        assert [_packages(c) for c in trade["consignments"]] == [new["taobao"]]
        held = await h.pdd_order(http, sn)
        assert held["order_status"] == 2, held
        assert _pdd_numbers(held) == (new["pinduoduo"][0], new["pinduoduo"][1:])
        await h.waybills_become(http, shop, every_new, "shipped")
        for order_id in (tb_order, pdd_order):
            assert (await h.order(http, shop, order_id))["status"] == "shipped"
        # The old numbers stay voided, credited once.
        for number in every_old:
            w = await h.waybill(http, shop, number)
            assert (w["status"], w["void"]["credited_cents"]) == ("voided", PRICE_PER_NUMBER_CENTS), w


# -- 4 and 5. confirmed: not voided, numbers changed ----------------------------------------------------------


async def test_a_confirmed_shipment_is_not_withdrawn_and_its_numbers_change(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, _, mall, purchase = await h.two_store_shop(http, "换单号店")
        ((tid, tb_order),) = await h.taobao_orders(http, shop, 1, lines=1)
        ((sn, pdd_order),) = await h.pdd_orders_taken_in(http, shop, mall["mall_id"], 1)
        tb = await h.confirmed(http, shop, (await h.ship(http, shop, tb_order, parcel_count=2))["id"])
        pdd = await h.confirmed(http, shop, (await h.ship(http, shop, pdd_order))["id"])
        old = {"taobao": _live(tb), "pinduoduo": _live(pdd)}
        every_old = old["taobao"] + old["pinduoduo"]
        await h.waybills_become(http, shop, every_old, "shipped")
        assert [_packages(c) for c in (await h.trade(http, tid))["consignments"]] == [old["taobao"]]
        assert _pdd_numbers(await h.pdd_order(http, sn)) == (old["pinduoduo"][0], [])

        # 5. Confirmed on a marketplace: not withdrawn, nothing changes anywhere.
        for shipment in (tb, pdd):
            refused = await _void(h, http, shop, shipment["id"], "买家退款")
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["code"] == "cannot_withdraw", error
            assert error["details"]["change_numbers"] is True, error
            assert (await h.shipment(http, shop, shipment["id"]))["status"] == "confirmed"
        assert [_packages(c) for c in (await h.trade(http, tid))["consignments"]] == [old["taobao"]]
        assert _pdd_numbers(await h.pdd_order(http, sn)) == (old["pinduoduo"][0], [])
        for number in every_old:
            w = await h.waybill(http, shop, number)
            assert (w["status"], w["void"]) == ("shipped", None), w

        # 4. The numbers changed instead.
        new: dict[str, list[str]] = {}
        for channel, shipment in (("taobao", tb), ("pinduoduo", pdd)):
            resp = await _change_numbers(h, http, shop, shipment["id"])
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert body["status"] == "confirmed", body
            new[channel] = _live(body)
            assert len(new[channel]) == len(old[channel]), body
            assert not set(new[channel]) & set(old[channel]), body
            assert body["number"] == new[channel][0]
            gone = sorted(p["number"] for p in body["parcels"] if p["status"] == "voided")
            assert gone == sorted(old[channel]), body
        every_new = new["taobao"] + new["pinduoduo"]
        assert len(set(every_new)) == 3

        trade = await h.trade(http, tid)
        assert trade["status"] == "WAIT_BUYER_CONFIRM_GOODS", trade
        assert [_packages(c) for c in trade["consignments"]] == [new["taobao"]]  # the old packages replaced
        assert trade["shipping"]["out_sid"] == new["taobao"][0]
        held = await h.pdd_order(http, sn)
        assert held["order_status"] == 2, held
        assert _pdd_numbers(held) == (new["pinduoduo"][0], [])
        await _voided_and_credited_once(h, http, shop, purchase, every_old)
        await h.waybills_become(http, shop, every_new, "shipped")
        await h.followed(http, shop, tb_order, new["taobao"])
        await h.followed(http, shop, pdd_order, new["pinduoduo"])
        for order_id, channel in ((tb_order, "taobao"), (pdd_order, "pinduoduo")):
            order = await h.order(http, shop, order_id)
            assert (order["status"], order["number"]) == ("shipped", new[channel][0]), order
