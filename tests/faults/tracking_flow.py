"""Parcels followed through the sandbox provider on a fast clock, for the scenarios that disturb tracking."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from tests.e2e.harness import Shop, wait_for
from tests.faults.system import FaultSystem
from tests.support import ADMIN_KEY, bearer

# Simulated seconds per real second. Journeys last days; the invariants need no alert timing, so it can be fast.
ACCELERATION = float(os.environ.get("FAULTS_TRACKING_ACCELERATION", "7200"))
TRACKING_ENV = {
    "TRACKING_POLL_QUIET_HOURS": "24",
    "TRACKING_POLL_INTERVAL_S": "1",
    "TRACKING_ALERT_SCAN_INTERVAL_S": "1",
}
FINAL = {"3": "delivered", "4": "returned"}


def use_tracking_env(s: FaultSystem) -> None:
    """Polling of quiet parcels on the scale of the fast clock (it recovers dropped pushes)."""
    if all(s.env.get(k) == v for k, v in TRACKING_ENV.items()):
        return
    s.env.update(TRACKING_ENV)
    s.restart("tracking")
    s.restart("tracking-worker")


async def views(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, order_ids: list[str]) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(16)

    async def one(order_id: str) -> dict[str, Any]:
        for attempt in range(3):
            try:
                async with gate:
                    resp = await http.get(f"{s.tracking}/v1/orders/{order_id}/tracking", headers=shop.headers)
                break
            except httpx.TransportError:  # a keep-alive connection the server closed just then
                if attempt == 2:
                    raise
        resp.raise_for_status()
        parcel: dict[str, Any] = resp.json()["parcels"][0]
        return parcel

    return list(await asyncio.gather(*(one(o) for o in order_ids)))


async def wait_subscribed(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, order_ids: list[str]) -> list[str]:
    async def all_subscribed() -> list[str] | None:
        try:
            found = await views(s, http, shop, order_ids)
        except httpx.HTTPStatusError:
            return None  # shipping has not handed every shipment over yet
        if all(v["subscription"]["state"] == "subscribed" for v in found):
            return [v["number"] for v in found]
        return None

    numbers: list[str] = await wait_for(all_subscribed, 600, "every parcel subscribed with the provider", every=2)
    return numbers


async def accelerate(s: FaultSystem, http: httpx.AsyncClient, factor: float = ACCELERATION) -> None:
    clock = (await http.put(f"{s.sandbox}/control/clock", json={"acceleration": factor})).json()
    ours = await http.put(
        f"{s.tracking}/internal/v1/clock", json={"now": clock["now"], "factor": factor}, headers=bearer(ADMIN_KEY)
    )
    assert ours.status_code == 200, ours.text


async def real_time(s: FaultSystem, http: httpx.AsyncClient) -> None:
    await http.put(f"{s.sandbox}/control/clock", json={"acceleration": 1.0})
    await http.put(f"{s.tracking}/internal/v1/clock", json={"reset": True}, headers=bearer(ADMIN_KEY))


async def truths(s: FaultSystem, http: httpx.AsyncClient, numbers: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(numbers), 100):
        resp = await http.get(
            f"{s.sandbox}/control/tracking/parcels", params={"number": numbers[i : i + 100], "include_events": "false"}
        )
        resp.raise_for_status()
        found.update({t["number"]: t for t in resp.json()})
    return found


async def wait_settled(
    s: FaultSystem, http: httpx.AsyncClient, shop: Shop, order_ids: list[str], numbers: list[str], within: float
) -> dict[str, dict[str, Any]]:
    """Until every journey has ended at the provider and each delivered or returned parcel shows that status
    with us (a parcel never collected has no final status to compare)."""

    async def settled() -> dict[str, dict[str, Any]] | None:
        s.assert_alive()
        truth = await truths(s, http, numbers)
        if not all(t["finished"] or t["aborted"] for t in truth.values()):
            return None
        ours = {v["number"]: v["status"] for v in await views(s, http, shop, order_ids)}
        wrong = [n for n, t in truth.items() if t["final_state"] in FINAL and ours[n] != FINAL[t["final_state"]]]
        return None if wrong else truth

    found: dict[str, dict[str, Any]] = await wait_for(settled, within, "every parcel at its true final status", every=3)
    return found
