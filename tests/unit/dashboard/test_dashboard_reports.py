"""支出报表 over mocked services: the period in the shop's own zone, the chart drawn as SVG (spend by carrier,
the cost of the numbers used by store or channel), totals and rows in yuan, the CSV download, English on the
switch, a refusal shown in the page, and the operators' every-shop report."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_fakes import ALLOC, SHIP, SHOP, error, list_page, shop_settings

BASE = f"/shops/{SHOP}"
REPORT = f"{ALLOC}/v1/reports/spend"


def _figures(**changes: Any) -> dict[str, Any]:
    zero = dict.fromkeys(
        ("bought", "used", "voided", "expired", "refunded", "spent_cents", "refunded_cents", "extension_fees_cents"),
        0,
    )
    figures = {**zero, "net_cents": 0, "used_cost_cents": 0, "average_cost_cents": None}
    figures.update(changes)
    return figures


def row(bucket: str, group: str | None, shop_id: str = SHOP, **figures: Any) -> dict[str, Any]:
    return {"bucket": bucket, "shop_id": shop_id, "group": group, **_figures(**figures)}


def report(
    group_by: str = "carrier", shop_id: str | None = SHOP, rows: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    rows = (
        rows
        if rows is not None
        else [
            row("2026-12-06", "ZTO", bought=1000, spent_cents=280000, net_cents=280000),
            row("2026-12-07", "ZTO", used=3, used_cost_cents=840, average_cost_cents=280.0, net_cents=-840,
                refunded_cents=840),
            row("2026-12-07", "YTO", spent_cents=150000, extension_fees_cents=900, net_cents=150900),
        ]
    )  # fmt: skip
    totals = _figures(
        bought=1000, used=3, spent_cents=430000, refunded_cents=840, extension_fees_cents=900, net_cents=430060,
        used_cost_cents=840, average_cost_cents=280.0,
    )  # fmt: skip
    return {
        "shop_id": shop_id,
        "from_date": "2026-12-06",
        "to_date": "2026-12-07",
        "interval": "day",
        "group_by": group_by,
        "tz": "Asia/Shanghai",
        "buckets": ["2026-12-06", "2026-12-07"],
        "rows": rows,
        "totals": totals,
    }


def _bars(text: str) -> list[str]:
    """The tooltips of the chart's columns (one per bucket and group with something to draw)."""
    return re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", text)


