"""Voids before collection (回收单号) on the allocation API and worker, against the real PostgreSQL: the courier
is told after the commit (retried while it cannot answer), a cancelled number is credited once per the
purchase's policy at the price the purchase paid, a collected one is not, and a voided number never comes back.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import httpx
import pytest
import respx

from runtime.settings import to_asyncpg_dsn
from services.allocation.voids import ALREADY_COLLECTED
from tests.integration.allocation_support import (
    FakeCourier,
    seed_numbers,
    start_purchase,
    worker_ctx,
    worker_resources,
    zto_numbers,
)
from tests.integration.conftest import ShopCreds
from tests.support import INTERNAL_KEY, Env, bearer, run_jobs

GATEWAY = "http://courier.test/courier/gateway"
BUSY = httpx.Response(500, json={"success": False, "errorCode": "S01", "errorMsg": "system busy"})
COLLECTED = httpx.Response(
    200, json={"success": False, "errorCode": ALREADY_COLLECTED, "errorMsg": "waybill has been collected"}
)


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    # Jobs other tests queued and never ran would otherwise run against this test's courier.
    await redis.delete("arq:allocation")


class VoidCourier(FakeCourier):
    """The fake courier, with the cancellation's answers set by the test (accepted once they run out), and the
    numbers whose parcels it has collected (refused whenever asked)."""

    def __init__(self, *discard_answers: httpx.Response, collected: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.discard_answers = list(discard_answers)
        self.collected = collected
        self.discarded: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form["msg_type"] != "TMS_WAYBILL_DISCARD":
            return super().__call__(request)
        number = json.loads(form["logistics_interface"])["waybill_code"]
        self.discarded.append(number)
        if number in self.collected:
            return COLLECTED
        if self.discard_answers:
            return self.discard_answers.pop(0)
        return httpx.Response(200, json={"success": True})


async def _work(courier: FakeCourier) -> None:
    from services.allocation.tasks import WorkerSettings

    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=courier)
        await run_jobs(WorkerSettings, max_tries=3)


async def _buy(
    client: httpx.AsyncClient,
    shop: ShopCreds,
    admin: dict[str, str],
    void_credit: dict[str, int] | None = None,
    *,
    quantity: int = 10,
    price_cents: int = 3001,
) -> str:
    """A ZTO package of this test's own (3001 cents for 10: 300.1 a number), bought and delivered. The top-up
    is the price: the balance is 0 afterwards, so what it holds later is what voids credited."""
    package_id = f"T-{uuid.uuid4().hex[:12]}"
    body: dict[str, Any] = {"id": package_id, "quantity": quantity, "price_cents": price_cents, "validity_days": 90}
    if void_credit is not None:
        body["void_credit"] = void_credit
    resp = await client.post("/v1/carriers/ZTO/packages", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    purchase = await start_purchase(client, shop.headers, admin, shop.id, package_id)
    await _work(VoidCourier())
    return str(purchase["id"])


async def _printed(client: httpx.AsyncClient, shop: ShopCreds, order: str) -> str:
    allocated = await client.post("/v1/allocations", json={"carrier": "ZTO", "order_id": order}, headers=shop.headers)
    assert allocated.status_code == 200, allocated.text
    number = str(allocated.json()["number"])
    marked = await client.post(
        f"/v1/waybills/{number}/mark",
        json={"status": "printed", "order_id": order},
        headers=bearer(INTERNAL_KEY, shop.id),
    )
    assert marked.status_code == 200, marked.text
    return number


async def _release(client: httpx.AsyncClient, shop: ShopCreds, number: str) -> dict[str, Any]:
    resp = await client.post(f"/v1/waybills/{number}/release", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _void(client: httpx.AsyncClient, shop: ShopCreds, number: str) -> dict[str, Any]:
    info = (await client.get(f"/v1/waybills/{number}", headers=shop.headers)).json()
    assert info["status"] == "voided"
    void: dict[str, Any] = info["void"]
    return void


async def _balance(client: httpx.AsyncClient, shop: ShopCreds) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/v1/balance", headers=shop.headers)).json()
    return body


def _void_credits(balance: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in balance["ledger"] if e["kind"] == "void_credit"]


async def _purchase(client: httpx.AsyncClient, shop: ShopCreds, purchase_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/v1/purchases/{purchase_id}", headers=shop.headers)).json()
    return body


async def _sql(env: Env, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        rows: list[asyncpg.Record] = await conn.fetch(query, *args)
        return rows
    finally:
        await conn.close()


async def test_a_voided_number_is_cancelled_at_the_courier_and_credited_once(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    purchase_id = await _buy(allocation_client, shop, admin)
    number = await _printed(allocation_client, shop, "void-1")

    released = await _release(allocation_client, shop, number)
    assert released["status"] == "voided"
    first = released["void"]
    assert (first["courier"], first["credit_policy"], first["credited_cents"], first["settled_at"]) == (
        "pending",
        "full",
        0,
        None,
    )
    assert (await _balance(allocation_client, shop))["balance_cents"] == 0  # nothing before the courier answers

    courier = VoidCourier()
    await _work(courier)
    assert courier.discarded == [number]
    void = await _void(allocation_client, shop, number)
    assert (void["courier"], void["courier_code"], void["credited_cents"]) == ("discarded", None, 300)
    assert void["settled_at"] is not None

    balance = await _balance(allocation_client, shop)
    assert balance["balance_cents"] == 300 == balance["ledger_total_cents"]
    [entry] = _void_credits(balance)
    assert (entry["amount_cents"], entry["reference"]) == (300, purchase_id)
    assert entry["note"] == f"void credit: number {number}, policy full"

    # Repeating the release answers the settled void; nothing is asked or credited again.
    again = await _release(allocation_client, shop, number)
    assert again["void"] == void
    courier = VoidCourier()
    await _work(courier)
    assert courier.discarded == []
    assert len(_void_credits(await _balance(allocation_client, shop))) == 1

    bought = await _purchase(allocation_client, shop, purchase_id)
    assert (bought["void_credit"], bought["voids_credited"], bought["void_credited_cents"]) == (
        {"percent": 100, "fee_cents": 0},
        1,
        300,
    )
    assert (bought["refunded_quantity"], bought["refunded_cents"]) == (0, 0)  # a void is not a refund
    pool = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"][0]
    assert pool["counts"]["voided"] == 1

    # The next voided number takes the next step of the running total: 300.1 a number, 600 for two.
    second = await _printed(allocation_client, shop, "void-2")
    await _release(allocation_client, shop, second)
    await _work(VoidCourier())
    assert (await _void(allocation_client, shop, second))["credited_cents"] == 300
    assert (await _purchase(allocation_client, shop, purchase_id))["void_credited_cents"] == 600


async def test_a_number_the_courier_already_collected_is_not_credited(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    purchase_id = await _buy(allocation_client, shop, admin)
    number = await _printed(allocation_client, shop, "collected-1")
    await _release(allocation_client, shop, number)
    courier = VoidCourier(COLLECTED)
    await _work(courier)

    assert courier.discarded == [number]  # asked once: a refusal is an answer, not retried
    void = await _void(allocation_client, shop, number)
    assert (void["courier"], void["courier_code"], void["credited_cents"]) == ("collected", ALREADY_COLLECTED, 0)
    balance = await _balance(allocation_client, shop)
    assert (balance["balance_cents"], _void_credits(balance)) == (0, [])
    assert (await _purchase(allocation_client, shop, purchase_id))["voids_credited"] == 0
    # Shipping reads the same answer from the release (a repeat) as from GET.
    assert (await _release(allocation_client, shop, number))["void"] == void


async def test_a_shipped_number_released_before_collection_is_settled_by_the_courier(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    # The marketplace was told, but the courier has not collected the parcel (the shop changes its numbers):
    # the courier cancels it, and it is credited; one it had collected is not (the test above).
    await _buy(allocation_client, shop, admin)
    kept, collected = (
        await _printed(allocation_client, shop, "shipped-1"),
        await _printed(allocation_client, shop, "shipped-2"),
    )
    internal = bearer(INTERNAL_KEY, shop.id)
    for number in (kept, collected):
        marked = await allocation_client.post(
            f"/v1/waybills/{number}/mark", json={"status": "shipped"}, headers=internal
        )
        assert marked.status_code == 200, marked.text
        assert (await _release(allocation_client, shop, number))["void"]["courier"] == "pending"
    courier = VoidCourier(collected=frozenset({collected}))
    await _work(courier)
    assert sorted(courier.discarded) == sorted([kept, collected])
    assert (await _void(allocation_client, shop, kept))["credited_cents"] == 300
    assert (await _void(allocation_client, shop, collected))["courier"] == "collected"
    assert [e["amount_cents"] for e in _void_credits(await _balance(allocation_client, shop))] == [300]


async def test_a_busy_courier_is_asked_again_and_the_void_credited_once(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    await _buy(allocation_client, shop, admin)
    number = await _printed(allocation_client, shop, "busy-1")
    await _release(allocation_client, shop, number)
    courier = VoidCourier(BUSY, BUSY)  # ALLOCATION_COURIER_MAX_TRIES is 3 in tests: the third try gets through
    await _work(courier)

    assert courier.discarded == [number] * 3
    void = await _void(allocation_client, shop, number)
    assert (void["courier"], void["credited_cents"]) == ("discarded", 300)
    assert len(_void_credits(await _balance(allocation_client, shop))) == 1
    [row] = await _sql(env, "SELECT attempts FROM allocation.waybill_voids WHERE number = $1", number)
    assert row["attempts"] == 3


async def test_a_void_the_courier_never_answered_is_asked_again_later(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    from services.allocation.tasks import resend_unanswered_voids

    await _buy(allocation_client, shop, admin)
    number = await _printed(allocation_client, shop, "down-1")
    await _release(allocation_client, shop, number)
    down = VoidCourier(BUSY, BUSY, BUSY)
    await _work(down)  # out of tries: the job ends, the void stays pending
    assert down.discarded == [number] * 3
    assert (await _void(allocation_client, shop, number))["courier"] == "pending"

    async with worker_resources() as res:
        await resend_unanswered_voids(worker_ctx(res))  # asked moments ago: not yet
        up = VoidCourier()
        await _work(up)
        assert number not in up.discarded
        # ALLOCATION_VOID_RESEND_AFTER_S (600) later:
        await _sql(
            env,
            "UPDATE allocation.waybill_voids SET last_sent_at = now() - interval '601 seconds' WHERE number = $1",
            number,
        )
        assert await resend_unanswered_voids(worker_ctx(res)) >= 1
    await _work(up)
    assert up.discarded.count(number) == 1
    void = await _void(allocation_client, shop, number)
    assert (void["courier"], void["credited_cents"]) == ("discarded", 300)


@pytest.mark.parametrize(
    ("void_credit", "policy", "credited"),
    [
        ({"percent": 50, "fee_cents": 0}, "50%", 150),
        ({"percent": 100, "fee_cents": 50}, "full less 50 cents", 250),
        ({"percent": 0, "fee_cents": 0}, "none", 0),
    ],
)
async def test_the_credit_follows_the_purchase_policy_and_the_price_it_paid(
    env: Env,
    allocation_client: httpx.AsyncClient,
    shop: ShopCreds,
    admin: dict[str, str],
    void_credit: dict[str, int],
    policy: str,
    credited: int,
) -> None:
    purchase_id = await _buy(allocation_client, shop, admin, void_credit)
    # The catalogue changes after the sale (price and policy): the purchase's terms are what count.
    await _sql(
        env,
        "UPDATE allocation.carrier_packages SET price_cents = 999999, void_credit_percent = 100, void_fee_cents = 0 "
        "WHERE id = (SELECT package_id FROM allocation.purchases WHERE id = $1)",
        purchase_id,
    )
    number = await _printed(allocation_client, shop, "policy-1")
    assert (await _release(allocation_client, shop, number))["void"]["credit_policy"] == policy
    await _work(VoidCourier())

    void = await _void(allocation_client, shop, number)
    assert (void["courier"], void["credit_policy"], void["credited_cents"]) == ("discarded", policy, credited)
    balance = await _balance(allocation_client, shop)
    assert balance["balance_cents"] == credited
    entries = _void_credits(balance)
    if credited:
        [entry] = entries
        assert (entry["amount_cents"], entry["note"]) == (credited, f"void credit: number {number}, policy {policy}")
    else:
        assert entries == []  # no money moved: the void itself is the record
    bought = await _purchase(allocation_client, shop, purchase_id)
    assert (bought["void_credit"], bought["voids_credited"], bought["void_credited_cents"]) == (
        void_credit,
        1,
        credited,
    )


async def _race_voids(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], racers: int
) -> tuple[str, str]:
    """Several releases of one printed number at once (each request its own connection), then several workers
    settling its void at once. Answers the number and its purchase."""
    from services.allocation.tasks import discard_voided_number

    purchase_id = await _buy(allocation_client, shop, admin)
    number = await _printed(allocation_client, shop, "race-1")
    answers = await asyncio.gather(*(_release(allocation_client, shop, number) for _ in range(racers)))
    assert {a["status"] for a in answers} == {"voided"}
    rows = await _sql(env, "SELECT id FROM allocation.waybill_voids WHERE number = $1", number)
    assert len(rows) == 1, "one void per number"
    void_id = rows[0]["id"]
    jobs = await _sql(
        env,
        "SELECT count(*) AS n FROM allocation.outbox WHERE function = 'discard_voided_number' "
        "AND (kwargs->>'void_id')::bigint = $1",
        void_id,
    )
    assert jobs[0]["n"] == 1, "the courier is asked once per void"

    courier = VoidCourier()
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=courier)
        async with worker_resources() as res:
            await asyncio.gather(*(discard_voided_number(worker_ctx(res), void_id) for _ in range(racers)))
    await _work(VoidCourier())  # and the queued job, after them
    return number, purchase_id


async def test_racing_voids_and_settlements_of_one_number_credit_it_once(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    number, purchase_id = await _race_voids(env, allocation_client, shop, admin, racers=6)
    balance = await _balance(allocation_client, shop)
    assert [e["amount_cents"] for e in _void_credits(balance)] == [300]
    assert balance["balance_cents"] == 300
    assert (await _void(allocation_client, shop, number))["credited_cents"] == 300
    assert (await _purchase(allocation_client, shop, purchase_id))["voids_credited"] == 1


async def test_the_race_check_catches_a_settlement_without_its_condition(
    env: Env,
    allocation_client: httpx.AsyncClient,
    shop: ShopCreds,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same race with the settlement's "still pending" condition removed: the check above must see the
    # number credited more than once, or it would prove nothing.
    from sqlalchemy import true

    from services.allocation.repository import voids

    monkeypatch.setattr(voids, "_PENDING", true())
    await _race_voids(env, allocation_client, shop, admin, racers=6)
    assert len(_void_credits(await _balance(allocation_client, shop))) > 1


async def test_a_voided_number_never_goes_back_to_the_pool(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(3))
    number = await _printed(allocation_client, shop, "final-1")
    await _release(allocation_client, shop, number)

    # The database refuses it, whatever statement tries: back to the pool, to an order, printed again...
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        for status in (0, 1, 2, 3, 5, 6):
            with pytest.raises(asyncpg.CheckViolationError, match="is voided") as refused:
                await conn.execute("UPDATE allocation.waybills SET status = $1 WHERE number = $2", status, number)
            assert refused.value.constraint_name == "waybills_voided_is_final"
        # ...but supersession (a typed entry never printed, taken over by a purchase), tried and rolled back.
        tx = conn.transaction()
        await tx.start()
        await conn.execute("UPDATE allocation.waybills SET status = 7 WHERE number = $1", number)
        await tx.rollback()
        assert await conn.fetchval("SELECT status FROM allocation.waybills WHERE number = $1", number) == 4
    finally:
        await conn.close()

    # And the API: it cannot be marked again, and allocation hands out the other numbers, never this one.
    internal = bearer(INTERNAL_KEY, shop.id)
    for state in ("printed", "shipped", "quarantined", "expired"):
        marked = await allocation_client.post(f"/v1/waybills/{number}/mark", json={"status": state}, headers=internal)
        assert marked.status_code == 409, (state, marked.text)
    handed = []
    for i in range(3):
        resp = await allocation_client.post(
            "/v1/allocations", json={"carrier": "ZTO", "order_id": f"final-next-{i}"}, headers=shop.headers
        )
        handed.append(resp.json().get("number"))
    assert number not in handed
    assert handed[-1] is None  # the two others, then the pool is empty


async def test_a_typed_number_is_voided_without_asking_the_courier(
    allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    from shared.waybill import s10_check_digit

    digits = f"{uuid.uuid4().int % 10**8:08d}"
    typed = f"EA{digits}{s10_check_digit(digits)}CN"
    resp = await allocation_client.post(
        "/v1/waybills/manual", json={"carrier": "EMS", "number": typed, "order_id": "typed-1"}, headers=shop.headers
    )
    assert resp.status_code == 201, resp.text
    void = (await _release(allocation_client, shop, typed))["void"]
    assert (void["courier"], void["credit_policy"], void["credited_cents"]) == ("not_sent", None, 0)
    assert void["settled_at"] is not None
    courier = VoidCourier()
    await _work(courier)
    assert typed not in courier.discarded
    assert await _void(allocation_client, shop, typed) == void


async def test_the_catalogue_says_each_packages_void_credit(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    carriers = (await allocation_client.get("/v1/carriers", headers=shop.headers)).json()["data"]
    policies = {
        c["code"]: {
            (p["void_credit"]["percent"], p["void_credit"]["fee_cents"])
            for p in c["packages"]
            if p["id"].startswith(c["code"] + "-")
        }
        for c in carriers
    }
    assert policies["ZTO"] == policies["YTO"] == policies["EMS"] == {(100, 0)}
    assert policies["SF"] == {(100, 50)}
    assert policies["ZJS"] == policies["DBKD"] == {(50, 0)}
    assert policies["JD"] == {(0, 0)}
    refused = await allocation_client.post(
        "/v1/carriers/ZTO/packages",
        json={
            "id": f"T-{uuid.uuid4().hex[:12]}",
            "quantity": 1,
            "price_cents": 1,
            "validity_days": 1,
            "void_credit": {"percent": 101},
        },
        headers=admin,
    )
    assert refused.status_code == 422
