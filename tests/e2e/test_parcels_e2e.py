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
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, wait_for
from tests.support import ADMIN_KEY, bearer

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


async def _shop(h: Harness, http: httpx.AsyncClient, name: str) -> tuple[Shop, dict[str, Any], dict[str, Any]]:
    """A shop with ZTO numbers, a Taobao store (``shop.nick``) and a Pinduoduo mall bound as a store; the shop,
    the mall and the purchase."""
    shop = await h.create_shop(http, name)
    await h.top_up(http, shop, 100_000_000)
    purchase = await h.buy(http, shop, "ZTO", "ZTO-1000")
    await h.taobao_store(http, shop)
    mall = await h.pdd_mall(http, f"{name}{uuid.uuid4().hex[:6]}")
    bound = await h.bind_store(http, shop, "pinduoduo", mall["access_token"], seller_id=str(mall["mall_id"]))
    assert bound.status_code == 201, bound.text
    return shop, mall, purchase


async def _taobao_orders(
    h: Harness, http: httpx.AsyncClient, shop: Shop, count: int, lines: int = 1
) -> list[tuple[str, str]]:
    """Paid trades of ``lines`` lines each, once they are our orders: (tid, order id) each."""
    resp = await http.post(
        f"{h.sandbox}/control/marketplace/trades",
        json={"seller_nick": shop.nick, "count": count, "paid": True, "lines": lines},
    )
    resp.raise_for_status()
    tids: list[str] = resp.json()["tids"]
    return list(zip(tids, await h.orders_for(http, shop, tids), strict=True))


async def _pdd_order_id(h: Harness, http: httpx.AsyncClient, shop: Shop, sn: str) -> str:
    async def there() -> str | None:
        found = await h.orders_where(http, shop, external_id=sn)
        return found[0]["id"] if found else None

    await h.pdd_messages_delivered(http)
    order_id: str = await wait_for(there, 60, f"Pinduoduo order {sn} taken in", every=0.5)
    return order_id


async def _pdd_orders(
    h: Harness, http: httpx.AsyncClient, shop: Shop, mall: dict[str, Any], count: int
) -> list[tuple[str, str]]:
    sns = await h.pdd_orders(http, mall["mall_id"], count)
    return [(sn, await _pdd_order_id(h, http, shop, sn)) for sn in sns]


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
    order_id = await _pdd_order_id(h, http, shop, sn)
    order = (await http.get(f"{h.shipping}/v1/orders/{order_id}", headers=shop.headers)).json()
    assert len(order["items"]) == lines, order
    return sn, order_id, lines


# -- our side -----------------------------------------------------------------------------------------------