async def test_the_report_page_draws_the_chart_and_sums_in_the_shops_zone(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{SHIP}/v1/settings").respond(json=shop_settings(time_zone="America/Los_Angeles"))
    route = services.get(REPORT).respond(json=report())
    page = await shop.get(f"{BASE}/reports")
    assert page.status_code == 200, page.text
    params = route.calls.last.request.url.params
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    # The last 14 days up to today, as the shop's zone counts them.
    assert (params["from_date"], params["to_date"]) == (str(today - timedelta(days=13)), str(today))
    assert (params["tz"], params["interval"], params["group_by"]) == ("America/Los_Angeles", "day", "carrier")
    text = page.text
    assert "<svg" in text
    assert "<script" not in text
    assert "支出（购买与延期费）" in text
    # Purchases and extension fees, stacked per carrier: 06 ZTO, 07 YTO (ZTO's 07 spent nothing).
    assert _bars(text) == ["12-06 · ZTO: ¥2,800.00", "12-07 · YTO: ¥1,509.00"]
    assert 'data-total="net">¥4,300.60<' in text
    assert 'data-total="average">¥2.80<' in text
    assert re.search(r'data-bucket="2026-12-07" data-group="ZTO">.*?data-col="used">3<', text, re.S)
    assert 'href="/shops/s-1/reports/spend.csv?from_date=' in text
    assert 'data-testid="tab-reports"' in text
    assert "日期按时区 America/Los_Angeles" in text


async def test_by_channel_the_chart_is_the_cost_of_the_numbers_used(
    shop: httpx.AsyncClient, services: Services
) -> None:
    rows = [
        row("2026-12-07", "taobao", used=2, used_cost_cents=600, average_cost_cents=300.0),
        row("2026-12-07", None, bought=10, spent_cents=3000, used=1, used_cost_cents=0, average_cost_cents=0.0),
    ]
    route = services.get(REPORT).respond(json=report("channel", rows=rows))
    page = await shop.get(f"{BASE}/reports?from_date=2026-12-06&to_date=2026-12-07&interval=week&by=channel")
    assert page.status_code == 200, page.text
    params = route.calls.last.request.url.params
    assert (params["from_date"], params["to_date"], params["interval"], params["group_by"]) == (
        "2026-12-06",
        "2026-12-07",
        "week",
        "channel",
    )
    assert "已用单号的成本" in page.text
    assert _bars(page.text) == ["12-07 · 淘宝: ¥6.00"]  # the spend has no channel: not in this chart
    assert '<span class="muted">未注明</span>' in page.text


async def test_by_store_the_stores_are_named(shop: httpx.AsyncClient, services: Services) -> None:
    rows = [row("2026-12-07", "sto-tb", used=2, used_cost_cents=600, average_cost_cents=300.0)]
    services.get(REPORT).respond(json=report("store", rows=rows))
    page = await shop.get(f"{BASE}/reports?by=store")
    assert _bars(page.text) == ["12-07 · 杭州小铺 天猫店: ¥6.00"]


async def test_in_english(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(REPORT).respond(json=report())
    page = await shop.get(f"{BASE}/reports?lang=en")
    assert "Spent (purchases and extension fees)" in page.text
    assert "Cost per shipped parcel" in page.text
    assert "Download CSV" in page.text


async def test_the_csv_download_is_the_apis_file_in_the_shops_zone(shop: httpx.AsyncClient, services: Services) -> None:
    csv = "bucket,shop_id,carrier\r\n2026-12-07,s-1,ZTO\r\n"
    route = services.get(REPORT).respond(text=csv, headers={"Content-Type": "text/csv"})
    got = await shop.get(f"{BASE}/reports/spend.csv?from_date=2026-12-01&to_date=2026-12-07&by=store")
    assert got.status_code == 200
    assert got.text == csv
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"] == 'attachment; filename="spend-s-1-2026-12-01-2026-12-07-day-store.csv"'
    sent = route.calls.last.request
    assert sent.headers["accept"] == "text/csv"
    assert (sent.url.params["tz"], sent.url.params["group_by"]) == ("Asia/Shanghai", "store")


async def test_a_refused_period_is_said_in_the_page(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(REPORT).mock(return_value=error(422, "validation_error", "invalid request: to_date"))
    page = await shop.get(f"{BASE}/reports?from_date=2026-12-07&to_date=2026-12-01")
    assert page.status_code == 200
    assert "validation_error" in page.text
    assert "<svg" not in page.text
    bad = await shop.get(f"{BASE}/reports/spend.csv?from_date=2026-12-07&to_date=2026-12-01")
    assert bad.status_code == 422


async def test_operators_see_every_shops_report(operator: httpx.AsyncClient, services: Services) -> None:
    rows = [row("2026-12-06", "ZTO", spent_cents=100), row("2026-12-06", "ZTO", shop_id="s-2", spent_cents=200)]
    route = services.get(REPORT).respond(json=report(shop_id=None, rows=rows))
    services.get(f"{ALLOC}/v1/shops").respond(json=list_page([]))
    home = await operator.get("/")
    assert 'href="/reports" data-testid="every-shop-spend"' in home.text
    page = await operator.get("/reports")
    assert page.status_code == 200, page.text
    sent = route.calls.last.request.headers
    assert sent["authorization"] == "Bearer admin-key-for-tests"
    assert "x-shop-id" not in sent
    assert _bars(page.text) == ["12-06 · ZTO: ¥3.00"]  # every shop's added up
    assert 'href="/shops/s-2/reports?' in page.text
    csv = services.get(REPORT).respond(text="bucket\r\n", headers={"Content-Type": "text/csv"})
    got = await operator.get("/reports/spend.csv")
    assert "spend-all-shops-" in got.headers["content-disposition"]
    assert "x-shop-id" not in csv.calls.last.request.headers
    # One shop's, acting for it.
    services.get(REPORT).respond(json=report())
    one = await operator.get(f"{BASE}/reports")
    assert one.status_code == 200


async def test_a_shop_cannot_open_every_shops_report(shop: httpx.AsyncClient, services: Services) -> None:
    route = services.get(REPORT).respond(json=report())
    assert (await shop.get("/reports")).status_code == 404
    assert (await shop.get("/reports/spend.csv")).status_code == 404
    assert (await shop.get("/shops/s-2/reports")).status_code == 404
    assert not route.calls
