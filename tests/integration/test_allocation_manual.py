"""Typed (manual) numbers: unverified, never able to take a number from a paying shop, limited per shop, and
refused with one answer whoever holds the number, also while a purchase stores the same numbers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from runtime.db import UnitOfWork, make_engine, make_sessionmaker, transaction
from runtime.settings import to_asyncpg_dsn
from services.allocation.service import fulfilment, manual
from shared.allocation import ManualWaybillRequest
from shared.carriers import CarrierCode
from tests.integration.allocation_support import (
    add_package,
    run_allocation_jobs,
    seed_numbers,
    start_purchase,
    zto_numbers,
)
from tests.integration.conftest import ShopCreds, make_shop
from tests.support import INTERNAL_KEY, Env, app_client, bearer, refusal

# 10 numbers for 1001 cents: 100.1 cents a number, so credits show the rounding of the price paid.
QUANTITY, PRICE = 10, 1001


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    # Jobs other tests queued and never ran would otherwise run against this test's courier.
    await redis.delete("arq:allocation")


async def _manual(client: httpx.AsyncClient, shop: ShopCreds, number: str, order: str) -> httpx.Response:
    body = {"carrier": "ZTO", "number": number, "order_id": order}
    return await client.post("/v1/waybills/manual", json=body, headers=shop.headers)


async def _mark(client: httpx.AsyncClient, shop: ShopCreds, number: str, status: str) -> None:
    resp = await client.post(
        f"/v1/waybills/{number}/mark", json={"status": status}, headers=bearer(INTERNAL_KEY, shop.id)
    )
    assert resp.status_code == 200, resp.text


async def _info(client: httpx.AsyncClient, shop: ShopCreds, number: str) -> dict[str, Any]:
    resp = await client.get(f"/v1/waybills/{number}", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _get(client: httpx.AsyncClient, shop: ShopCreds, path: str) -> Any:
    resp = await client.get(path, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _list(client: httpx.AsyncClient, shop: ShopCreds, path: str, **params: Any) -> list[Any]:
    """Every item of a list, following ``next_cursor`` to its last page."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        resp = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=shop.headers)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        items += page["data"]
        if not page["has_more"]:
            return items
        cursor = page["next_cursor"]


async def _buy(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], numbers: list[str]) -> dict[str, Any]:
    """Buy a package of exactly these numbers and let the worker store them."""
    package = await add_package(client, admin, len(numbers), PRICE)
    purchase = await start_purchase(client, shop.headers, admin, shop.id, package)
    await run_allocation_jobs(numbers)
    done: dict[str, Any] = await _get(client, shop, f"/v1/purchases/{purchase['id']}")
    assert done["status"] == "completed", done
    return done


