"""Scenario 6: parcels (一单多包) and voids (回收单号) under faults, over the real processes.

6a. The shipping API SIGKILLed while clients ship orders in three parcels each (every order's three numbers come
    from one allocation call): each client asks again, with the same body, until it has an answer. A ship the
    kill cut short after allocation answered is asked again under the same parcel references, so allocation hands
    back the same numbers: afterwards no number is lost (every number allocation holds allocated or printed for the
    shop is a live parcel's) and none doubled; each order has exactly one live shipment, of three distinct numbers,
    all three on its Taobao trade.
6b. A void racing the courier's collection: shipped parcels not yet collected (the shop's own orders, confirmed to
    its systems, followed by the tracking provider) are voided while the courier collects them. The collection
    is the sandbox's own (its clock jumped past the journeys' 揽收: the courier's number becomes collected and the
    provider pushes the news to tracking, which tells shipping), the voids fired at random moments around it.
    Exactly one wins per shipment: voided (shipping never records its parcels collected) or collected (the void
    refused with already_collected, the shipment confirmed). And the books agree: a voided number's void says
    what the courier's number state is (cancelled: discarded, or collected), it is credited once when cancelled
    and never when collected; a number whose void was refused has no void and stays shipped.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Shop, wait_for
from tests.faults import report
from tests.faults.flows import env_int, shop_with_orders
from tests.faults.invariants import (
    ALL,
    assert_invariants,
    marketplace_shipped_as_confirmed,
    numbers_accounted_for,
    voids_agree_with_couriers,
)
from tests.faults.load import UNAVAILABLE, Answers, assert_error_shape_503
from tests.faults.system import FaultSystem, since
from tests.faults.tracking_flow import real_time
from tests.support import ADMIN_KEY, bearer

pytestmark = pytest.mark.faults

KILL_ORDERS = env_int("FAULTS_PARCEL_KILL_ORDERS", 200)
KILL_CLIENTS = env_int("FAULTS_PARCEL_KILL_CLIENTS", 8)
PARCELS = 3
RACES = env_int("FAULTS_VOID_RACES", 40)
# The voids are fired at random moments over this many seconds, the collection halfway. A void
# well before it reaches the courier first (cancelled, credited); one just before or after it races at the
# courier (the courier's cancellation against its pick-up) or in shipping (the void against the collection, which
# reaches shipping a push, a tracking batch and a notification after the courier has the parcel).
RACE_SPREAD_S = float(os.environ.get("FAULTS_VOID_RACE_SPREAD_S", "5"))
COLLECTION_AT_S = RACE_SPREAD_S / 2
# Past every journey's collection (a normal journey's 揽收 comes 0.5 to 6 simulated hours after its subscription).
COLLECTION_S = 6.5 * 3600
RECEIVER = {
    "name": "赵六",
    "phone": "13712345678",
    "state": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "address": "文三路 90 号",
}


async def ship_until_answered(
    http: httpx.AsyncClient, url: str, answers: Answers, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, bool]:
    """The same ship again until it is answered (a dropped or refused connection, a 503: asked again), and
    whether it had to be asked again (a ship answered 409 invalid_transition only after a retry is one the kill
    cut off after it committed)."""
    deadline = time.monotonic() + 300
    retried = False
    while True:
        try:
            resp = await http.post(url, json=body, headers=headers)
        except httpx.TransportError:
            answers.transport_errors += 1
        else:
            answers.statuses[resp.status_code] += 1
            if resp.status_code != UNAVAILABLE:
                return resp, retried
            answers.unavailable(resp)
        retried = True
        if time.monotonic() > deadline:
            raise AssertionError(f"POST {url} not answered within 300 s")
        await asyncio.sleep(0.2)


async def shipments_of(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, order_id: str) -> list[dict[str, Any]]:
    resp = await http.get(f"{s.shipping}/v1/shipments", params={"order_id": order_id}, headers=shop.headers)
    resp.raise_for_status()
    found: list[dict[str, Any]] = resp.json()["data"]
    return found


def live_numbers(shipment: dict[str, Any]) -> list[str]:
    return [p["number"] for p in shipment["parcels"] if p["status"] == "live"]


async def test_shipping_api_killed_while_orders_ship_in_three_parcels(
    system: FaultSystem, request: pytest.FixtureRequest
) -> None:
    s = system
    name = "6a. shipping API SIGKILL while orders ship in three parcels"
    async with s.client() as http:
        shop, tids, order_ids = await shop_with_orders(s, http, KILL_ORDERS, package="ZTO-1000")
        queue = list(reversed(order_ids))
        answers = Answers()
        told: dict[str, list[str]] = {}  # order -> the numbers its ship's answer listed
        after_retry: list[str] = []  # orders whose ship was answered 409 after a retry: committed before the kill
        body = {"carrier": "ZTO", "parcel_count": PARCELS}

        async def client() -> None:
            while queue:
                order_id = queue.pop()
                url = f"{s.shipping}/v1/orders/{order_id}/ship"
                resp, retried = await ship_until_answered(http, url, answers, body, shop.headers)
                if resp.status_code == 202:
                    shipment = resp.json()
                    assert shipment["order_id"] == order_id, shipment
                    answers.success(order_id, shipment["id"])
                    told[order_id] = live_numbers(shipment)
                elif resp.status_code == 409 and retried and resp.json()["error"]["code"] == "invalid_transition":
                    after_retry.append(order_id)
                else:
                    answers.unexpected.append((resp.status_code, resp.text[:300]))

        tasks = [asyncio.create_task(client()) for _ in range(KILL_CLIENTS)]

        async def some_shipped() -> bool:
            return len(answers.results) >= KILL_ORDERS // 5

        await wait_for(some_shipped, 120, "some orders shipped", every=0.02)
        s.kill("shipping")
        killed, killed_at = time.monotonic(), datetime.now(UTC)
        shipped_at_kill = len(answers.results)
        await asyncio.sleep(1)
        await asyncio.to_thread(s.start, ["shipping"])
        started = time.monotonic()
        await asyncio.gather(*tasks)
        all_answered_s = since(started)
        interrupted = answers.transport_errors + len(answers.unavailable_bodies)
        assert answers.unexpected == [], answers.unexpected
        assert_error_shape_503(answers)
        assert interrupted > 0, "no ship was cut off by the kill: nothing was tested"
        assert len(told) + len(after_retry) == KILL_ORDERS

        # Each order: exactly one live shipment, of three distinct numbers (the ones its answer listed), and no
        # number on two orders; every shipment confirmed in the end (its job survived the kill in the outbox).
        gate = asyncio.Semaphore(16)

        async def confirmed_shipments(order_id: str) -> list[dict[str, Any]]:
            async def settled() -> list[dict[str, Any]] | None:
                async with gate:
                    found = await shipments_of(s, http, shop, order_id)
                live = [sh for sh in found if sh["status"] in ("pending", "confirming", "confirmed")]
                return found if live and all(sh["status"] == "confirmed" for sh in live) else None

            found: list[dict[str, Any]] = await wait_for(settled, 300, f"order {order_id} confirmed", every=0.5)
            return found

        per_order = dict(zip(order_ids, await asyncio.gather(*map(confirmed_shipments, order_ids)), strict=True))
        numbers: dict[str, list[str]] = {}
        for order_id, found in per_order.items():
            live = [sh for sh in found if sh["status"] == "confirmed"]
            assert len(live) == 1, (order_id, found)
            numbers[order_id] = live_numbers(live[0])
            assert len(set(numbers[order_id])) == PARCELS, (order_id, live[0])
            if order_id in told:
                assert numbers[order_id] == told[order_id], (order_id, told[order_id], live[0])
        every = [n for ns in numbers.values() for n in ns]
        assert len(set(every)) == PARCELS * KILL_ORDERS

        # Allocation holds exactly these numbers for the shop, each for its order's parcel reference, shipped; none
        # allocated or printed is left over (lost to the pool).
        held = await s.sql(
            "SELECT w.number, w.order_ref, w.status FROM allocation.waybills w "
            "JOIN allocation.pools p ON p.id = w.pool_id WHERE p.shop_id = $1 AND w.status IN (1, 2, 3)",
            shop.id,
        )
        by_ref = {r["order_ref"]: r["number"] for r in held}
        assert len(by_ref) == len(held) == PARCELS * KILL_ORDERS, Counter(r["status"] for r in held)
        tid_of = dict(zip(order_ids, tids, strict=True))
        for order_id, ns in numbers.items():
            tid = tid_of[order_id]
            assert [by_ref.get(ref) for ref in (tid, f"{tid}:P2", f"{tid}:P3")] == ns, (order_id, ns)

        async def all_shipped() -> bool:
            rows = await s.sql(
                "SELECT count(*) FILTER (WHERE w.status <> 3) AS other FROM allocation.waybills w "
                "JOIN allocation.pools p ON p.id = w.pool_id WHERE p.shop_id = $1 AND w.status IN (1, 2, 3)",
                shop.id,
            )
            return bool(rows[0]["other"] == 0)

        await wait_for(all_shipped, 120, "every number shipped in allocation", every=0.5)
        # Ships the kill cut off after allocation had answered: numbers allocated before it, their shipment made
        # after (the retry was handed the same numbers).
        recovered = await s.sql(
            "SELECT count(DISTINCT s.id) AS n FROM shipping.shipments s "
            "JOIN shipping.parcels l ON l.shipment_id = s.id JOIN allocation.waybills w ON w.number = l.number "
            "WHERE s.shop_id = $1 AND w.allocated_at < $2 AND s.created_at > $2",
            shop.id,
            killed_at,
        )

        report.record(
            request.node.nodeid,
            name,
            orders=KILL_ORDERS,
            parcels=len(every),
            clients=KILL_CLIENTS,
            answered_at_kill=shipped_at_kill,
            down_s=round(started - killed, 1),
            every_ship_answered_after_start_s=all_answered_s,
            ship_retries=interrupted,
            answered_409_after_retry=len(after_retry),
            allocated_before_kill_shipped_after=recovered[0]["n"],
        )
    checks = [*ALL, marketplace_shipped_as_confirmed(shop.id), numbers_accounted_for(shop.id)]
    report.record(request.node.nodeid, name, invariants_settled_s=await assert_invariants(s, checks=checks))


async def own_orders(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, count: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]

    async def create(i: int) -> str:
        body = {"external_id": f"race-{tag}-{i}", "receiver": RECEIVER, "weight_g": 800}
        resp = await http.post(f"{s.shipping}/v1/orders", json=body, headers=shop.headers)
        assert resp.status_code == 201, resp.text
        order_id: str = resp.json()["id"]
        return order_id

    return list(await asyncio.gather(*(create(i) for i in range(count))))


async def test_a_void_racing_the_courier_s_collection_has_one_winner_and_the_books_agree(
    system: FaultSystem, request: pytest.FixtureRequest
) -> None:
    s = system
    name = "6b. voids racing the courier's collection"
    async with s.client() as http:
        shop = await s.ready_shop(http, (("ZTO", "ZTO-1000"),))
        order_ids = await own_orders(s, http, shop, RACES)
        shipments: dict[str, dict[str, Any]] = {}
        for i, order_id in enumerate(order_ids):
            # Every third shipment in two parcels: one of them collected is enough to refuse the void.
            resp = await http.post(
                f"{s.shipping}/v1/orders/{order_id}/ship",
                json={"carrier": "ZTO", "parcel_count": 2 if i % 3 == 0 else 1},
                headers=shop.headers,
            )
            assert resp.status_code == 202, resp.text
            shipments[resp.json()["id"]] = resp.json()
        numbers = {n: sid for sid, sh in shipments.items() for n in live_numbers(sh)}
        # Journeys that start with a collection (set as soon as the numbers are known, before tracking subscribes).
        kinds = {"kinds": dict.fromkeys(numbers, "normal")}
        (await http.put(f"{s.sandbox}/control/tracking/kinds", json=kinds)).raise_for_status()

        # Confirmed to the shop's systems, followed by the provider, and not collected yet.
        async def followed() -> dict[str, dict[str, Any]] | None:
            for sid in shipments:
                if shipments[sid]["status"] != "confirmed":
                    resp = await http.get(f"{s.shipping}/v1/shipments/{sid}", headers=shop.headers)
                    shipments[sid] = resp.json()
            if any(sh["status"] != "confirmed" for sh in shipments.values()):
                return None
            resp = await http.get(
                f"{s.sandbox}/control/tracking/parcels", params={"number": list(numbers), "include_events": "false"}
            )
            truths = {t["number"]: t for t in resp.json()}
            return truths if all(t["subscribed"] for t in truths.values()) else None

        truths = await wait_for(followed, 300, "every parcel confirmed and followed", every=0.5)
        assert all(t["events_happened"] == 0 for t in truths.values()), truths
        journey_kinds = Counter(t["kind"] for t in truths.values())

        # The race: the courier collects every parcel at once (the sandbox's clock past the journeys' 揽收; tracking's
        # clock set to the same time), while the voids are fired at random moments around it.
        rng = random.Random(RACES)
        fired = time.monotonic()

        async def collect() -> None:
            await asyncio.sleep(COLLECTION_AT_S)
            clock = (await http.post(f"{s.sandbox}/control/clock/advance", json={"seconds": COLLECTION_S})).json()
            ours = await http.put(
                f"{s.tracking}/internal/v1/clock", json={"now": clock["now"], "factor": 1.0}, headers=bearer(ADMIN_KEY)
            )
            assert ours.status_code == 200, ours.text

        async def void(sid: str) -> tuple[str, httpx.Response]:
            await asyncio.sleep(rng.uniform(0, RACE_SPREAD_S))
            resp = await http.post(
                f"{s.shipping}/v1/shipments/{sid}/void", json={"reason": "买家退款 (race)"}, headers=shop.headers
            )
            return sid, resp

        try:
            collecting = asyncio.create_task(collect())
            answered = await asyncio.gather(*(void(sid) for sid in shipments))
            await collecting
            race_s = since(fired)
            won: dict[str, str] = {}
            for sid, resp in answered:
                if resp.status_code == 200:
                    assert resp.json()["status"] == "voided", resp.text
                    won[sid] = "void"
                else:
                    assert resp.status_code == 409, resp.text
                    assert resp.json()["error"]["code"] == "already_collected", resp.text
                    won[sid] = "collection"

            # Tracking has passed on everything the provider pushed.
            async def pushed() -> bool:
                resp = await http.get(
                    f"{s.sandbox}/control/tracking/parcels", params={"number": list(numbers), "include_events": "false"}
                )
                # (A journey the override came too late for may never be collected: nothing to push.)
                if not all(t["all_pushed"] and (t["events_happened"] or not t["events_total"]) for t in resp.json()):
                    return False
                rows = await s.sql("SELECT count(*) AS n FROM tracking.raw_pushes WHERE processed_at IS NULL")
                return bool(rows[0]["n"] == 0)

            await wait_for(pushed, 120, "every collection pushed and processed", every=0.5)
        finally:
            await real_time(s, http)

        # One winner per shipment, as shipping's books say: voided, with no parcel collected; or confirmed, a
        # parcel collected, the other (if any) live.
        courier_state = {
            n: (await http.get(f"{s.sandbox}/control/courier/numbers/{n}")).json()["state"] for n in numbers
        }

        async def as_shipping_says() -> dict[str, dict[str, Any]] | None:
            views = {}
            for sid in shipments:
                views[sid] = (await http.get(f"{s.shipping}/v1/shipments/{sid}", headers=shop.headers)).json()
            # A refused void's shipment: each parcel the courier has is recorded collected once tracking has told
            # shipping everything.
            for sid, view in views.items():
                if won[sid] == "collection":
                    parcels = view["parcels"]
                    if not all(p["collected_at"] for p in parcels if courier_state[p["number"]] == "collected"):
                        return None
            return views

        views = await wait_for(as_shipping_says, 120, "shipping to record every collection", every=1.0)
        for sid, view in views.items():
            if won[sid] == "void":
                assert view["status"] == "voided", view
                assert all(p["status"] == "voided" and p["collected_at"] is None for p in view["parcels"]), view
            else:
                assert view["status"] == "confirmed", view
                assert all(p["status"] == "live" for p in view["parcels"]), view
                assert any(p["collected_at"] for p in view["parcels"]), view

        # The books: allocation's void (settled), the courier's number, the ledger's credits.
        async def settled() -> dict[str, dict[str, Any]] | None:
            found = {n: await s.waybill(http, shop, n) for n in numbers}
            pending = [n for n, w in found.items() if w["void"] is not None and w["void"]["courier"] == "pending"]
            return None if pending else found

        waybills = await wait_for(settled, 180, "the courier to answer every void", every=1.0)
        ledger = (await http.get(f"{s.allocation}/v1/balance", params={"limit": 1000}, headers=shop.headers)).json()
        credits = Counter(
            e["note"].split("number ", 1)[1].split(",", 1)[0] for e in ledger["ledger"] if e["kind"] == "void_credit"
        )
        outcomes: Counter[str] = Counter()
        for number, sid in numbers.items():
            w = waybills[number]
            state = (await http.get(f"{s.sandbox}/control/courier/numbers/{number}")).json()["state"]
            if won[sid] == "collection":
                assert (w["status"], w["void"], credits[number]) == ("shipped", None, 0), (w, state)
                outcomes["collected, void refused"] += 1
                continue
            record = w["void"]
            assert w["status"] == "voided", w
            assert record["courier"] in ("discarded", "collected"), w
            assert state == record["courier"], (w, state)
            if record["courier"] == "discarded":
                assert record["credited_cents"] > 0, w
                assert credits[number] == 1, (number, credits[number])
                outcomes["voided, cancelled at the courier, credited"] += 1
            else:
                assert record["credited_cents"] == 0, w
                assert credits[number] == 0, (number, credits[number])
                outcomes["voided, the courier had collected it, not credited"] += 1
        assert sum(credits.values()) == sum(1 for n, c in credits.items() if c == 1)  # no number credited twice

        report.record(
            request.node.nodeid,
            name,
            shipments=len(shipments),
            parcels=len(numbers),
            journeys=dict(journey_kinds),
            race_s=race_s,
            winners=dict(Counter(won.values())),
            numbers=dict(outcomes),
            credited_cents=sum(
                w["void"]["credited_cents"] for w in waybills.values() if w["void"] and w["void"]["credited_cents"]
            ),
        )
    checks = [*ALL, numbers_accounted_for(shop.id), voids_agree_with_couriers(shop.id)]
    report.record(request.node.nodeid, name, invariants_settled_s=await assert_invariants(s, checks=checks))
