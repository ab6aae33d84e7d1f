"""Partial refunds: exactly the count asked of a purchase's numbers never handed out (the ones the pool would
hand out last), atomically, idempotent on the Idempotency-Key; fewer unused than asked is refused whole; two
partial refunds racing on real connections never refund more than is unused. Without a body, as before: all."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.allocation_support import add_package, run_allocation_jobs, start_purchase, zto_numbers
from tests.integration.conftest import ShopCreds

QUANTITY, PRICE = 10, 1001


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    await redis.delete("arq:allocation")


async def _bought(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]) -> tuple[str, list[str]]:
    package = await add_package(client, admin, QUANTITY, PRICE)
    purchase = await start_purchase(client, shop.headers, admin, shop.id, package)
    numbers = zto_numbers(QUANTITY)
    await run_allocation_jobs(numbers)
    return str(purchase["id"]), numbers


async def _refund(
    client: httpx.AsyncClient, shop: ShopCreds, purchase_id: str, count: int | None, key: str | None = None
) -> httpx.Response:
    headers = {**shop.headers, **({"Idempotency-Key": key} if key else {})}
    body = {"count": count} if count is not None else None
    return await client.post(f"/v1/purchases/{purchase_id}/refund", json=body, headers=headers)


async def _state(client: httpx.AsyncClient, shop: ShopCreds) -> tuple[int, dict[str, int], dict[str, Any]]:
    balance = (await client.get("/v1/balance", headers=shop.headers)).json()
    counts = (await client.get("/v1/pools", headers=shop.headers)).json()["data"][0]["counts"]
    return balance["balance_cents"], counts, balance["ledger"][0]


async def test_a_partial_refund_refunds_exactly_the_count_asked(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    purchase_id, numbers = await _bought(allocation_client, shop, admin)
    resp = await _refund(allocation_client, shop, purchase_id, 3, key=f"r-{uuid.uuid4().hex}")
    assert resp.status_code == 200, resp.text
    assert (resp.json()["refunded_quantity"], resp.json()["refunded_cents"]) == (3, PRICE * 3 // QUANTITY)
    balance, counts, entry = await _state(allocation_client, shop)
    assert balance == resp.json()["balance_cents"] == 300
    assert (counts["available"], counts["voided"]) == (7, 3)
    assert (entry["kind"], entry["amount_cents"], entry["reference"]) == ("refund", 300, purchase_id)
    assert entry["note"] == "partial refund of 3: 3 numbers never handed out (7 left unused)"
    # The numbers refunded are those the pool would hand out last: the next allocations get the others.
    for n in numbers[-3:]:
        assert (await allocation_client.get(f"/v1/waybills/{n}", headers=shop.headers)).json()["status"] == "voided"
    got = await allocation_client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": ["pr-1", "pr-2"]}, headers=shop.headers
    )
    assert {a["number"] for a in got.json()["allocations"]} <= set(numbers[:-3])

    # The rest, without a body, as before: all still unused (5), the running totals keeping the rounding right.
    rest = await _refund(allocation_client, shop, purchase_id, None)
    assert (rest.json()["refunded_quantity"], rest.json()["refunded_cents"]) == (5, PRICE * 8 // QUANTITY - 300)
    purchase = (await allocation_client.get(f"/v1/purchases/{purchase_id}", headers=shop.headers)).json()
    assert (purchase["refunded_quantity"], purchase["refunded_cents"]) == (8, PRICE * 8 // QUANTITY)
    assert (await _state(allocation_client, shop))[2]["note"] == "5 numbers never handed out"


async def test_more_than_is_unused_is_refused_and_nothing_refunded(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    purchase_id, _ = await _bought(allocation_client, shop, admin)
    await allocation_client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": ["nu-1", "nu-2", "nu-3"]}, headers=shop.headers
    )
    before = await _state(allocation_client, shop)
    refused = await _refund(allocation_client, shop, purchase_id, 8, key=f"r-{uuid.uuid4().hex}")
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["details"]) == (
        "not_enough_unused",
        {"purchase_id": purchase_id, "requested": 8, "unused": 7},
    )
    assert await _state(allocation_client, shop) == before
    assert (await _refund(allocation_client, shop, purchase_id, 7, key=f"r-{uuid.uuid4().hex}")).status_code == 200


async def test_a_partial_refund_repeated_with_its_key_refunds_once(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    purchase_id, _ = await _bought(allocation_client, shop, admin)
    key = f"r-{uuid.uuid4().hex}"
    first = await _refund(allocation_client, shop, purchase_id, 2, key=key)
    again = await _refund(allocation_client, shop, purchase_id, 2, key=key)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    balance, counts, _ = await _state(allocation_client, shop)
    assert (balance, counts["voided"]) == (200, 2)
    other = await _refund(allocation_client, shop, purchase_id, 3, key=key)
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")
    # A count needs a key: without one, a repeat after a lost answer would refund the count again.
    keyless = await _refund(allocation_client, shop, purchase_id, 2)
    assert keyless.status_code == 422, keyless.text
    assert keyless.json()["error"]["details"] == {"field": "Idempotency-Key"}
    assert (await _refund(allocation_client, shop, purchase_id, 0, key=f"r-{uuid.uuid4().hex}")).status_code == 422


async def test_racing_partial_refunds_never_refund_more_than_is_unused(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    """Four requests at once, each on its own database connection, each asking for 4 of the 10 unused: the
    purchase's row lock takes them in turn, so two are refunded and the others find too few left."""
    purchase_id, _ = await _bought(allocation_client, shop, admin)
    answers = await asyncio.gather(
        *(_refund(allocation_client, shop, purchase_id, 4, key=f"race-{uuid.uuid4().hex}") for _ in range(4))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 409, 409], [a.text for a in answers]
    refused = [a.json()["error"] for a in answers if a.status_code == 409]
    assert {(e["code"], e["details"]["unused"]) for e in refused} == {("not_enough_unused", 2)}
    balance, counts, _ = await _state(allocation_client, shop)
    assert (counts["voided"], counts["available"]) == (8, 2)
    assert balance == sum(a.json()["refunded_cents"] for a in answers if a.status_code == 200) == PRICE * 8 // QUANTITY
    purchase = (await allocation_client.get(f"/v1/purchases/{purchase_id}", headers=shop.headers)).json()
    assert purchase["refunded_quantity"] == 8