@pytest.fixture
async def sessions(env: Env) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Connections of this test's own, beside the app's: each transaction below is a separate backend."""
    engine = make_engine(env.database_url, pool_size=3)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _store(sessions: async_sessionmaker[AsyncSession], purchase_id: str, numbers: list[str]) -> None:
    async with transaction(sessions, None) as uow:
        await fulfilment.store_issued_numbers(uow, purchase_id, numbers, datetime.now(UTC) + timedelta(days=90))


async def test_a_purchase_takes_over_typed_numbers_never_printed(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds, admin: dict[str, str]
) -> None:
    squatter, buyer = shop, other_shop
    numbers = zto_numbers(QUANTITY)
    typed = numbers[:3]
    for i, n in enumerate(typed):
        resp = await _manual(allocation_client, squatter, n, f"sq-{i}")
        assert resp.status_code == 201, resp.text
    info = await _info(allocation_client, squatter, typed[0])
    assert (info["status"], info["source"], info["verified"]) == ("allocated", "manual", False)
    # Never printed, whatever happened since: released (voided), or marked expired from allocated.
    assert (await allocation_client.post(f"/v1/waybills/{typed[1]}/release", headers=squatter.headers)).json()[
        "status"
    ] == "voided"
    await _mark(allocation_client, squatter, typed[2], "expired")

    purchase = await _buy(allocation_client, buyer, admin, numbers)

    # The buyer got every number it paid for, and was charged for all of them.
    assert (purchase["numbers_received"], purchase["numbers_credited"], purchase["numbers_quarantined"]) == (10, 0, 0)
    pool = (await _list(allocation_client, buyer, "/v1/pools"))[0]
    assert pool["counts"]["available"] == QUANTITY
    mine = await _info(allocation_client, buyer, typed[0])
    assert (mine["status"], mine["source"], mine["verified"], mine["purchase_id"]) == (
        "available",
        "courier",
        True,
        purchase["id"],
    )
    balance = await _get(allocation_client, buyer, "/v1/balance")
    assert balance["balance_cents"] == 0
    assert [e["kind"] for e in balance["ledger"]] == ["purchase", "topup"]
    handed = await allocation_client.post(
        "/v1/allocations/batch",
        json={"carrier": "ZTO", "order_ids": [f"b-{i}" for i in range(QUANTITY)]},
        headers=buyer.headers,
    )
    assert {a["number"] for a in handed.json()["allocations"]} == set(numbers)

    # The squatter's entries are flagged, each with a notice it can read; nothing names the buyer.
    for i, n in enumerate(typed):
        theirs = await _info(allocation_client, squatter, n)
        assert (theirs["status"], theirs["source"], theirs["verified"]) == ("superseded", "manual", False)
        assert theirs["order_id"] == f"sq-{i}"
        assert theirs["purchase_id"] is None
    events = await _list(allocation_client, squatter, "/v1/pools/events")
    notices = {e["number"]: e for e in events if e["kind"] == "manual_superseded"}
    assert set(notices) == set(typed)
    assert notices[typed[0]]["order_id"] == "sq-0"
    assert all(e["purchase_id"] is None for e in notices.values())
    squatter_pool = (await _list(allocation_client, squatter, "/v1/pools"))[0]
    assert squatter_pool["counts"]["superseded"] == 3
    # A superseded number is final, and its order is free for another number.
    refused = await allocation_client.post(f"/v1/waybills/{typed[0]}/release", headers=squatter.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    again = await _manual(allocation_client, squatter, zto_numbers(1)[0], "sq-0")
    assert again.status_code == 201, again.text


@pytest.mark.parametrize("history", [("printed",), ("printed", "shipped"), ("printed", "release")])
async def test_a_typed_number_once_printed_stays_and_the_buyer_is_credited(
    allocation_client: httpx.AsyncClient,
    shop: ShopCreds,
    other_shop: ShopCreds,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    history: tuple[str, ...],
) -> None:
    typist, buyer = shop, other_shop
    numbers = zto_numbers(QUANTITY)
    taken = numbers[:3]
    for i, n in enumerate(taken):
        assert (await _manual(allocation_client, typist, n, f"paper-{i}")).status_code == 201
        for step in history:
            if step == "release":  # voided after printing: the label may still be on a parcel
                await allocation_client.post(f"/v1/waybills/{n}/release", headers=typist.headers)
            else:
                await _mark(allocation_client, typist, n, step)
    before = {n: (await _info(allocation_client, typist, n))["status"] for n in taken}

    purchase = await _buy(allocation_client, buyer, admin, numbers)

    # The typed entries keep their numbers, untouched.
    assert {n: (await _info(allocation_client, typist, n))["status"] for n in taken} == before
    # The buyer does not get them and is credited what it paid for each: 3 x 100.1 cents, rounded down.
    assert (purchase["numbers_received"], purchase["numbers_credited"]) == (QUANTITY, 3)
    assert (purchase["refunded_quantity"], purchase["refunded_cents"]) == (3, PRICE * 3 // QUANTITY)
    assert (await _info(allocation_client, buyer, taken[0]))["status"] == "superseded"
    pool = (await _list(allocation_client, buyer, "/v1/pools"))[0]
    assert (pool["counts"]["available"], pool["counts"]["superseded"]) == (QUANTITY - 3, 3)
    balance = await _get(allocation_client, buyer, "/v1/balance")
    credit = balance["ledger"][0]
    assert credit["kind"] == "number_taken_by_manual_entry"
    assert (credit["amount_cents"], credit["reference"]) == (300, purchase["id"])
    assert "3 numbers" in credit["note"]
    assert balance["balance_cents"] == 300
    assert balance["ledger_total_cents"] == balance["balance_cents"]
    # Repeating the storage (a resync) neither credits nor stores anything twice.
    await _store(sessions, purchase["id"], numbers)
    assert (await _get(allocation_client, buyer, "/v1/balance"))["balance_cents"] == 300
    # A later refund pays back only the rest: never more than the price in all.
    refund = await allocation_client.post(f"/v1/purchases/{purchase['id']}/refund", headers=buyer.headers)
    assert refund.json()["refunded_quantity"] == QUANTITY - 3
    assert refund.json()["refunded_cents"] == PRICE - PRICE * 3 // QUANTITY
    assert refund.json()["balance_cents"] == PRICE


async def test_the_refusal_is_the_same_whoever_holds_the_number(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds
) -> None:
    typed, pooled = zto_numbers(2)
    assert (await _manual(allocation_client, shop, typed, "own-1")).status_code == 201
    await seed_numbers(env, shop.id, "ZTO", [pooled])
    # The same number for the same order is a repeat, not a refusal.
    repeat = await _manual(allocation_client, shop, typed, "own-1")
    assert (repeat.status_code, repeat.json()["created"]) == (201, False)

    def answer(resp: httpx.Response, number: str) -> tuple[int, dict[str, Any]]:
        # The number is the caller's own input, put back as "N"; nothing else may depend on who holds it.
        error = refusal(resp)
        return resp.status_code, json.loads(json.dumps(error).replace(number, "N"))

    for number in (typed, pooled):
        own = await _manual(allocation_client, shop, number, "own-2")
        theirs = await _manual(allocation_client, other_shop, number, "their-1")
        assert answer(own, number) == answer(theirs, number)
        assert answer(own, number) == (
            409,
            {"code": "waybill_in_use", "message": "waybill N is already in use", "details": {"number": "N"}},
        )
    assert answer(await _manual(allocation_client, other_shop, typed, "their-1"), typed) == answer(
        await _manual(allocation_client, shop, pooled, "own-3"), pooled
    )


async def test_a_shop_holds_at_most_the_limit_of_typed_numbers_not_yet_shipped(
    env: Env, shop: ShopCreds, other_shop: ShopCreds
) -> None:
    from services.allocation.main import create_app
    from services.allocation.settings import AllocationSettings

    async with app_client(create_app(AllocationSettings(manual_unverified_max=3))) as client:
        numbers = zto_numbers(8)
        for i in range(3):
            assert (await _manual(client, shop, numbers[i], f"lim-{i}")).status_code == 201
        over = await _manual(client, shop, numbers[3], "lim-3")
        assert over.status_code == 409
        assert over.json()["error"]["code"] == "manual_limit_reached"
        assert over.json()["error"]["details"] == {"limit": 3, "held": 3}
        # At the limit every number answers the same, another shop's included: no probing there either.
        assert (await _manual(client, other_shop, numbers[7], "x-1")).status_code == 201
        taken = await _manual(client, shop, numbers[7], "lim-3")
        assert refusal(taken) == refusal(over)
        # A repeat is still a repeat; shipping or releasing one frees its place.
        assert (await _manual(client, shop, numbers[0], "lim-0")).json()["created"] is False
        await _mark(client, shop, numbers[0], "printed")
        await _mark(client, shop, numbers[0], "shipped")
        assert (await _manual(client, shop, numbers[3], "lim-3")).status_code == 201
        assert (await client.post(f"/v1/waybills/{numbers[1]}/release", headers=shop.headers)).status_code == 200
        assert (await _manual(client, shop, numbers[4], "lim-4")).status_code == 201
        assert (await _manual(client, shop, numbers[5], "lim-5")).status_code == 409

        # Concurrent registrations cannot count past the limit together.
        fresh = await make_shop(client)
        many = zto_numbers(12)
        answers = await asyncio.gather(*(_manual(client, fresh, n, f"c-{i}") for i, n in enumerate(many)))
        assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 9
        assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"manual_limit_reached"}


# --- races: a purchase storing numbers while typed entries of the same numbers arrive -------------------


async def _statuses(client: httpx.AsyncClient, shop: ShopCreds, numbers: list[str]) -> set[str]:
    return {(await _info(client, shop, n))["status"] for n in numbers}


async def _live_rows(env: Env, numbers: list[str]) -> dict[str, list[asyncpg.Record]]:
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        rows = await conn.fetch(
            "SELECT w.number, w.status, w.source, w.purchase_id, p.shop_id FROM allocation.waybills w "
            "JOIN allocation.pools p ON p.id = w.pool_id WHERE w.number = ANY($1) AND w.status <> 7",
            numbers,
        )
    finally:
        await conn.close()
    found: dict[str, list[asyncpg.Record]] = {n: [] for n in numbers}
    for r in rows:
        found[r["number"]].append(r)
    return found


async def test_purchase_and_typed_entries_racing_for_the_same_numbers(
    env: Env,
    allocation_client: httpx.AsyncClient,
    shop: ShopCreds,
    other_shop: ShopCreds,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    squatter, buyer = shop, other_shop
    package = await add_package(allocation_client, admin, 40, PRICE)
    purchases = [
        (await start_purchase(allocation_client, buyer.headers, admin, buyer.id, package))["id"] for _ in "abc"
    ]
    first, second, third = zto_numbers(40), zto_numbers(40), zto_numbers(40)

    # 1. Typed entries still uncommitted when the purchase stores: the purchase waits for them, then takes
    #    them over (none had been printed).
    async with sessions() as typing_session:
        typing = UnitOfWork(typing_session, None)
        for i, n in enumerate(first[:20]):
            body = ManualWaybillRequest(carrier=CarrierCode.ZTO, number=n, order_id=f"r1-{i}")
            await manual.register_manual(typing, squatter.id, body, 1000)
        storing = asyncio.create_task(_store(sessions, purchases[0], first))
        await asyncio.sleep(0.5)
        assert not storing.done(), "the purchase did not wait for the typed entries"
        await typing.commit()
    await storing
    for n, rows in (await _live_rows(env, first)).items():
        assert [(r["shop_id"], r["purchase_id"], r["status"]) for r in rows] == [(buyer.id, purchases[0], 0)], n
    assert await _statuses(allocation_client, squatter, first[:20]) == {"superseded"}

    # 2. The purchase's numbers still uncommitted when the typed entries arrive: each waits, then is refused.
    async with sessions() as buying_session:
        buying = UnitOfWork(buying_session, None)
        await fulfilment.store_issued_numbers(buying, purchases[1], second, datetime.now(UTC) + timedelta(days=90))
        typed = [
            asyncio.create_task(_manual(allocation_client, squatter, n, f"r2-{i}")) for i, n in enumerate(second[:20])
        ]
        await asyncio.sleep(0.5)
        assert not any(t.done() for t in typed), "a typed entry did not wait for the purchase"
        await buying.commit()
    refused = await asyncio.gather(*typed)
    assert {(r.status_code, r.json()["error"]["code"]) for r in refused} == {(409, "waybill_in_use")}

    # 3. Both at once, in whatever order the database sees them.
    storing = asyncio.create_task(_store(sessions, purchases[2], third))
    answers = await asyncio.gather(*(_manual(allocation_client, squatter, n, f"r3-{i}") for i, n in enumerate(third)))
    await storing
    assert {(a.status_code, a.json().get("error", {}).get("code")) for a in answers} <= {
        (201, None),
        (409, "waybill_in_use"),
    }
    accepted = [n for n, a in zip(third, answers, strict=True) if a.status_code == 201]
    # An accepted entry committed before the purchase reached its number, so the purchase took it over.
    assert await _statuses(allocation_client, squatter, accepted) <= {"superseded"}

    # Every number: one live row, the buyer's, available; the buyer paid for nothing it did not get.
    for purchase_id, numbers in zip(purchases, (first, second, third), strict=True):
        for n, rows in (await _live_rows(env, numbers)).items():
            assert [(r["shop_id"], r["purchase_id"], r["status"]) for r in rows] == [(buyer.id, purchase_id, 0)], n
        done = await _get(allocation_client, buyer, f"/v1/purchases/{purchase_id}")
        assert (done["numbers_received"], done["numbers_credited"], done["numbers_quarantined"]) == (40, 0, 0)
    events = await _list(allocation_client, squatter, "/v1/pools/events", limit=500)
    assert len([e for e in events if e["kind"] == "manual_superseded"]) == 20 + len(accepted)
