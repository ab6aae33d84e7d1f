"""Tracking end to end: 1,000 parcels shipped through shipping, followed through the sandbox provider's
accelerated journeys with duplicated, reordered and dropped pushes. Every parcel must reach its true final
status (polling covers the dropped pushes) and the alerts must match the parcels the sandbox made abnormal."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, wait_for
from tests.support import ADMIN_KEY, bearer

pytestmark = pytest.mark.e2e

PARCELS = int(os.environ.get("TRACKING_E2E_PARCELS", "1000"))
# Twenty simulated minutes of journey per second by default (TRACKING_E2E_ACCELERATION). The alert
# thresholds below leave normal parcels 48 simulated hours of slack: at x3600 that was 48 real seconds, and a
# fresh-clone `make test` (1,000 parcels beside the other xdist worker) met a backlog that long once in two
# runs (16 normal parcels alerted "no update"); at x1200 it is 144 s.
ACCELERATION = float(os.environ.get("TRACKING_E2E_ACCELERATION", "1200"))
# Thresholds for this run (the shop's own settings, through the API): the sandbox's normal journeys are
# never silent for more than a day, a stalled one is silent for 96 h; a promised time of 30 days keeps
# "late" out of this comparison (it is covered with a controlled clock in the integration tests).
# At x3600 a day is 24 real seconds: with 1,000 parcels collected within the first simulated hours, a push
# backlog of that length made 7 normal parcels "not collected" at 24 h; 48 h is still before the 72 h abort.
ALERT_SETTINGS = {"not_collected_hours": 48, "no_update_hours": 72, "transit_days": 30}
TRACKING_ENV = {
    "TRACKING_POLL_QUIET_HOURS": "24",
    "TRACKING_POLL_INTERVAL_S": "1",
    "TRACKING_ALERT_SCAN_INTERVAL_S": "1",
}
EXPECTED_ALERTS = {
    "normal": set(),
    "problem": {"problem"},
    "refused": {"refused", "returning"},
    "stall": {"no_update"},
}


def _expected(truth: dict[str, Any]) -> tuple[str, set[str]]:
    """The final status and alert kinds a parcel should end with, from the sandbox's truth."""
    kind = truth["kind"]
    if kind == "never_collected":
        # Only the abort push can tell; when it was dropped nothing ever can (a query has no result).
        abort_seen = truth["pushes"]["dropped"] == 0
        return ("expired" if abort_seen else "pending"), {"not_collected", *(["aborted"] if abort_seen else [])}
    status = {"3": "delivered", "4": "returned"}[truth["final_state"]]
    return status, EXPECTED_ALERTS[kind]


async def _truths(h: Harness, http: httpx.AsyncClient, numbers: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(numbers), 100):
        chunk = numbers[i : i + 100]
        resp = await http.get(
            f"{h.sandbox}/control/tracking/parcels", params={"number": chunk, "include_events": "false"}
        )
        resp.raise_for_status()
        found.update({t["number"]: t for t in resp.json()})
    return found


async def _views(h: Harness, http: httpx.AsyncClient, shop: Shop, order_ids: list[str]) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(32)

    async def one(order_id: str) -> dict[str, Any]:
        for attempt in range(3):
            try:
                async with gate:
                    resp = await http.get(f"{h.tracking}/v1/orders/{order_id}/tracking", headers=shop.headers)
                break
            except httpx.TransportError:  # a keep-alive connection the server closed just then
                if attempt == 2:
                    raise
        resp.raise_for_status()
        parcel: dict[str, Any] = resp.json()["parcels"][0]
        return parcel

    return list(await asyncio.gather(*(one(o) for o in order_ids)))