async def _ship(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str, **body: Any) -> dict[str, Any]:
    resp = await http.post(
        f"{h.shipping}/v1/orders/{order_id}/ship", json={"carrier": "ZTO", **body}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    shipment: dict[str, Any] = resp.json()
    return shipment


async def _shipment(h: Harness, http: httpx.AsyncClient, shop: Shop, shipment_id: str) -> dict[str, Any]:
    resp = await http.get(f"{h.shipping}/v1/shipments/{shipment_id}", headers=shop.headers)
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


async def _confirmed(h: Harness, http: httpx.AsyncClient, shop: Shop, shipment_id: str) -> dict[str, Any]:
    async def settled() -> dict[str, Any] | None:
        body = await _shipment(h, http, shop, shipment_id)
        return body if body["status"] in ("confirmed", "failed") else None

    found: dict[str, Any] = await wait_for(settled, 90, f"shipment {shipment_id} settled", every=0.3)
    assert found["status"] == "confirmed", found
    return found


def _live(shipment: dict[str, Any]) -> list[str]:
    """The numbers of the shipment's live parcels, parcel 1 first."""
    return [p["number"] for p in sorted(shipment["parcels"], key=lambda p: p["seq"]) if p["status"] == "live"]


async def _order(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str) -> dict[str, Any]:
    resp = await http.get(f"{h.shipping}/v1/orders/{order_id}", headers=shop.headers)
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


async def _order_becomes(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str, status: str) -> None:
    async def there() -> bool:
        return bool((await _order(h, http, shop, order_id))["status"] == status)

    await wait_for(there, 90, f"order {order_id} {status}", every=0.5)


async def _waybills_become(h: Harness, http: httpx.AsyncClient, shop: Shop, numbers: list[str], status: str) -> None:
    """Allocation learns of shipments through jobs (a mark, a release): wait until it has."""

    async def all_there() -> bool:
        for number in numbers:
            if (await h.waybill(http, shop, number))["status"] != status:
                return False
        return True

    await wait_for(all_there, 60, f"{numbers} {status} in allocation", every=0.5)


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


async def _truths(h: Harness, http: httpx.AsyncClient, numbers: list[str]) -> dict[str, dict[str, Any]]:
    resp = await http.get(
        f"{h.sandbox}/control/tracking/parcels", params={"number": numbers, "include_events": "false"}
    )
    resp.raise_for_status()
    return {t["number"]: t for t in resp.json()}


async def _followed(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str, numbers: list[str]) -> None:
    """The tracking provider holds a subscription of each number (ours: its callback is tracking's), and
    tracking's view of the order lists them subscribed."""

    async def subscribed() -> bool:
        truths = await _truths(h, http, numbers)
        if not all(truths[n]["subscribed"] for n in numbers):
            return False
        resp = await http.get(f"{h.tracking}/v1/orders/{order_id}/tracking", headers=shop.headers)
        if resp.status_code != 200:
            return False
        states = {p["number"]: p["subscription"]["state"] for p in resp.json()["parcels"]}
        return all(states.get(n) == "subscribed" for n in numbers)

    await wait_for(subscribed, 90, f"{numbers} followed", every=0.5)


async def _pages(h: Harness, http: httpx.AsyncClient, shop: Shop, path: str) -> list[list[str]]:
    """The label PDF at ``path``: the barcodes read on each of its pages."""
    import pypdfium2  # type: ignore[import-untyped]
    import zxingcpp

    resp = await http.get(f"{h.shipping}{path}", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    pdf = pypdfium2.PdfDocument(io.BytesIO(resp.content))
    return [[c.text for c in zxingcpp.read_barcodes(page.render(scale=3).to_pil())] for page in pdf]


async def _advance(h: Harness, http: httpx.AsyncClient, seconds: float) -> None:
    """The sandbox's clock jumped ahead (journeys' events happen), and tracking's clock set to the same time."""
    clock = (await http.post(f"{h.sandbox}/control/clock/advance", json={"seconds": seconds})).json()
    ours = await http.put(
        f"{h.tracking}/internal/v1/clock", json={"now": clock["now"], "factor": 1.0}, headers=bearer(ADMIN_KEY)
    )
    assert ours.status_code == 200, ours.text


# -- 1. three parcels ---------------------------------------------------------------------------------------


async def test_three_parcels_three_numbers_and_delivered_only_with_the_last(own_harness: Harness) -> None:
    h = own_harness
    async with h.client() as http:
        shop, mall, _ = await _shop(h, http, "三包裹店")
        ((tid, tb_order),) = await _taobao_orders(h, http, shop, 1, lines=2)
        ((sn, pdd_order),) = await _pdd_orders(h, http, shop, mall, 1)

        # The worker waits while the journeys are forced: the last parcel of each order stalls, the others
        # travel normally (set before tracking subscribes them, which follows the confirmation).
        h.kill("shipping-worker")
        try:
            tb = await _ship(h, http, shop, tb_order, parcel_count=3)
            pdd = await _ship(h, http, shop, pdd_order, parcel_count=3)
            numbers = {"taobao": _live(tb), "pinduoduo": _live(pdd)}
            kinds = {n: "normal" for ns in numbers.values() for n in ns[:2]}
            kinds |= {ns[2]: "stall" for ns in numbers.values()}
            (await http.put(f"{h.sandbox}/control/tracking/kinds", json={"kinds": kinds})).raise_for_status()
        finally:
            h.start(["shipping-worker"])
        every = numbers["taobao"] + numbers["pinduoduo"]
        assert len(set(every)) == 6, numbers
        assert [p["seq"] for p in tb["parcels"]] == [1, 2, 3]
        assert (tb["parcel_count"], pdd["parcel_count"]) == (3, 3)

        tb = await _confirmed(h, http, shop, tb["id"])
        pdd = await _confirmed(h, http, shop, pdd["id"])
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
        await _waybills_become(h, http, shop, every, "shipped")
        for order_id in (tb_order, pdd_order):
            assert (await _order(h, http, shop, order_id))["status"] == "shipped"

        # A page per parcel, each with its number's barcode; one parcel's label alone.
        assert await _pages(h, http, shop, f"/v1/shipments/{tb['id']}/label.pdf") == [[n] for n in numbers["taobao"]]
        assert await _pages(h, http, shop, f"/v1/shipments/{pdd['id']}/parcels/2/label.pdf") == [
            [numbers["pinduoduo"][1]]
        ]

        await _followed(h, http, shop, tb_order, numbers["taobao"])
        await _followed(h, http, shop, pdd_order, numbers["pinduoduo"])
        truths = await _truths(h, http, every)
        assert {n: t["kind"] for n, t in truths.items()} == kinds

        # Two parcels of each order delivered, the stalled third still on its way: the order is in transit.
        await _advance(h, http, BEFORE_THE_STALLED_ONE_S)

        async def two_delivered() -> bool:
            truths = await _truths(h, http, every)
            if not all(truths[n]["finished"] and truths[n]["all_pushed"] for n in kinds if kinds[n] == "normal"):
                return False
            for shipment in (tb, pdd):
                parcels = (await _shipment(h, http, shop, shipment["id"]))["parcels"]
                if [p["tracking_status"] for p in parcels][:2] != ["delivered", "delivered"]:
                    return False
            return True

        await wait_for(two_delivered, 120, "the normal parcels delivered", every=1.0)
        truths = await _truths(h, http, every)
        for ns in numbers.values():
            stalled = truths[ns[2]]
            assert not stalled["finished"], stalled
            assert stalled["current_state"] == "0", stalled  # collected, in transit
            assert stalled["final_state"] == "3", stalled  # it will be signed for
        for order_id, shipment in ((tb_order, tb), (pdd_order, pdd)):
            assert (await _order(h, http, shop, order_id))["status"] == "in_transit"
            parcels = (await _shipment(h, http, shop, shipment["id"]))["parcels"]
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
        await _advance(h, http, AFTER_EVERY_ONE_S)
        for order_id in (tb_order, pdd_order):
            await _order_becomes(h, http, shop, order_id, "delivered")
        truths = await _truths(h, http, every)
        assert all(t["finished"] and t["final_state"] == "3" for t in truths.values()), truths
        for order_id, ns in ((tb_order, numbers["taobao"]), (pdd_order, numbers["pinduoduo"])):
            view = (await http.get(f"{h.tracking}/v1/orders/{order_id}/tracking", headers=shop.headers)).json()
            assert {p["number"]: p["status"] for p in view["parcels"]} == dict.fromkeys(ns, "delivered"), view


# -- 2. split orders ----------------------------------------------------------------------------------------


async def test_split_orders_ship_their_lines_in_two_parts(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, mall, _ = await _shop(h, http, "拆单店")
        ((tid, tb_order),) = await _taobao_orders(h, http, shop, 1, lines=3)
        sn, pdd_order, pdd_lines = await _pdd_order_of_lines(h, http, shop, mall)
        oids = [o["oid"] for o in (await h.trade(http, tid))["orders"]["order"]]
        assert len(oids) == 3
        assert len((await _order(h, http, shop, tb_order))["items"]) == 3

        # Part one: line 1 of each.
        tb1 = await _confirmed(h, http, shop, (await _ship(h, http, shop, tb_order, lines=[1]))["id"])
        pdd1 = await _confirmed(h, http, shop, (await _ship(h, http, shop, pdd_order, lines=[1]))["id"])
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
            await _order_becomes(h, http, shop, order_id, "partly_shipped")

        await asyncio.sleep(2)  # the other part ships later
        # Part two: the other lines (every line not shipped yet, by default); Taobao's in a box per line.
        tb2 = await _ship(h, http, shop, tb_order, parcels=[{"lines": [2]}, {"lines": [3]}])
        # Read at once: the worker confirms the part within moments (not after Pinduoduo's ship below).
        assert (await _order(h, http, shop, tb_order))["status"] == "partly_shipped"  # until it is confirmed
        pdd2 = await _ship(h, http, shop, pdd_order)
        tb2 = await _confirmed(h, http, shop, tb2["id"])
        pdd2 = await _confirmed(h, http, shop, pdd2["id"])
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
            await _order_becomes(h, http, shop, order_id, "shipped")
        await _waybills_become(h, http, shop, [n1, n2, n3, p1, p2], "shipped")
        shipments = (
            await http.get(f"{h.shipping}/v1/shipments", params={"order_id": pdd_order}, headers=shop.headers)
        ).json()["data"]
        assert sorted(s["status"] for s in shipments) == ["confirmed", "confirmed"], (pdd_lines, shipments)


# -- 3. voided before confirmation --------------------------------------------------------------------------


async def test_a_shipment_voided_before_confirmation_gives_every_number_up_and_ships_again(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, mall, purchase = await _shop(h, http, "回收单号店")
        ((tid, tb_order),) = await _taobao_orders(h, http, shop, 1)
        ((sn, pdd_order),) = await _pdd_orders(h, http, shop, mall, 1)

        # Both marketplaces refuse every confirmation for now (transient errors, retried): the shipments stay
        # unconfirmed, and are voided so.
        sends = {"taobao.logistics.offline.send": 1.0, "alibaba.ascp.logistics.offline.send": 1.0}
        await h.faults(http, error_rate=sends, seed=3)
        await h.pdd_faults(http, error_rate={"pdd.logistics.online.send": 1.0})
        try:
            tb = await _ship(h, http, shop, tb_order, parcel_count=2)
            pdd = await _ship(h, http, shop, pdd_order, parcel_count=2)
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
            order = await _order(h, http, shop, order_id)
            assert (order["status"], order["number"], order["shipment_id"]) == ("paid", None, None), order

        every_old = old["taobao"] + old["pinduoduo"]
        await _voided_and_credited_once(h, http, shop, purchase, every_old)
        # Neither marketplace ever shipped them, though the voided shipments' confirmations were still due.
        trade = await h.trade(http, tid)
        assert (trade["status"], trade["consignments"]) == ("WAIT_SELLER_SEND_GOODS", []), trade
        held = await h.pdd_order(http, sn)
        assert (held["order_status"], held["tracking_number"], held["extra_delivery_list"]) == (1, "", []), held

        # Shipped again: new numbers, which the marketplaces hold.
        tb = await _confirmed(h, http, shop, (await _ship(h, http, shop, tb_order, parcel_count=2))["id"])
        pdd = await _confirmed(h, http, shop, (await _ship(h, http, shop, pdd_order, parcel_count=2))["id"])
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
        await _waybills_become(h, http, shop, every_new, "shipped")
        for order_id in (tb_order, pdd_order):
            assert (await _order(h, http, shop, order_id))["status"] == "shipped"
        # The old numbers stay voided, credited once.
        for number in every_old:
            w = await h.waybill(http, shop, number)
            assert (w["status"], w["void"]["credited_cents"]) == ("voided", PRICE_PER_NUMBER_CENTS), w


# -- 4 and 5. confirmed: not voided, numbers changed ----------------------------------------------------------


async def test_a_confirmed_shipment_is_not_withdrawn_and_its_numbers_change(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, mall, purchase = await _shop(h, http, "换单号店")
        ((tid, tb_order),) = await _taobao_orders(h, http, shop, 1)
        ((sn, pdd_order),) = await _pdd_orders(h, http, shop, mall, 1)
        tb = await _confirmed(h, http, shop, (await _ship(h, http, shop, tb_order, parcel_count=2))["id"])
        pdd = await _confirmed(h, http, shop, (await _ship(h, http, shop, pdd_order))["id"])
        old = {"taobao": _live(tb), "pinduoduo": _live(pdd)}
        every_old = old["taobao"] + old["pinduoduo"]
        await _waybills_become(h, http, shop, every_old, "shipped")
        assert [_packages(c) for c in (await h.trade(http, tid))["consignments"]] == [old["taobao"]]
        assert _pdd_numbers(await h.pdd_order(http, sn)) == (old["pinduoduo"][0], [])

        # 5. Confirmed on a marketplace: not withdrawn, nothing changes anywhere.
        for shipment in (tb, pdd):
            refused = await _void(h, http, shop, shipment["id"], "买家退款")
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["code"] == "cannot_withdraw", error
            assert error["details"]["change_numbers"] is True, error
            assert (await _shipment(h, http, shop, shipment["id"]))["status"] == "confirmed"
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
        await _waybills_become(h, http, shop, every_new, "shipped")
        await _followed(h, http, shop, tb_order, new["taobao"])
        await _followed(h, http, shop, pdd_order, new["pinduoduo"])
        for order_id, channel in ((tb_order, "taobao"), (pdd_order, "pinduoduo")):
            order = await _order(h, http, shop, order_id)
            assert (order["status"], order["number"]) == ("shipped", new[channel][0]), order
