"""``GET /v1/reports/spend`` over a day of a shop's activity (purchases, one failed, allocations, ships from
several stores and channels, a typed number, a void credited, an expiry, a refund, an extension): each column
counts what it says, the money sums to the ledger's rows but top-ups to the cent, the cost of a used number is
what its purchase paid, grouping by store or channel, CSV, the operators' view across shops, and a shop sees
only its own."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from tests.integration.allocation_support import (
    GATEWAY,
    add_package,
    run_allocation_jobs,
    start_purchase,
    zto_numbers,
)
from tests.integration.conftest import ShopCreds, make_shop
from tests.integration.spend_support import allocate, around_today, mark, ship, sql, sum_rows
from tests.support import Env, run_jobs

QUANTITY_A, PRICE_A, FEE_PER_30 = 10, 3001, 900  # 300.1 cents a number
QUANTITY_B, PRICE_B = 4, 1000  # 250 cents a number


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    # Jobs other tests queued and never ran would otherwise run against this test's courier.
    await redis.delete("arq:allocation")


@dataclass
class Day:
    """What the day did, as the test knows it."""

    shop: ShopCreds
    prices: dict[str, tuple[int, int]]  # purchase id -> (price in cents, quantity)
    shipped: dict[str, tuple[str | None, str | None]]  # number -> (store, channel)
    typed: str
    refunded: int


async def _buy(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], package: str) -> str:
    purchase = await start_purchase(client, shop.headers, admin, shop.id, package)
    await run_allocation_jobs()
    return str(purchase["id"])


async def _failed_purchase(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], package: str) -> None:
    from services.allocation.tasks import WorkerSettings

    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(return_value=httpx.Response(503, text="courier down"))
        await start_purchase(client, shop.headers, admin, shop.id, package)
        await run_jobs(WorkerSettings, max_tries=3)


async def a_day(client: httpx.AsyncClient, admin: dict[str, str], env: Env) -> Day:
    shop = await make_shop(client)
    package_a = await add_package(client, admin, QUANTITY_A, PRICE_A, extension_fee=FEE_PER_30)
    package_b = await add_package(client, admin, QUANTITY_B, PRICE_B)
    bought = [await _buy(client, shop, admin, package_a), await _buy(client, shop, admin, package_b)]
    await _failed_purchase(client, shop, admin, package_b)
    # The catalogue's prices change after the purchases: a used number costs what its purchase paid.
    await sql(env, "UPDATE allocation.carrier_packages SET price_cents = 1 WHERE id = ANY($1)", [package_a, package_b])
    orders = [f"day-{i}" for i in range(6)]
    numbers = await allocate(client, shop, orders)
    uses: list[tuple[str | None, str | None]] = [
        ("sto-t", "taobao"),
        ("sto-t", "taobao"),
        ("sto-p", "pinduoduo"),
        (None, "own"),
    ]
    shipped = {numbers[o]: use for o, use in zip(orders, uses, strict=False)}
    for number, (store, channel) in shipped.items():
        await ship(client, shop, number, store, channel)
    typed = zto_numbers(1)[0]
    resp = await client.post(
        "/v1/waybills/manual", json={"carrier": "ZTO", "number": typed, "order_id": "day-typed"}, headers=shop.headers
    )
    assert resp.status_code == 201, resp.text
    await ship(client, shop, typed, None, "own")
    # Printed and voided before collection (credited once the courier cancels it), and one the marketplace
    # refused as expired.
    await mark(client, shop, numbers["day-4"], status="printed")
    released = await client.post(f"/v1/waybills/{numbers['day-4']}/release", headers=shop.headers)
    assert released.json()["status"] == "voided"
    await mark(client, shop, numbers["day-5"], status="expired", reason="marketplace: expired")
    await run_allocation_jobs()  # the courier cancels the void: credited
    # The second purchase's unused numbers refunded, the first's extended.
    refund = await client.post(f"/v1/purchases/{bought[1]}/refund", headers=shop.headers)
    assert refund.status_code == 200, refund.text
    await client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": FEE_PER_30}, headers=admin)
    extended = await client.post(f"/v1/purchases/{bought[0]}/extend", json={"days": 30}, headers=shop.headers)
    assert extended.status_code == 200, extended.text
    prices = {bought[0]: (PRICE_A, QUANTITY_A), bought[1]: (PRICE_B, QUANTITY_B)}
    return Day(shop, prices, shipped, typed, int(refund.json()["refunded_quantity"]))


async def _ledger(client: httpx.AsyncClient, shop: ShopCreds) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await client.get("/v1/balance?limit=1000", headers=shop.headers)).json()["ledger"]
    return entries


async def _cost_of_used(client: httpx.AsyncClient, day: Day) -> Decimal:
    cost = Decimal(0)
    for number in day.shipped:
        purchase = (await client.get(f"/v1/waybills/{number}", headers=day.shop.headers)).json()["purchase_id"]
        price, quantity = day.prices[purchase]
        cost += Decimal(price) / quantity
    return cost  # the typed number costs nothing


@pytest.fixture
async def day(allocation_client: httpx.AsyncClient, admin: dict[str, str], env: Env) -> Day:
    return await a_day(allocation_client, admin, env)


async def test_a_days_report_counts_each_column_and_sums_to_the_ledger_to_the_cent(
    allocation_client: httpx.AsyncClient, day: Day
) -> None:
    body = await around_today(allocation_client, day.shop.headers)
    totals = body["totals"]
    assert (body["shop_id"], body["tz"], body["interval"], body["group_by"]) == (
        day.shop.id,
        "Asia/Shanghai",
        "day",
        "carrier",
    )
    assert len(body["buckets"]) == 3
    counts = {k: totals[k] for k in ("bought", "used", "voided", "expired", "refunded")}
    assert counts == {"bought": QUANTITY_A + QUANTITY_B, "used": 5, "voided": 1, "expired": 1, "refunded": day.refunded}
    assert day.refunded > 0

    ledger = await _ledger(allocation_client, day.shop)
    by_kind: dict[str, int] = {}
    for e in ledger:
        by_kind[e["kind"]] = by_kind.get(e["kind"], 0) + e["amount_cents"]
    assert {"purchase", "purchase_refund", "refund", "void_credit", "extension"} <= set(by_kind)
    assert totals["spent_cents"] == -by_kind["purchase"] == PRICE_A + 2 * PRICE_B
    assert totals["extension_fees_cents"] == -by_kind["extension"] == FEE_PER_30
    credits = by_kind["purchase_refund"] + by_kind["refund"] + by_kind["void_credit"]
    assert totals["refunded_cents"] == credits
    # The report's money is the ledger's, every row but the top-ups, to the cent.
    assert totals["net_cents"] == -sum(e["amount_cents"] for e in ledger if e["kind"] != "topup")
    assert totals["net_cents"] == totals["spent_cents"] + totals["extension_fees_cents"] - totals["refunded_cents"]

    cost = await _cost_of_used(allocation_client, day)
    assert totals["used_cost_cents"] == int(cost.quantize(Decimal(1)))
    assert totals["average_cost_cents"] == float((cost / 5).quantize(Decimal("0.01")))
    # Every row is ZTO's (the carrier of every purchase and number), and the rows add up to the totals.
    assert {r["group"] for r in body["rows"]} == {"ZTO"}
    for name in ("bought", "used", "voided", "expired", "refunded", "spent_cents", "refunded_cents", "net_cents"):
        assert sum_rows(body["rows"], name) == totals[name], name


async def test_by_store_and_channel_only_used_numbers_have_one(allocation_client: httpx.AsyncClient, day: Day) -> None:
    by_store = await around_today(allocation_client, day.shop.headers, group_by="store")
    used = {r["group"]: r["used"] for r in by_store["rows"] if r["used"]}
    assert used == {"sto-t": 2, "sto-p": 1, None: 2}  # the own order and the typed number have no store
    unstored = [r for r in by_store["rows"] if r["group"] is None]
    assert sum_rows(unstored, "bought") == QUANTITY_A + QUANTITY_B
    assert sum_rows(unstored, "spent_cents") == by_store["totals"]["spent_cents"]
    stored = [r for r in by_store["rows"] if r["group"] is not None]
    assert {r["group"]: r["average_cost_cents"] for r in stored}.keys() == {"sto-t", "sto-p"}
    assert all(r["bought"] == r["spent_cents"] == r["voided"] == 0 for r in stored)

    by_channel = await around_today(allocation_client, day.shop.headers, group_by="channel")
    used = {r["group"]: r["used"] for r in by_channel["rows"] if r["used"]}
    assert used == {"taobao": 2, "pinduoduo": 1, "own": 2}
    own = next(r for r in by_channel["rows"] if r["group"] == "own")
    pool_number = next(n for n, (_, channel) in day.shipped.items() if channel == "own")
    purchase = (await allocation_client.get(f"/v1/waybills/{pool_number}", headers=day.shop.headers)).json()
    price, quantity = day.prices[purchase["purchase_id"]]
    # The own channel's two: one from a purchase, one typed (cost 0).
    assert own["average_cost_cents"] == float((Decimal(price) / quantity / 2).quantize(Decimal("0.01")))
    # The totals do not depend on the grouping.
    carrier = await around_today(allocation_client, day.shop.headers)
    assert by_store["totals"] == by_channel["totals"] == carrier["totals"]


async def test_the_report_as_csv(allocation_client: httpx.AsyncClient, day: Day) -> None:
    json_body = await around_today(allocation_client, day.shop.headers, group_by="channel")
    resp = await allocation_client.get(
        "/v1/reports/spend",
        params={"from_date": json_body["from_date"], "to_date": json_body["to_date"], "group_by": "channel"},
        headers={**day.shop.headers, "Accept": "text/csv"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    expected = f"spend-{day.shop.id}-{json_body['from_date']}-{json_body['to_date']}-day-channel.csv"
    assert resp.headers["content-disposition"] == f'attachment; filename="{expected}"'
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert list(rows[0]) == [
        "bucket", "shop_id", "channel", "bought", "used", "voided", "expired", "refunded", "spent_yuan",
        "refunded_yuan", "extension_fees_yuan", "net_yuan", "used_cost_yuan", "average_cost_yuan",
    ]  # fmt: skip
    assert len(rows) == len(json_body["rows"])
    for line, row in zip(rows, json_body["rows"], strict=True):
        assert (line["bucket"], line["channel"], int(line["used"])) == (row["bucket"], row["group"] or "", row["used"])
        assert line["spent_yuan"] == f"{row['spent_cents'] / 100:.2f}"
        assert Decimal(line["net_yuan"]) * 100 == row["net_cents"]  # exact: no float in between
    # A client that prefers JSON (or says nothing) gets JSON.
    for accept in ("application/json, text/csv;q=0.5", "*/*", "text/csv;q=0.1, application/json"):
        other = await allocation_client.get(
            "/v1/reports/spend",
            params={"from_date": json_body["from_date"], "to_date": json_body["to_date"]},
            headers={**day.shop.headers, "Accept": accept},
        )
        assert other.headers["content-type"].startswith("application/json"), accept


async def test_operators_see_every_shop_and_a_shop_only_its_own(
    allocation_client: httpx.AsyncClient, admin: dict[str, str], env: Env
) -> None:
    first = await a_day(allocation_client, admin, env)
    second = await make_shop(allocation_client, "另一家")
    await _buy(allocation_client, second, admin, await add_package(allocation_client, admin, 5, 500))
    mine = await around_today(allocation_client, first.shop.headers)
    theirs = await around_today(allocation_client, second.headers)
    assert {r["shop_id"] for r in mine["rows"]} == {first.shop.id}
    assert theirs["totals"]["bought"] == 5
    assert theirs["totals"]["used"] == 0
    assert theirs["totals"]["spent_cents"] == 500

    everyone = await around_today(allocation_client, admin)
    assert everyone["shop_id"] is None
    per_shop = {s: [r for r in everyone["rows"] if r["shop_id"] == s] for s in (first.shop.id, second.id)}
    assert sum_rows(per_shop[first.shop.id], "net_cents") == mine["totals"]["net_cents"]
    assert sum_rows(per_shop[second.id], "bought") == 5
    # Every shop's ledger (other tests' shops too) is in the operators' totals.
    (row,) = await sql(
        env,
        "SELECT coalesce(sum(amount_cents), 0) AS total FROM allocation.ledger_entries WHERE kind <> 'topup' "
        "AND created_at >= timezone('Asia/Shanghai', $1::timestamp) "
        "AND created_at < timezone('Asia/Shanghai', $2::timestamp)",
        *_edges(everyone),
    )
    assert everyone["totals"]["net_cents"] == -row["total"]

    one = await around_today(allocation_client, admin, shop_id=second.id)
    assert one["shop_id"] == second.id
    assert one["totals"] == theirs["totals"]
    acting = await around_today(allocation_client, {**admin, "X-Shop-Id": second.id})
    assert acting["totals"] == theirs["totals"]
    unknown = await allocation_client.get(
        "/v1/reports/spend",
        params={"from_date": "2026-01-01", "to_date": "2026-01-02", "shop_id": "s-nope"},
        headers=admin,
    )
    assert unknown.status_code == 404


async def test_a_shop_naming_another_shop_gets_not_found(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds
) -> None:
    params = {"from_date": "2026-01-01", "to_date": "2026-01-02"}
    resp = await allocation_client.get(
        "/v1/reports/spend", params={**params, "shop_id": other_shop.id}, headers=shop.headers
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    own = await allocation_client.get("/v1/reports/spend", params={**params, "shop_id": shop.id}, headers=shop.headers)
    assert own.status_code == 200
    assert own.json()["shop_id"] == shop.id


def _edges(body: dict[str, Any]) -> tuple[datetime, datetime]:
    """The report's period as midnights (naive, for PostgreSQL's timezone())."""
    first = date.fromisoformat(body["from_date"])
    last = date.fromisoformat(body["to_date"]) + timedelta(days=1)
    return datetime(first.year, first.month, first.day), datetime(last.year, last.month, last.day)