async def test_parcels_with_push_faults_reach_their_true_status_and_alerts(own_harness: Harness) -> None:
    h = own_harness
    h.env.update(TRACKING_ENV)
    h.restart("tracking")
    h.restart("tracking-worker")
    async with h.client() as http:
        shop = await h.ready_shop(http, (("ZTO", "ZTO-5000"),))
        put = await http.put(f"{h.tracking}/v1/alert-settings", json=ALERT_SETTINGS, headers=shop.headers)
        assert put.status_code == 200, put.text
        tids = await h.paid_trades(http, shop, PARCELS)
        order_ids = await h.orders_for(http, shop, tids)
        resp = await http.post(
            f"{h.shipping}/v1/shipment-batches", json={"order_ids": order_ids, "carrier": "ZTO"}, headers=shop.headers
        )
        assert resp.status_code == 202, resp.text
        batch = await h.wait_batch(http, shop, resp.json()["id"], within=300)
        assert batch["done"] == PARCELS

        async def all_subscribed() -> list[dict[str, Any]] | None:
            try:
                views = await _views(h, http, shop, order_ids)
            except httpx.HTTPStatusError:
                return None  # shipping has not handed every shipment over yet
            return views if all(v["subscription"]["state"] == "subscribed" for v in views) else None

        views = await wait_for(all_subscribed, 600, "every parcel subscribed with the provider", every=2)
        numbers = [v["number"] for v in views]

        await h.faults(http, push_duplicate_rate=0.2, push_out_of_order_rate=0.2, push_drop_rate=0.1, seed=11)
        try:
            sandbox_clock = (await http.put(f"{h.sandbox}/control/clock", json={"acceleration": ACCELERATION})).json()
            ours = await http.put(
                f"{h.tracking}/internal/v1/clock",
                json={"now": sandbox_clock["now"], "factor": ACCELERATION},
                headers=bearer(ADMIN_KEY),
            )
            assert ours.status_code == 200, ours.text
            started = time.monotonic()

            async def settled() -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]] | None:
                truths = await _truths(h, http, numbers)
                if not all(t["finished"] or (t["kind"] == "never_collected" and t["aborted"]) for t in truths.values()):
                    return None
                views = await _views(h, http, shop, order_ids)
                wrong = [v for v in views if v["status"] != _expected(truths[v["number"]])[0]]
                return None if wrong else (truths, views)

            truths, views = await wait_for(settled, 900, "every parcel at its true final status", every=5)
            elapsed = time.monotonic() - started
            await asyncio.sleep(3)  # let the alert scan see the final state once more
            views = await _views(h, http, shop, order_ids)
        finally:
            await h.faults(http, push_duplicate_rate=0, push_out_of_order_rate=0, push_drop_rate=0)
            await http.put(f"{h.sandbox}/control/clock", json={"acceleration": 1.0})
            await http.put(f"{h.tracking}/internal/v1/clock", json={"reset": True}, headers=bearer(ADMIN_KEY))

    kinds = Counter(t["kind"] for t in truths.values())
    pushes: Counter[str] = Counter()
    for t in truths.values():
        pushes.update(t["pushes"])
    # The faults really happened, and some parcels really needed polling.
    assert pushes["dropped"] > 50, pushes
    assert pushes["duplicates"] > 50, pushes
    assert pushes["out_of_order"] > 50, pushes
    assert len(kinds) >= 4, kinds

    mismatched = []
    for view in views:
        truth = truths[view["number"]]
        status, alerts = _expected(truth)
        got = {a["kind"] for a in view["alerts"]}
        if view["status"] != status or got != alerts:
            mismatched.append((view["number"], truth["kind"], view["status"], status, sorted(got), sorted(alerts)))
        # Each event of the journey once, in event-time order.
        times = [e["occurred_at"] for e in view["events"]]
        assert times == sorted(times, reverse=True)
        assert len(view["events"]) == truth["events_happened"], view["number"]
        # Alerts of delivered and returned parcels are all resolved.
        if view["status"] in ("delivered", "returned"):
            assert all(a["state"] == "resolved" for a in view["alerts"]), view["alerts"]
    assert mismatched == [], mismatched[:10]
    print(f"\n{PARCELS} parcels settled in {elapsed:.0f} s at x{ACCELERATION:g}")
    print(f"kinds {dict(kinds)}; pushes {dict(pushes)}")
