"""Spend report buckets: days, ISO weeks and months cut at the zone's midnight (Asia/Shanghai is 8 hours ahead of
UTC: 15:59:59Z is the evening before, 16:00:00Z the next day), every bucket listed, figures dated by the moment
that counts (a shipped number by shipped_at, one shipped before a0005 by its last change), and the query's
refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.integration.spend_support import allocate, report, ship, sql
from tests.support import Env

# 2026-03-01 is a Sunday. As Shanghai sees these moments:
EVENING = datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)  # Sunday 1 March, 23:59:59
MIDNIGHT = datetime(2026, 3, 1, 16, tzinfo=UTC)  # Monday 2 March, 00:00:00
FEB_END = datetime(2026, 2, 28, 16, 30, tzinfo=UTC)  # Sunday 1 March, 00:30 (still February in UTC)


async def _shipped_at(env: Env, client: httpx.AsyncClient, shop: ShopCreds, moments: list[datetime]) -> list[str]:
    """Numbers shipped (from the pool: no purchase, cost 0), then dated ``moments``."""
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(len(moments)))
    numbers = list((await allocate(client, shop, [f"b-{i}" for i in range(len(moments))])).values())
    for number, moment in zip(numbers, moments, strict=True):
        await ship(client, shop, number, "sto-1", "taobao")
        await sql(env, "UPDATE allocation.waybills SET shipped_at = $2 WHERE number = $1", number, moment)
    return numbers


async def _fee_at(env: Env, shop: ShopCreds, moment: datetime, cents: int) -> None:
    """An extension fee booked at ``moment`` (written as the ledger writes one, at a time of the test's)."""
    await sql(
        env,
        "INSERT INTO allocation.ledger_entries (shop_id, amount_cents, balance_after_cents, kind, reference, note,"
        " created_at) VALUES ($1, $2, 0, 'extension', NULL, 'test fee', $3)",
        shop.id,
        -cents,
        moment,
    )


def _used(body: dict[str, Any]) -> dict[str, int]:
    return {r["bucket"]: r["used"] for r in body["rows"] if r["used"]}


async def test_days_are_cut_at_the_zones_midnight(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await _shipped_at(env, allocation_client, shop, [EVENING, MIDNIGHT])
    await _fee_at(env, shop, EVENING, 100)
    await _fee_at(env, shop, MIDNIGHT, 200)
    first, last = date(2026, 3, 1), date(2026, 3, 2)
    shanghai = await report(allocation_client, shop.headers, first, last)
    assert _used(shanghai) == {"2026-03-01": 1, "2026-03-02": 1}
    fees = {r["bucket"]: r["extension_fees_cents"] for r in shanghai["rows"] if r["extension_fees_cents"]}
    assert fees == {"2026-03-01": 100, "2026-03-02": 200}
    assert shanghai["buckets"] == ["2026-03-01", "2026-03-02"]
    # In UTC both moments are the first of March.
    utc = await report(allocation_client, shop.headers, first, last, tz="UTC")
    assert _used(utc) == {"2026-03-01": 2}
    assert utc["totals"]["extension_fees_cents"] == 300
    # The period's edges are the zone's midnights too: 2 March alone holds only what Shanghai saw that day.
    second = await report(allocation_client, shop.headers, last, last)
    assert (second["totals"]["used"], second["totals"]["extension_fees_cents"]) == (1, 200)


async def test_weeks_start_on_monday_and_months_on_the_first_in_the_zone(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await _shipped_at(env, allocation_client, shop, [FEB_END, EVENING, MIDNIGHT])
    first, last = date(2026, 2, 1), date(2026, 3, 31)
    weeks = await report(allocation_client, shop.headers, first, last, interval="week")
    # Shanghai: Sunday 1 March twice (the week of Monday 23 February), then Monday 2 March.
    assert _used(weeks) == {"2026-02-23": 2, "2026-03-02": 1}
    assert weeks["buckets"][0] == "2026-01-26"  # the week 1 February falls in
    assert weeks["buckets"][-1] == "2026-03-30"
    assert all(date.fromisoformat(b).weekday() == 0 for b in weeks["buckets"])
    utc_weeks = await report(allocation_client, shop.headers, first, last, interval="week", tz="UTC")
    assert _used(utc_weeks) == {"2026-02-23": 3}
    months = await report(allocation_client, shop.headers, first, last, interval="month")
    assert months["buckets"] == ["2026-02-01", "2026-03-01"]
    assert _used(months) == {"2026-03-01": 3}
    utc_months = await report(allocation_client, shop.headers, first, last, interval="month", tz="UTC")
    assert _used(utc_months) == {"2026-02-01": 1, "2026-03-01": 2}


async def test_a_number_shipped_before_a0005_counts_on_its_last_change(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    old, voided = await _shipped_at(env, allocation_client, shop, [EVENING, EVENING])
    await sql(
        env,
        "UPDATE allocation.waybills SET shipped_at = NULL, updated_at = $2 WHERE number = $1",
        old,
        MIDNIGHT,
    )
    # Without shipped_at and no longer shipped, nothing says when it was used: not counted.
    await sql(
        env, "UPDATE allocation.waybills SET shipped_at = NULL, status = 4, order_ref = 'x' WHERE number = $1", voided
    )
    body = await report(allocation_client, shop.headers, date(2026, 3, 1), date(2026, 3, 2))
    assert _used(body) == {"2026-03-02": 1}


async def test_expired_numbers_count_on_their_expiry(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(2))
    await sql(
        env,
        "UPDATE allocation.waybills w SET status = 5, expires_at = $2, updated_at = now() "
        "FROM allocation.pools p WHERE p.id = w.pool_id AND p.shop_id = $1",
        shop.id,
        MIDNIGHT,
    )
    body = await report(allocation_client, shop.headers, date(2026, 3, 1), date(2026, 3, 2))
    assert {r["bucket"]: r["expired"] for r in body["rows"] if r["expired"]} == {"2026-03-02": 2}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from_date": "2026-03-02", "to_date": "2026-03-01"}, "to_date"),
        ({"from_date": "2026-03-01", "to_date": "2026-03-02", "tz": "Mars/Olympus"}, "tz"),
        ({"from_date": "2026-03-01", "to_date": "2026-03-02", "tz": "../etc"}, "tz"),
        ({"from_date": "2025-01-01", "to_date": "2026-01-02"}, "to_date"),  # 367 days by day
        ({"from_date": "2020-01-01", "to_date": "2026-01-02", "interval": "week"}, "to_date"),
        ({"from_date": "1999-12-31", "to_date": "2000-01-01"}, "from_date"),
        ({"from_date": "2026-03-01", "to_date": "2026-03-02", "interval": "hour"}, "interval"),
        ({"from_date": "2026-03-01", "to_date": "2026-03-02", "group_by": "province"}, "group_by"),
        ({"from_date": "2026-03-01"}, "to_date"),
        ({"from_date": "yesterday", "to_date": "2026-03-02"}, "from_date"),
    ],
)
async def test_a_query_the_report_cannot_answer_is_refused(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, params: dict[str, str], field: str
) -> None:
    resp = await allocation_client.get("/v1/reports/spend", params=params, headers=shop.headers)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert [f["field"] for f in error["details"]["fields"]] == [field]


async def test_a_year_by_day_and_ten_years_by_month_are_answered(
    allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    year = await report(allocation_client, shop.headers, date(2024, 1, 1), date(2024, 12, 31))
    assert len(year["buckets"]) == 366
    assert year["rows"] == []
    assert year["totals"]["average_cost_cents"] is None
    decade = await report(allocation_client, shop.headers, date(2016, 1, 1), date(2025, 12, 31), interval="month")
    assert len(decade["buckets"]) == 120
