"""Sort codes end to end over the real processes: each parcel's sort code (三段码) and consolidation centre (集包地)
are what the sandbox courier says for its destination, read from the sandbox's control API (the number's bound
destination and routing, and the routing of that destination asked on its own), never from our code.

- An order shipped in two parcels: the ship answer carries both parcels' routing, bound at the courier to the
  order's destination; the label prints.
- The buyer moves (PUT receiver): the parcels' routing is cleared at once, then is the new destination's, and the
  courier has each number bound there.
- The courier down while shipping: the shipment and its label go ahead without sort codes, and the worker fills
  them once the courier is back.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, wait_for

pytestmark = pytest.mark.e2e

YIWU = {"name": "王小明", "phone": "13800138000", "state": "浙江省", "city": "金华市", "district": "义乌市",
        "address": "稠州北路 1 号"}  # fmt: skip
BEIJING = {"name": "王小明", "phone": "13800138000", "state": "北京", "city": "北京市", "district": "朝阳区",
           "address": "建国路 88 号"}  # fmt: skip


async def _own_order(h: Harness, http: httpx.AsyncClient, shop: Shop, receiver: dict[str, str]) -> str:
    body = {"external_id": f"sort-{uuid.uuid4().hex[:10]}", "receiver": receiver, "weight_g": 1200}
    resp = await http.post(f"{h.shipping}/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    order_id: str = resp.json()["id"]
    return order_id


async def _ship(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str) -> dict[str, Any]:
    resp = await http.post(
        f"{h.shipping}/v1/orders/{order_id}/ship", json={"carrier": "ZTO", "parcel_count": 2}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    shipment: dict[str, Any] = resp.json()
    return shipment


async def _parcels(h: Harness, http: httpx.AsyncClient, shop: Shop, shipment_id: str) -> list[dict[str, Any]]:
    resp = await http.get(f"{h.shipping}/v1/shipments/{shipment_id}", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["parcels"]
    return found


async def _courier_number(h: Harness, http: httpx.AsyncClient, number: str) -> dict[str, Any]:
    resp = await http.get(f"{h.sandbox}/control/courier/numbers/{number}")
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _routing_of(h: Harness, http: httpx.AsyncClient, receiver: dict[str, str]) -> dict[str, Any]:
    place = {"province": receiver["state"], "city": receiver["city"], "district": receiver["district"]}
    resp = await http.post(f"{h.sandbox}/control/courier/routing", json={"cp_code": "ZTO", **place})
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _as_the_courier_says(
    h: Harness, http: httpx.AsyncClient, parcels: list[dict[str, Any]], receiver: dict[str, str]
) -> None:
    expected = await _routing_of(h, http, receiver)
    for parcel in parcels:
        assert (parcel["sort_code"], parcel["package_center"]) == (
            expected["routeCode"],
            expected["consolidation"]["name"],
        ), parcel
        known = await _courier_number(h, http, parcel["number"])
        assert known["routing"] == expected, known
        assert (known["destination"]["city"], known["destination"]["district"]) == (
            receiver["city"],
            receiver["district"],
        )


async def _label_prints(h: Harness, http: httpx.AsyncClient, shop: Shop, shipment_id: str) -> None:
    label = await http.get(f"{h.shipping}/v1/shipments/{shipment_id}/label.pdf", headers=shop.headers)
    assert label.status_code == 200, label.text
    assert label.content.startswith(b"%PDF")


async def test_parcels_carry_the_couriers_sort_codes_for_their_destination(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop = await h.ready_shop(http)
        order_id = await _own_order(h, http, shop, YIWU)
        shipment = await _ship(h, http, shop, order_id)
        assert len(shipment["parcels"]) == 2
        await _as_the_courier_says(h, http, shipment["parcels"], YIWU)
        assert shipment["parcels"][0]["sort_code"].startswith("579-")  # 金华 0579, ZTO's "579-X12 34"
        assert await _parcels(h, http, shop, shipment["id"]) == shipment["parcels"]
        await _label_prints(h, http, shop, shipment["id"])

        resp = await http.put(f"{h.shipping}/v1/orders/{order_id}/receiver", json=BEIJING, headers=shop.headers)
        assert resp.status_code == 200, resp.text
        new = await _routing_of(h, http, BEIJING)

        async def moved() -> list[dict[str, Any]] | None:
            parcels = await _parcels(h, http, shop, shipment["id"])
            return parcels if all(p["sort_code"] == new["routeCode"] for p in parcels) else None

        await _as_the_courier_says(h, http, await wait_for(moved, 60, "the new destination's sort codes"), BEIJING)


async def test_a_courier_down_while_shipping_delays_only_the_sort_codes(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop = await h.ready_shop(http)
        order_id = await _own_order(h, http, shop, YIWU)
        down = await http.post(f"{h.sandbox}/control/courier/down", json={"seconds": 4})
        assert down.status_code == 200, down.text
        try:
            shipment = await _ship(h, http, shop, order_id)
            assert [(p["sort_code"], p["package_center"]) for p in shipment["parcels"]] == [(None, None)] * 2
            await _label_prints(h, http, shop, shipment["id"])
        finally:
            await http.post(f"{h.sandbox}/control/courier/down", json={"seconds": 0})

        async def filled() -> list[dict[str, Any]] | None:
            parcels = await _parcels(h, http, shop, shipment["id"])
            return parcels if all(p["sort_code"] for p in parcels) else None

        await _as_the_courier_says(h, http, await wait_for(filled, 60, "sort codes after the outage"), YIWU)
