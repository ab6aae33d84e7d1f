"""Confirmation at collection (揽收后回传) and address changes after printing (改址), end to end over the real
processes, on Taobao and Pinduoduo.

As in test_parcels_e2e, every fact about the outside world is read from the sandbox's control API: what the
marketplace holds (a Taobao trade's status, receiver and consignments; a Pinduoduo order's status, receiver and
tracking number), what the courier knows of a number (issued or collected, and the receiver its waybill records,
which only allocation's TMS_WAYBILL_UPDATE sets) and what the tracking provider follows and has revealed. Our
answers (shipments, orders, their flags and alerts, allocation's numbers, the label PDFs' text) are checked
against them.

- Held until collection (the shop's ``confirm_mode`` at_collection, which its stores follow): the labels are made
  and tracking follows the numbers, but neither marketplace hears of them and allocation does not count them
  shipped. The Taobao order goes in two parcels, the second never collected; the sandbox's clock jumps past the
  first mile, so the courier collects the others: each shipment is released by its first collected parcel (the
  worker is down meanwhile, so the release can be seen before the confirmation). While released but not yet
  confirmed the buyer changes the address on both marketplaces (which still allow it: nothing shipped there) and
  the seller over REST: refused (409 already_collected), one ``address_change_after_collection`` alert per order
  whatever the path, our receiver unchanged, no courier told. The worker back: both marketplaces hold every number
  (Taobao one consignment of both packages, the uncollected one too). Its own system: the clock jumps.
- The shop's confirmation time: a shop at print whose two stores (PATCH /v1/stores) confirm at collection, with
  ``confirm_time`` the next minute in its time zone (Asia/Kathmandu, UTC+05:45: a time read in any other zone
  would be hours away). Nothing is collected (the sandbox's clock runs at real speed): both shipments stay held
  and the marketplaces untold until that minute, then the release_held_shipments cron confirms them, not before.
- Ship-by passed while held: a Taobao order whose ship-by is a second after its trade's pay_time (the shipping
  process restarted with SHIPPING_SHIP_BY_DEFAULT_TAOBAO_H: a Taobao trade carries no deadline of its own) and a
  Pinduoduo order whose last_ship_time is a second after its confirmation (our ship_by is exactly it). Held past
  it, each gets one ``not_collected_by_ship_by`` alert and stays held through the next sweep, neither marketplace
  told; collected at last (the clock jumps), both are confirmed and the alerts resolve. Its own system: the clock
  and the env.
- Address changed after printing, before collection: orders confirmed at print changed over PUT
  /v1/orders/{id}/receiver, and held orders changed by the buyer on the marketplace (TradeLogisticsAddressChanged
  on both channels). The numbers stay, on our side and on the marketplace; the courier's waybill of every parcel
  records the new receiver; the order is flagged ``label_outdated``, and the next label (every parcel's, and one
  parcel's alone) prints the new receiver and no longer the old address.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, wait_for

pytestmark = pytest.mark.e2e

HOUR = 3600.0
ZTO_LOGISTICS_ID = 115  # 中通快递 on Pinduoduo
# Every journey's first event (揽收) comes 0.5 to 6 simulated hours after its subscription (the sandbox's
# journeys.py); the next one at least an hour later.
PAST_THE_FIRST_MILE_S = 6.5 * HOUR
# The release_held_shipments cron runs at seconds 0 and 30 of every minute (services/shipping/tasks.py).
SWEEP_EVERY_S = 30
ZONE = "Asia/Kathmandu"
BEIJING = ZoneInfo("Asia/Shanghai")  # the marketplaces' times (pay_time, last_ship_time) are Beijing time
# A second after payment (gt 0 both: SHIPPING_SHIP_BY_DEFAULT_TAOBAO_H, the sandbox's ship_within_hours).
SHIP_BY_HOURS = 0.0003


def _receiver(name: str, phone: str, detail: str) -> dict[str, str]:
    return {"name": name, "phone": phone, "state": "浙江省", "city": "杭州市", "district": "西湖区", "address": detail}


# -- setting up ---------------------------------------------------------------------------------------------


async def _shop(
    h: Harness, http: httpx.AsyncClient, name: str
) -> tuple[Shop, dict[str, dict[str, Any]], dict[str, Any]]:
    """The harness's shop of two stores (Taobao, Pinduoduo): the shop, its stores by channel, and the mall."""
    shop, stores, mall, _ = await h.two_store_shop(http, name)
    assert all(s["confirm_mode"] is None for s in stores.values()), stores  # the shop's mode, until set
    return shop, stores, mall


