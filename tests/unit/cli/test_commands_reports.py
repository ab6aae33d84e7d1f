"""``waybill reports spend``: the period (default: the last 7 days in the zone in force), the zone sent as
``tz``, a table with money in yuan and the totals, --json the API's answer, --csv its file, and operators'
--shop / --all-shops with the admin key."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import ALLOC

runner = CliRunner()
URL = f"{ALLOC}/v1/reports/spend"


def _figures(**changes: Any) -> dict[str, Any]:
    base = {
        "bought": 1000,
        "used": 412,
        "voided": 3,
        "expired": 1,
        "refunded": 2,
        "spent_cents": 280000,
        "refunded_cents": 840,
        "extension_fees_cents": 900,
        "net_cents": 280060,
        "used_cost_cents": 115360,
        "average_cost_cents": 280.0,
    }
    return base | changes


def report(shop_id: str | None = "s-1", group_by: str = "carrier", **changes: Any) -> dict[str, Any]:
    rows = [
        {"bucket": "2026-12-06", "shop_id": "s-1", "group": "ZTO", **_figures()},
        {"bucket": "2026-12-07", "shop_id": "s-1", "group": None, **_figures(used=0, average_cost_cents=None)},
    ]
    return {
        "shop_id": shop_id,
        "from_date": "2026-12-01",
        "to_date": "2026-12-07",
        "interval": "day",
        "group_by": group_by,
        "tz": "Asia/Shanghai",
        "buckets": [f"2026-12-0{d}" for d in range(1, 8)],
        "rows": rows,
        "totals": _figures(),
        **changes,
    }


def test_spend_sends_the_period_and_the_zone_and_prints_yuan() -> None:
    with respx.mock:
        route = respx.get(URL).respond(json=report())
        result = runner.invoke(app, ["--tz", "UTC", "reports", "spend", "--from", "2026-12-01", "--to", "2026-12-07"])
    assert result.exit_code == 0, result.output
    params = dict(route.calls.last.request.url.params)
    assert params == {
        "from_date": "2026-12-01",
        "to_date": "2026-12-07",
        "interval": "day",
        "group_by": "carrier",
        "tz": "UTC",
    }
    assert route.calls.last.request.headers["Authorization"] == "Bearer wbk_k_s"
    out = result.output
    assert "2026-12-06" in out
    assert "ZTO" in out
    assert "¥2,800.00" in out  # spent
    assert "¥2.80" in out  # the cost per parcel: 280 cents
    assert "total: bought 1000, used 412, voided 3, expired 1, refunded 2" in out
    assert "net ¥2,800.60" in out
    assert "shop" not in out.split("\n")[2]  # one shop's report: no shop column


def test_spend_defaults_to_the_last_seven_days_in_the_profiles_zone(monkeypatch: Any) -> None:
    monkeypatch.setenv("WAYBILL_TIMEZONE", "America/Los_Angeles")
    with respx.mock:
        route = respx.get(URL).respond(json=report())
        result = runner.invoke(app, ["reports", "spend", "--interval", "week", "--by", "store"])
    assert result.exit_code == 0, result.output
    params = dict(route.calls.last.request.url.params)
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()
    assert params["to_date"] == str(today)
    assert params["from_date"] == str(today - timedelta(days=6))
    assert (params["tz"], params["interval"], params["group_by"]) == ("America/Los_Angeles", "week", "store")


def test_spend_json_prints_the_answer_and_csv_the_file() -> None:
    csv = "bucket,shop_id,carrier\r\n2026-12-07,s-1,ZTO\r\n"
    with respx.mock:
        respx.get(URL).respond(json=report())
        raw = runner.invoke(app, ["reports", "spend", "--from", "2026-12-01", "--to", "2026-12-07", "--json"])
        route = respx.get(URL).respond(text=csv, headers={"Content-Type": "text/csv; charset=utf-8"})
        as_csv = runner.invoke(app, ["reports", "spend", "--from", "2026-12-01", "--to", "2026-12-07", "--csv"])
    assert raw.exit_code == 0, raw.output
    assert json.loads(raw.stdout) == report()
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout_bytes == csv.encode()
    assert route.calls.last.request.headers["Accept"] == "text/csv"


def test_operators_name_a_shop_or_every_shop_with_the_admin_key() -> None:
    with respx.mock:
        route = respx.get(URL).respond(json=report(shop_id=None))
        every = runner.invoke(app, ["reports", "spend", "--all-shops", "--to", "2026-12-07"])
        one = runner.invoke(app, ["reports", "spend", "--shop", "s-2", "--to", "2026-12-07"])
    assert every.exit_code == 0, every.output
    assert one.exit_code == 0, one.output
    first, second = (c.request for c in route.calls)
    assert first.headers["Authorization"] == second.headers["Authorization"] == "Bearer admin"
    assert "shop_id" not in first.url.params
    assert second.url.params["shop_id"] == "s-2"
    assert "shop" in every.output.split("\n")[2]  # every shop: a shop column


def test_spend_refuses_bad_input_before_any_call() -> None:
    with respx.mock:
        route = respx.get(URL).respond(json=report())
        bad_date = runner.invoke(app, ["reports", "spend", "--from", "1 Dec", "--json"])
        both = runner.invoke(app, ["reports", "spend", "--csv", "--json"])
        shops = runner.invoke(app, ["reports", "spend", "--shop", "s-1", "--all-shops"])
    assert [r.exit_code for r in (bad_date, both, shops)] == [2, 2, 2]
    assert json.loads(bad_date.stdout)["error"]["code"] == "invalid_input"
    assert not route.calls


def test_the_apis_refusal_is_a_usage_error() -> None:
    body = {"error": {"code": "validation_error", "message": "invalid request: to_date", "details": {}}}
    with respx.mock:
        respx.get(URL).respond(422, json=body)
        result = runner.invoke(app, ["reports", "spend", "--from", "2026-12-08", "--to", "2026-12-01"])
    assert result.exit_code == 2
    assert "validation_error" in result.output


def test_a_report_without_rows_still_prints_its_totals() -> None:
    empty = report(rows=[], totals=_figures(bought=0, used=0, average_cost_cents=None))
    with respx.mock:
        respx.get(URL).respond(json=empty)
        result = runner.invoke(app, ["reports", "spend", "--to", str(date(2026, 12, 7))])
    assert result.exit_code == 0, result.output
    assert "cost per shipped parcel -" in result.output
