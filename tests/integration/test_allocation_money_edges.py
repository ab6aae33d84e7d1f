"""Money edges of a purchase: a refund pays back only numbers never handed out, and an extension is refused
(and costs nothing) when no number of the purchase can still be used."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.allocation_support import add_package, run_allocation_jobs, start_purchase, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.support import INTERNAL_KEY, bearer

QUANTITY, PRICE, FEE_PER_30 = 10, 1001, 90


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    # Jobs other tests queued and never ran would otherwise run against this test's courier.
    await redis.delete("arq:allocation")


async def _bought(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]) -> dict[str, Any]:
    package = await add_package(client, admin, QUANTITY, PRICE, extension_fee=FEE_PER_30)
    purchase = await start_purchase(client, shop.headers, admin, shop.id, package)
    await run_allocation_jobs(zto_numbers(QUANTITY))
    return purchase


async def _allocate(client: httpx.AsyncClient, shop: ShopCreds, orders: list[str]) -> list[str]:
    resp = await client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": orders}, headers=shop.headers
    )
    assert resp.status_code == 200, resp.text
    return [a["number"] for a in resp.json()["allocations"]]


async def _balance(client: httpx.AsyncClient, shop: ShopCreds) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/v1/balance", headers=shop.headers)).json()
    return body


async def _counts(client: httpx.AsyncClient, shop: ShopCreds) -> dict[str, int]:
    counts: dict[str, int] = (await client.get("/v1/pools", headers=shop.headers)).json()["data"][0]["counts"]
    return counts


async def test_released_numbers_are_not_refunded_as_unused(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    purchase = await _bought(allocation_client, shop, admin)
    handed = await _allocate(allocation_client, shop, [f"rf-{i}" for i in range(4)])
    for n in handed[:2]:  # given out, then back in the pool
        released = await allocation_client.post(f"/v1/waybills/{n}/release", headers=shop.headers)
        assert released.json()["status"] == "available"

    refund = await allocation_client.post(f"/v1/purchases/{purchase['id']}/refund", headers=shop.headers)

    assert refund.status_code == 200, refund.text
    # 10 bought, 4 handed out: 6 never were, whatever came back since.
    assert refund.json()["refunded_quantity"] == 6
    assert refund.json()["refunded_cents"] == PRICE * 6 // QUANTITY
    entry = (await _balance(allocation_client, shop))["ledger"][0]
    assert (entry["kind"], entry["amount_cents"], entry["note"]) == ("refund", 600, "6 numbers never handed out")
    # The released numbers stay the shop's to use, and a second refund still does not count them.
    assert _subset(await _counts(allocation_client, shop), {"available": 2, "allocated": 2, "voided": 6})
    again = await allocation_client.post(f"/v1/purchases/{purchase['id']}/refund", headers=shop.headers)
    assert (again.json()["refunded_quantity"], again.json()["refunded_cents"]) == (0, 0)
    assert set(await _allocate(allocation_client, shop, ["rf-a", "rf-b"])) == set(handed[:2])
    balance = await _balance(allocation_client, shop)
    assert balance["balance_cents"] == balance["ledger_total_cents"] == 600


def _subset(counts: dict[str, int], expected: dict[str, int]) -> bool:
    return {k: counts.get(k, 0) for k in expected} == expected


async def test_an_extension_is_refused_when_no_number_can_still_be_used(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    used = await _bought(allocation_client, shop, admin)
    numbers = await _allocate(allocation_client, shop, [f"ex-{i}" for i in range(QUANTITY)])
    # One number still allocated: it can be used, so extending is worth its fee.
    printed = await allocation_client.post(
        "/v1/waybills/batch-mark",
        json={"status": "printed", "items": [{"number": n} for n in numbers[1:]]},
        headers=bearer(INTERNAL_KEY, shop.id),
    )
    assert printed.json()["marked"] == QUANTITY - 1
    await allocation_client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": 1000}, headers=admin)
    extended = await allocation_client.post(
        f"/v1/purchases/{used['id']}/extend", json={"days": 30}, headers=shop.headers
    )
    assert extended.status_code == 200, extended.text
    assert (extended.json()["numbers_extended"], extended.json()["fee_cents"]) == (1, FEE_PER_30)
    assert (await _balance(allocation_client, shop))["ledger"][0]["note"] == "+30 days for 1 usable numbers"

    # Printed too: nothing left to use, so nothing to pay for.
    await allocation_client.post(
        f"/v1/waybills/{numbers[0]}/mark", json={"status": "printed"}, headers=bearer(INTERNAL_KEY, shop.id)
    )
    before = await _balance(allocation_client, shop)
    refused = await allocation_client.post(
        f"/v1/purchases/{used['id']}/extend", json={"days": 30}, headers=shop.headers
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "no_usable_numbers"
    assert refused.json()["error"]["details"] == {"purchase_id": used["id"]}
    assert await _balance(allocation_client, shop) == before

    # Refunded: the same.
    refunded = await _bought(allocation_client, shop, admin)
    await allocation_client.post(f"/v1/purchases/{refunded['id']}/refund", headers=shop.headers)
    before = await _balance(allocation_client, shop)
    refused = await allocation_client.post(
        f"/v1/purchases/{refunded['id']}/extend", json={"days": 30}, headers=shop.headers
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "no_usable_numbers")
    assert await _balance(allocation_client, shop) == before