async def _settings(h: Harness, http: httpx.AsyncClient, shop: Shop, **fields: Any) -> dict[str, Any]:
    resp = await http.put(f"{h.shipping}/v1/settings", json=fields, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _store_mode(
    h: Harness, http: httpx.AsyncClient, shop: Shop, store: dict[str, Any], mode: str | None
) -> dict[str, Any]:
    resp = await http.patch(f"{h.shipping}/v1/stores/{store['id']}", json={"confirm_mode": mode}, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    assert body["confirm_mode"] == mode, body
    return body


# -- our side -----------------------------------------------------------------------------------------------


async def _becomes(
    h: Harness, http: httpx.AsyncClient, shop: Shop, shipment_id: str, status: str, within: float = 90
) -> dict[str, Any]:
    async def there() -> dict[str, Any] | None:
        body = await h.shipment(http, shop, shipment_id)
        assert body["status"] in ("held", "pending", "confirming", status), body  # never failed, voided...
        return body if body["status"] == status else None

    found: dict[str, Any] = await wait_for(there, within, f"shipment {shipment_id} {status}", every=0.3)
    return found


def _live(shipment: dict[str, Any]) -> list[str]:
    """The numbers of the shipment's live parcels, parcel 1 first."""
    return [p["number"] for p in sorted(shipment["parcels"], key=lambda p: p["seq"]) if p["status"] == "live"]


def _released_by(shipment: dict[str, Any]) -> list[str]:
    """Why the shipment was released, each time (shipping's history: 'released: <why>')."""
    return [e["event"].removeprefix("released: ") for e in shipment["history"] if e["event"].startswith("released")]


def _released_by_collection_of(shipment: dict[str, Any]) -> str | None:
    """The number whose collection released the shipment (released once, by that alone), else None."""
    (why,) = _released_by(shipment)
    found = re.fullmatch(r"parcel (\S+) collected \(\w+\)", why)
    return found[1] if found else None


async def _alerts(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str, kind: str) -> list[dict[str, Any]]:
    resp = await http.get(
        f"{h.shipping}/v1/order-alerts", params={"order_id": order_id, "kind": kind}, headers=shop.headers
    )
    resp.raise_for_status()
    found: list[dict[str, Any]] = resp.json()["data"]
    return found


async def _put_receiver(
    h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str, receiver: dict[str, str]
) -> httpx.Response:
    return await http.put(f"{h.shipping}/v1/orders/{order_id}/receiver", json=receiver, headers=shop.headers)


async def _waybill_statuses(h: Harness, http: httpx.AsyncClient, shop: Shop, numbers: list[str]) -> set[str]:
    return {(await h.waybill(http, shop, n))["status"] for n in numbers}


async def _label_text(h: Harness, http: httpx.AsyncClient, shop: Shop, path: str) -> tuple[str, int]:
    """The text of the label PDF at ``path`` (every page, whitespace removed: lines wrap anywhere) and the print
    count the answer gives."""
    import pypdf

    resp = await http.get(f"{h.shipping}{path}", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(resp.content)).pages)
    return _squeezed(text), int(resp.headers["X-Label-Prints"])


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _shows(text: str, *parts: str) -> None:
    missing = [p for p in parts if p not in text]
    assert not missing, (missing, text)


def _shows_receiver(text: str, receiver: dict[str, str]) -> None:
    """The label names the receiver, in clear or as a privacy label masks it (李雷 -> 李*, 139****5678): the
    names here are all of a one-character surname."""
    name, phone = receiver["name"], receiver["phone"]
    assert name in text or f"{name[0]}{'*' * (len(name) - 1)}" in text, (name, text)
    assert phone in text or f"{phone[:3]}****{phone[-4:]}" in text, (phone, text)


# -- the outside world --------------------------------------------------------------------------------------


async def _courier(h: Harness, http: httpx.AsyncClient, number: str) -> dict[str, Any]:
    """One number as the sandbox's courier knows it: ``state`` (issued, discarded, collected) and ``recipient``."""
    resp = await http.get(f"{h.sandbox}/control/courier/numbers/{number}")
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


def _waybill_recipient(receiver: dict[str, str]) -> dict[str, Any]:
    """A receiver as the courier's waybill records it (TMS_WAYBILL_UPDATE's recipient)."""
    return {
        "name": receiver["name"],
        "phone": receiver["phone"],
        "address": {
            "province": receiver["state"],
            "city": receiver["city"],
            "district": receiver["district"],
            "detail": receiver["address"],
        },
    }


async def _couriers_hold(h: Harness, http: httpx.AsyncClient, numbers: list[str], receiver: dict[str, str]) -> None:
    """The courier's waybill of each number records ``receiver`` (the update is a shipping job, then an
    allocation call: it lands a moment after our answer)."""
    wanted = _waybill_recipient(receiver)

    async def told() -> bool:
        return all([(await _courier(h, http, n))["recipient"] == wanted for n in numbers])

    await wait_for(told, 60, f"the courier told the new receiver of {numbers}", every=0.3)
    for n in numbers:
        assert (await _courier(h, http, n))["state"] == "issued", n  # still not collected: the update could land


async def _untold(h: Harness, http: httpx.AsyncClient, tid: str, sn: str) -> None:
    """Neither marketplace has heard of a shipment: the Taobao trade waits for the seller, the Pinduoduo order
    for its shipment, each with no number."""
    trade = await h.trade(http, tid)
    assert (trade["status"], trade["consignments"], trade["shipping"]) == ("WAIT_SELLER_SEND_GOODS", [], None), trade
    held = await h.pdd_order(http, sn)
    assert (held["order_status"], held["tracking_number"], held["extra_delivery_list"]) == (1, "", []), held


async def _told(h: Harness, http: httpx.AsyncClient, tid: str, tb_numbers: list[str], sn: str, pdd_number: str) -> None:
    """The trade consigned in one consignment of every Taobao number (the first its main package), the Pinduoduo
    order shipped with its number."""
    trade = await h.trade(http, tid)
    assert trade["status"] == "WAIT_BUYER_CONFIRM_GOODS", trade
    (consignment,) = trade["consignments"]
    assert [(p["company_code"], p["out_sid"]) for p in consignment["packages"]] == [("ZTO", n) for n in tb_numbers]
    assert trade["shipping"]["out_sid"] == tb_numbers[0], trade
    held = await h.pdd_order(http, sn)
    assert (held["order_status"], held["tracking_number"], held["logistics_id"]) == (2, pdd_number, ZTO_LOGISTICS_ID)


async def _messages_delivered(h: Harness, http: httpx.AsyncClient) -> None:
    """Every message either marketplace published so far acknowledged (stored and acted on by us)."""

    async def taobao_delivered() -> bool:
        stats = (await http.get(f"{h.sandbox}/control/marketplace/messages/stats")).json()
        return bool(stats["pending"] == 0)

    await wait_for(taobao_delivered, 60, "Taobao messages delivered")
    await h.pdd_messages_delivered(http)


# -- 1. held until the courier collects ---------------------------------------------------------------------


async def test_a_held_shipment_is_confirmed_once_the_courier_collects_and_its_address_is_then_fixed(
    own_harness: Harness,
) -> None:
    h = own_harness
    async with h.client() as http:
        shop, _, mall = await _shop(h, http, "揽收回传店")
        settings = await _settings(h, http, shop, confirm_mode="at_collection")
        assert (settings["confirm_mode"], settings["confirm_time"]) == ("at_collection", None)
        ((tid, tb_order),) = await h.taobao_orders(http, shop, 1)
        ((sn, pdd_order),) = await h.pdd_orders_taken_in(http, shop, mall["mall_id"], 1)
        receivers = {o: (await h.order(http, shop, o))["receiver"] for o in (tb_order, pdd_order)}

        # The worker waits while the journeys are forced (before tracking subscribes the numbers): the Taobao
        # order's second parcel is never collected, every other parcel is.
        h.kill("shipping-worker")
        try:
            tb = await h.ship(http, shop, tb_order, parcel_count=2)
            pdd = await h.ship(http, shop, pdd_order)
            (tb1, tb2), (p1,) = _live(tb), _live(pdd)
            await h.journey_kinds(http, {tb1: "normal", tb2: "never_collected", p1: "normal"})
        finally:
            h.start(["shipping-worker"])
        every = [tb1, tb2, p1]
        assert len(set(every)) == 3
        for shipment in (tb, pdd):
            assert (shipment["status"], shipment["confirm_mode"], shipment["confirmed_at"]) == (
                "held",
                "at_collection",
                None,
            ), shipment

        # Held: followed by tracking, the labels printable, the marketplaces untold, the numbers not shipped.
        await h.followed(http, shop, tb_order, [tb1, tb2])
        await h.followed(http, shop, pdd_order, [p1])
        text, _ = await _label_text(h, http, shop, f"/v1/shipments/{tb['id']}/label.pdf")
        _shows(text, tb1, tb2)
        await asyncio.sleep(1)  # time for a wrong confirmation job to have run, had one been queued
        for shipment in (tb, pdd):
            assert (await h.shipment(http, shop, shipment["id"]))["status"] == "held"
        for order_id in (tb_order, pdd_order):
            assert (await h.order(http, shop, order_id))["status"] == "label_printed"
        await _untold(h, http, tid, sn)
        assert "shipped" not in await _waybill_statuses(h, http, shop, every)
        for n in every:
            assert (await _courier(h, http, n))["state"] == "issued", n

        # The courier collects (the first mile's 揽收 in the sandbox's journeys). The worker is down, so the
        # release is seen before its confirmation runs.
        h.kill("shipping-worker")
        try:
            await h.advance(http, PAST_THE_FIRST_MILE_S)
            tb = await _becomes(h, http, shop, tb["id"], "pending")
            pdd = await _becomes(h, http, shop, pdd["id"], "pending")
            assert [p["collected_at"] is not None for p in tb["parcels"]] == [True, False], tb
            assert pdd["parcels"][0]["collected_at"] is not None, pdd
            assert _released_by_collection_of(tb) == tb1, tb["history"]
            assert _released_by_collection_of(pdd) == p1, pdd["history"]
            truths = await h.truths(http, every)
            assert [truths[n]["events_happened"] > 0 for n in every] == [True, False, True], truths
            assert [(await _courier(h, http, n))["state"] for n in every] == ["collected", "issued", "collected"]
            await _untold(h, http, tid, sn)  # released, not confirmed yet

            # Now the buyers move: on both marketplaces (which allow it, having shipped nothing), then the seller
            # tries over REST. Each refused: collected, the parcel goes where its label says.
            changed = (await http.post(f"{h.sandbox}/control/marketplace/trades/{tid}/address")).json()
            assert changed["receiver_address"] != receivers[tb_order]["address"], changed
            changed = (await http.post(f"{h.sandbox}/control/pinduoduo/orders/{sn}/address")).json()
            assert changed["receiver_address"] != receivers[pdd_order]["address"], changed
            await _messages_delivered(h, http)
            for order_id in (tb_order, pdd_order):
                alerts = await _alerts(h, http, shop, order_id, "address_change_after_collection")
                assert [a["state"] for a in alerts] == ["open"], alerts
            moved = _receiver("韩梅梅", "13912345678", "文三路90号3幢501室")
            for order_id, collected in ((tb_order, [tb1]), (pdd_order, [p1])):
                resp = await _put_receiver(h, http, shop, order_id, moved)
                assert resp.status_code == 409, resp.text
                error = resp.json()["error"]
                assert (error["code"], error["details"]["collected"]) == ("already_collected", collected), error
        finally:
            h.start(["shipping-worker"])
        for order_id in (tb_order, pdd_order):
            order = await h.order(http, shop, order_id)
            assert order["receiver"] == receivers[order_id], order  # neither change taken
            refusals = [f["message"] for f in order["flags"] if f["kind"] == "address_change_refused"]
            assert len(refusals) == 2, order["flags"]  # by the marketplace's message, then over REST
            _shows(refusals[0], "message")
            _shows(refusals[1], "REST")
            alerts = await _alerts(h, http, shop, order_id, "address_change_after_collection")
            assert [a["state"] for a in alerts] == ["open"], alerts  # one alert, however many refusals
        for n in every:
            assert (await _courier(h, http, n))["recipient"] is None, n  # no courier was told anything

        # The worker back: the confirmations run; the marketplaces hold every number, the uncollected one too.
        tb = await _becomes(h, http, shop, tb["id"], "confirmed")
        pdd = await _becomes(h, http, shop, pdd["id"], "confirmed")
        assert (_live(tb), _live(pdd)) == ([tb1, tb2], [p1])
        await _told(h, http, tid, [tb1, tb2], sn, p1)
        await h.waybills_become(http, shop, every, "shipped")
        for order_id in (tb_order, pdd_order):
            assert (await h.order(http, shop, order_id))["status"] in ("shipped", "in_transit")


# -- 2. released at the shop's confirmation time ------------------------------------------------------------


async def test_held_shipments_are_confirmed_at_the_shops_confirmation_time_not_before(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, stores, mall = await _shop(h, http, "定时回传店")
        for store in stores.values():
            await _store_mode(h, http, shop, store, "at_collection")  # the shop itself confirms at print
        ((tid, tb_order),) = await h.taobao_orders(http, shop, 1)
        ((sn, pdd_order),) = await h.pdd_orders_taken_in(http, shop, mall["mall_id"], 1)

        # The next whole minute in the shop's zone, at least 15 s away (the shipments are made before it).
        local = datetime.now(ZoneInfo(ZONE))
        due = (local + timedelta(seconds=15)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        settings = await _settings(h, http, shop, time_zone=ZONE, confirm_time=due.strftime("%H:%M"))
        assert (settings["confirm_mode"], settings["confirm_time"], settings["time_zone"]) == (
            "at_print",
            due.strftime("%H:%M"),
            ZONE,
        ), settings
        tb = await h.ship(http, shop, tb_order, parcel_count=2)
        pdd = await h.ship(http, shop, pdd_order)
        assert datetime.now(UTC) < due, "shipped after the confirmation time: it would be due tomorrow"
        assert (tb["status"], pdd["status"]) == ("held", "held"), (tb, pdd)
        tb_numbers, (p1,) = _live(tb), _live(pdd)

        # Held until the minute comes: looked at now, and again just before it.
        for wake in (datetime.now(UTC), due - timedelta(seconds=2)):
            await asyncio.sleep(max(0.0, (wake - datetime.now(UTC)).total_seconds()))
            for shipment in (tb, pdd):
                assert (await h.shipment(http, shop, shipment["id"]))["status"] == "held"
            await _untold(h, http, tid, sn)
        assert datetime.now(UTC) < due, "looked at after the confirmation time"

        # Then the sweep (at most SWEEP_EVERY_S later) releases both, and the marketplaces hold the numbers.
        tb = await _becomes(h, http, shop, tb["id"], "confirmed", within=SWEEP_EVERY_S + 60)
        pdd = await _becomes(h, http, shop, pdd["id"], "confirmed", within=60)
        for shipment in (tb, pdd):
            assert _released_by(shipment) == ["the shop's confirmation time"], shipment["history"]
            released = next(e["at"] for e in shipment["history"] if e["event"].startswith("released"))
            assert datetime.fromisoformat(released) >= due, (released, due)
            assert datetime.fromisoformat(shipment["confirmed_at"]) >= due, shipment
            assert all(p["collected_at"] is None for p in shipment["parcels"]), shipment
        # Not by a collection: the courier has collected nothing.
        for n in [*tb_numbers, p1]:
            assert (await _courier(h, http, n))["state"] == "issued", n
        await _told(h, http, tid, tb_numbers, sn, p1)
        await h.waybills_become(http, shop, [*tb_numbers, p1], "shipped")
        await h.followed(http, shop, tb_order, tb_numbers)
        await h.followed(http, shop, pdd_order, [p1])


# -- 3. ship-by passed while held ---------------------------------------------------------------------------


async def test_a_held_shipment_past_its_ship_by_alerts_and_stays_held_until_collected(own_harness: Harness) -> None:
    h = own_harness
    h.env["SHIPPING_SHIP_BY_DEFAULT_TAOBAO_H"] = str(SHIP_BY_HOURS)
    h.restart("shipping")  # takes the Taobao messages in
    async with h.client() as http:
        shop, _, mall = await _shop(h, http, "超时未揽收店")
        await _settings(h, http, shop, confirm_mode="at_collection")
        ((tid, tb_order),) = await h.taobao_orders(http, shop, 1)
        ((sn, pdd_order),) = await h.pdd_orders_taken_in(
            http, shop, mall["mall_id"], 1, ship_within_hours=SHIP_BY_HOURS
        )
        last_ship = datetime.strptime((await h.pdd_order(http, sn))["last_ship_time"], "%Y-%m-%d %H:%M:%S")
        pdd_ship_by = datetime.fromisoformat((await h.order(http, shop, pdd_order))["ship_by"])
        assert pdd_ship_by == last_ship.replace(tzinfo=BEIJING), (pdd_ship_by, last_ship)

        h.kill("shipping-worker")
        try:
            tb = await h.ship(http, shop, tb_order)
            pdd = await h.ship(http, shop, pdd_order)
            numbers = {tb_order: _live(tb)[0], pdd_order: _live(pdd)[0]}
            await h.journey_kinds(http, dict.fromkeys(numbers.values(), "normal"))
        finally:
            h.start(["shipping-worker"])
        assert (tb["status"], pdd["status"]) == ("held", "held")
        # The Taobao order's deadline: the shortened default after the trade's payment.
        paid = datetime.strptime((await h.trade(http, tid))["pay_time"], "%Y-%m-%d %H:%M:%S")
        tb_ship_by = datetime.fromisoformat((await h.order(http, shop, tb_order))["ship_by"])
        expected = paid.replace(tzinfo=BEIJING) + timedelta(hours=SHIP_BY_HOURS)
        assert abs(tb_ship_by - expected) < timedelta(milliseconds=1), (tb_ship_by, paid)
        for order_id, number in numbers.items():
            await h.followed(http, shop, order_id, [number])

        # The sweep finds them held past their ship-by: one alert each, naming the number.
        async def alerted() -> dict[str, dict[str, Any]] | None:
            found = {o: await _alerts(h, http, shop, o, "not_collected_by_ship_by") for o in numbers}
            return {o: a[0] for o, a in found.items()} if all(found.values()) else None

        opened = await wait_for(alerted, SWEEP_EVERY_S + 30, "not_collected_by_ship_by alerts", every=0.5)
        for order_id, alert in opened.items():
            assert alert["state"] == "open", alert
            _shows(alert["message"], numbers[order_id], "未揽收")

        # Through the next sweep too: still held, still one alert each, neither marketplace told.
        last = max(datetime.fromisoformat(a["opened_at"]) for a in opened.values()).timestamp()
        next_sweep = (last // SWEEP_EVERY_S + 1) * SWEEP_EVERY_S
        await asyncio.sleep(max(0.0, next_sweep - time.time()) + 3)
        for shipment in (tb, pdd):
            assert (await h.shipment(http, shop, shipment["id"]))["status"] == "held"
        for order_id in numbers:
            alerts = await _alerts(h, http, shop, order_id, "not_collected_by_ship_by")
            assert [(a["id"], a["state"]) for a in alerts] == [(opened[order_id]["id"], "open")], alerts
            assert (await h.order(http, shop, order_id))["status"] == "label_printed"
        await _untold(h, http, tid, sn)
        assert "shipped" not in await _waybill_statuses(h, http, shop, list(numbers.values()))

        # Collected at last: confirmed, the marketplaces told, the alerts resolved.
        await h.advance(http, PAST_THE_FIRST_MILE_S)
        for shipment in (tb, pdd):
            done = await _becomes(h, http, shop, shipment["id"], "confirmed")
            assert _released_by_collection_of(done) == done["number"], done["history"]
        await _told(h, http, tid, [numbers[tb_order]], sn, numbers[pdd_order])
        for order_id in numbers:
            alerts = await _alerts(h, http, shop, order_id, "not_collected_by_ship_by")
            assert [a["state"] for a in alerts] == ["resolved"], alerts
            assert (await _courier(h, http, numbers[order_id]))["state"] == "collected"


# -- 4. the address changed before collection ---------------------------------------------------------------


async def test_an_address_changed_before_collection_keeps_the_numbers_and_reaches_courier_and_label(
    harness: Harness,
) -> None:
    h = harness
    async with h.client() as http:
        shop, stores, mall = await _shop(h, http, "改址店")
        (tb_a, tb_b) = await h.taobao_orders(http, shop, 2)
        (pdd_a, pdd_b) = await h.pdd_orders_taken_in(http, shop, mall["mall_id"], 2)

        # Over REST, orders confirmed at print (shipped on the marketplace, not collected).
        tb = await _becomes(h, http, shop, (await h.ship(http, shop, tb_a[1], parcel_count=2))["id"], "confirmed")
        pdd = await _becomes(h, http, shop, (await h.ship(http, shop, pdd_a[1]))["id"], "confirmed")
        numbers = {tb_a[1]: _live(tb), pdd_a[1]: _live(pdd)}
        await _told(h, http, tb_a[0], numbers[tb_a[1]], pdd_a[0], numbers[pdd_a[1]][0])
        new = {
            tb_a[1]: _receiver("李雷", "13912345678", "文三路90号3幢501室"),
            pdd_a[1]: _receiver("韩梅梅", "13812345679", "天目山路176号7楼"),
        }
        for shipment in (tb, pdd):
            order = await h.order(http, shop, shipment["order_id"])
            old = _squeezed(order["receiver"]["address"])
            text, prints = await _label_text(h, http, shop, f"/v1/shipments/{shipment['id']}/label.pdf")
            assert (old in text, prints) == (True, 1), text

            resp = await _put_receiver(h, http, shop, order["id"], new[order["id"]])
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert {k: body["receiver"][k] for k in new[order["id"]]} == new[order["id"]], body
            assert body["flags"][-1]["kind"] == "label_outdated", body["flags"]
            assert all(n in body["flags"][-1]["message"] for n in numbers[order["id"]]), body["flags"]
            assert (body["status"], body["number"]) == ("shipped", numbers[order["id"]][0]), body

            await _couriers_hold(h, http, numbers[order["id"]], new[order["id"]])
            text, prints = await _label_text(h, http, shop, f"/v1/shipments/{shipment['id']}/label.pdf")
            receiver = new[order["id"]]
            assert prints == 2
            _shows(text, receiver["address"], *numbers[order["id"]])
            _shows_receiver(text, receiver)
            assert old not in text, text
            after = await h.shipment(http, shop, shipment["id"])
            assert (after["status"], _live(after)) == ("confirmed", numbers[order["id"]]), after
        text, _ = await _label_text(h, http, shop, f"/v1/shipments/{tb['id']}/parcels/2/label.pdf")
        _shows(text, new[tb_a[1]]["address"], numbers[tb_a[1]][1])
        # The marketplaces keep the same numbers; allocation counts them shipped.
        await _told(h, http, tb_a[0], numbers[tb_a[1]], pdd_a[0], numbers[pdd_a[1]][0])
        await h.waybills_become(http, shop, [*numbers[tb_a[1]], *numbers[pdd_a[1]]], "shipped")

        # Through the marketplace: the stores now hold shipments until collection, so the buyer may still move
        # (nothing shipped there); each channel's address-changed message reaches us.
        for store in stores.values():
            await _store_mode(h, http, shop, store, "at_collection")
        held = {
            tb_b[1]: await h.ship(http, shop, tb_b[1], parcel_count=2),
            pdd_b[1]: await h.ship(http, shop, pdd_b[1]),
        }
        assert {s["status"] for s in held.values()} == {"held"}, held
        for shipment in held.values():
            await _label_text(h, http, shop, f"/v1/shipments/{shipment['id']}/label.pdf")  # printed once
        moved = {
            tb_b[1]: _receiver("王芳", "13712345670", "古墩路701号紫金港商务楼"),
            pdd_b[1]: _receiver("赵强", "13612345671", "黄龙路5号恒励大厦"),
        }
        trade = await http.post(
            f"{h.sandbox}/control/marketplace/trades/{tb_b[0]}/address",
            json={"name": moved[tb_b[1]]["name"], "mobile": moved[tb_b[1]]["phone"]}
            | {k: moved[tb_b[1]][k] for k in ("state", "city", "district", "address")},
        )
        assert trade.status_code == 200, trade.text
        r = moved[pdd_b[1]]
        order_sn = await http.post(
            f"{h.sandbox}/control/pinduoduo/orders/{pdd_b[0]}/address",
            json={"receiver_name": r["name"], "receiver_phone": r["phone"], "province": r["state"]}
            | {"city": r["city"], "town": r["district"], "address": r["address"]},
        )
        assert order_sn.status_code == 200, order_sn.text
        await _messages_delivered(h, http)
        for order_id, shipment in held.items():

            async def updated(order_id: str = order_id) -> dict[str, Any] | None:
                order = await h.order(http, shop, order_id)
                return order if order["receiver"]["address"] == moved[order_id]["address"] else None

            order = await wait_for(updated, 30, f"order {order_id} moved by its marketplace message")
            assert {k: order["receiver"][k] for k in moved[order_id]} == moved[order_id], order
            assert order["flags"][-1]["kind"] == "label_outdated", order["flags"]
            assert "message" in order["flags"][-1]["message"], order["flags"]
            await _couriers_hold(h, http, _live(shipment), moved[order_id])
            text, prints = await _label_text(h, http, shop, f"/v1/shipments/{shipment['id']}/label.pdf")
            assert prints == 2
            _shows(text, moved[order_id]["address"], *_live(shipment))
            _shows_receiver(text, moved[order_id])
            after = await h.shipment(http, shop, shipment["id"])
            assert (after["status"], _live(after)) == ("held", _live(shipment)), after
        # The marketplaces hold the new receivers (what our orders now say) and still no number.
        trade_view = await h.trade(http, tb_b[0])
        assert (trade_view["receiver_name"], trade_view["receiver_address"]) == (
            moved[tb_b[1]]["name"],
            moved[tb_b[1]]["address"],
        )
        pdd_view = await h.pdd_order(http, pdd_b[0])
        assert (pdd_view["receiver_name"], pdd_view["receiver_address"]) == (r["name"], r["address"])
        await _untold(h, http, tb_b[0], pdd_b[0])
