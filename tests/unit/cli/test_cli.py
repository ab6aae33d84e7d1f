"""The CLI over mocked REST APIs: configuration, output, errors shown as the API's message."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from cli.config import load
from cli.main import app
from cli.output import console
from tests.unit.cli.samples import (
    ALLOC,
    BATCH_ID,
    PURCHASE_ID,
    SHIP,
    TRACK,
    alert,
    balance,
    batch,
    batch_summary,
    carrier,
    delivery,
    page,
    pool,
    purchase,
)

runner = CliRunner()
# A cursor as the APIs hand them out: longer than a terminal line, so it must never be wrapped.
CURSOR = "WyIyMDI2LTExLTI4VDA5OjU5OjU3KzAwOjAwIiwgIjJiOGU0ZjZhLTFjM2QtNGU1Zi05YTBiLWNkZWYwMTIzNDU2NyJd"


def test_profile_file_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[default]\napi_key = "from-file"\n[staging]\nshipping_url = "http://staging:8002"\ntimezone = "UTC"\n'
    )
    monkeypatch.setenv("WAYBILL_CONFIG", str(cfg))
    monkeypatch.delenv("WAYBILL_API_KEY")
    monkeypatch.delenv("WAYBILL_SHIPPING_URL")
    assert load().api_key == "from-file"
    assert load().timezone == "Asia/Shanghai"  # the default
    assert load("staging").shipping_url == "http://staging:8002"
    assert load("staging").timezone == "UTC"
    monkeypatch.setenv("WAYBILL_API_KEY", "from-env")
    monkeypatch.setenv("WAYBILL_TIMEZONE", "Europe/Paris")
    assert load().api_key == "from-env"
    assert load("staging").timezone == "Europe/Paris"


def test_api_errors_are_shown_as_the_api_message_not_a_traceback() -> None:
    with respx.mock:
        respx.post(f"{ALLOC}/v1/allocations").mock(
            return_value=httpx.Response(
                409,
                json={
                    "error": {
                        "code": "pool_exhausted",
                        "message": "no available ZTO numbers for shop s-1",
                        "details": {},
                    }
                },
            )
        )
        result = runner.invoke(app, ["allocate", "ZTO", "o-1"])
    assert result.exit_code == 5  # a conflict
    assert "pool_exhausted: no available ZTO numbers for shop s-1" in result.output
    assert "Traceback" not in result.output


def test_missing_key_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_API_KEY")
    result = runner.invoke(app, ["balance"])
    assert result.exit_code == 3  # no key: auth
    assert "WAYBILL_API_KEY" in result.output


def test_topup_sends_exact_cents_and_refuses_fractions_of_a_cent() -> None:
    with respx.mock:
        route = respx.post(f"{ALLOC}/v1/shops/s-1/topups").mock(
            return_value=httpx.Response(201, json=balance(balance_cents=100_050))
        )
        ok = runner.invoke(app, ["topup", "s-1", "1000.50"])
        bad = runner.invoke(app, ["topup", "s-1", "0.005"])
    assert ok.exit_code == 0, ok.output
    assert "¥1,000.50" in ok.output
    assert json.loads(route.calls[0].request.content) == {"amount_cents": 100050}
    assert route.calls[0].request.headers["authorization"] == "Bearer admin"
    assert bad.exit_code == 2
    assert len(route.calls) == 1


def test_purchase_waits_until_completed() -> None:
    pending = purchase(status="pending", numbers_received=0, completed_at=None)
    with respx.mock:
        create = respx.post(f"{ALLOC}/v1/purchases").mock(return_value=httpx.Response(202, json=pending))
        respx.get(f"{ALLOC}/v1/purchases/{PURCHASE_ID}").mock(return_value=httpx.Response(200, json=purchase()))
        result = runner.invoke(app, ["purchase", "ZTO", "ZTO-1000", "--key", "retry-key-1"])
    assert result.exit_code == 0, result.output
    assert create.calls[0].request.headers["idempotency-key"] == "retry-key-1"
    assert "completed, 1000 numbers" in result.output


def test_batch_ship_follows_progress(tmp_path: Path) -> None:
    ids = tmp_path / "orders.txt"
    ids.write_text("o-1\no-2\no-3\n")
    states = [
        httpx.Response(200, json=batch(done=1, pending=2)),
        httpx.Response(200, json=batch(status="completed", done=3, pending=0)),
    ]
    with respx.mock:
        create = respx.post(f"{SHIP}/v1/shipment-batches").mock(return_value=httpx.Response(202, json=batch()))
        respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}").mock(side_effect=states)
        result = runner.invoke(app, ["batch", "ship", "--file", str(ids), "--carrier", "ZTO"])
    assert result.exit_code == 0, result.output
    assert json.loads(create.calls[0].request.content) == {"order_ids": ["o-1", "o-2", "o-3"], "carrier": "ZTO"}
    assert "progress: 3/3 (done 3, failed 0)" in result.output


def test_webhook_failures_follow_the_cursor_across_pages() -> None:
    answers = [
        httpx.Response(200, json=page([delivery(1), delivery(2)], CURSOR)),
        httpx.Response(200, json=page([delivery(3)])),
    ]
    with respx.mock:
        route = respx.get(f"{SHIP}/v1/webhook-deliveries").mock(side_effect=answers)
        result = runner.invoke(app, ["webhooks", "failures"])
    assert result.exit_code == 0, result.output
    sent = [dict(c.request.url.params) for c in route.calls]
    # The next page: the same filter and limit, and the cursor of the page before (the client's iter_*).
    assert sent == [{"status": "failed", "limit": "500"}, {"status": "failed", "limit": "500", "cursor": CURSOR}]
    for i in (1, 2, 3):
        assert delivery(i)["id"] in result.output
    assert "stopped" not in result.output  # it read them all


def test_a_list_read_whole_stops_at_most_and_says_how_to_see_the_rest() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("cursor", "0"))
        return httpx.Response(200, json=page([delivery(n), delivery(n + 1)], str(n + 2)))

    with respx.mock:
        route = respx.get(f"{SHIP}/v1/webhook-deliveries").mock(side_effect=endless)
        result = runner.invoke(app, ["webhooks", "failures", "--most", "3"])
        assert len(route.calls) == 2  # 4 items > 3: no third page
        again = runner.invoke(app, ["webhooks", "failures", "--cursor", "4", "--most", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert route.calls[0].request.url.params["limit"] == "3"
    assert "stopped after 3 items; every one, a page at a time: waybill webhooks deliveries --status failed" in (
        result.output
    )
    assert route.calls[2].request.url.params["cursor"] == "4"  # --cursor: where the reading starts
    assert len(route.calls) == 4  # 2 items, and a third to know that more follow
    body = json.loads(again.output)
    assert ([d["id"] for d in body["data"]], body["has_more"]) == ([delivery(4)["id"], delivery(5)["id"]], True)


def test_purchases_show_one_page_and_print_the_next_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "width", 60)  # a narrow terminal: the cursor's line is still whole
    answers = [
        httpx.Response(200, json=page([purchase(id="p-1")], CURSOR)),
        httpx.Response(200, json=page([purchase(id="p-0")])),
    ]
    with respx.mock:
        route = respx.get(f"{ALLOC}/v1/purchases").mock(side_effect=answers)
        first = runner.invoke(app, ["purchases", "--limit", "1"])
        second = runner.invoke(app, ["purchases", "--limit", "1", "--cursor", CURSOR])
    assert first.exit_code == 0, first.output
    assert "p-1" in first.output
    assert f"next page: the same command with --cursor {CURSOR}\n" in first.output  # one line, whole
    assert [dict(c.request.url.params) for c in route.calls] == [{"limit": "1"}, {"limit": "1", "cursor": CURSOR}]
    assert "p-0" in second.output
    assert "next page" not in second.output


def test_alerts_list_reads_the_page_and_json_prints_it_as_answered() -> None:
    with respx.mock:
        route = respx.get(f"{TRACK}/v1/alerts").respond(json=page([alert()], CURSOR))
        shown = runner.invoke(app, ["alerts", "list", "--carrier", "YTO"])
        raw = runner.invoke(app, ["alerts", "list", "--json"])
    assert shown.exit_code == 0, shown.output
    assert "not_collected" in shown.output
    assert f"--cursor {CURSOR}" in shown.output
    assert dict(route.calls[0].request.url.params) == {"state": "open", "carrier": "YTO", "limit": "100"}
    assert json.loads(raw.output) == page([alert()], CURSOR)


def test_pools_and_carriers_read_the_items_of_the_page() -> None:
    with respx.mock:
        respx.get(f"{ALLOC}/v1/pools").respond(json=page([pool()]))
        respx.get(f"{ALLOC}/v1/carriers").respond(json=page([carrier()]))
        pools = runner.invoke(app, ["pools", "list"])
        carriers = runner.invoke(app, ["carriers"])
    assert pools.exit_code == 0, pools.output
    assert "995" in pools.output
    assert carriers.exit_code == 0, carriers.output
    assert "中通" in carriers.output
    assert "ZTO-1000 ¥500.00/180d" in carriers.output


def test_batch_list_shows_the_shops_batches() -> None:
    summary = batch_summary(total=10, done=4, pending=6)
    with respx.mock:
        route = respx.get(f"{SHIP}/v1/shipment-batches").respond(json=page([summary]))
        result = runner.invoke(app, ["batch", "list"])
    assert result.exit_code == 0, result.output
    assert BATCH_ID in result.output
    assert "processing" in result.output
    assert dict(route.calls[0].request.url.params) == {"limit": "20"}
    assert "next page" not in result.output


def test_a_list_answer_that_is_no_page_is_an_error_not_a_traceback() -> None:
    with respx.mock:
        respx.get(f"{TRACK}/v1/alerts").respond(json=[{"id": 1}])  # a service older than the page shape
        result = runner.invoke(app, ["alerts", "list"])
        raw = runner.invoke(app, ["alerts", "list", "--json"])
    assert result.exit_code == 6  # the service answered wrong
    assert "invalid_answer: the service answered with no valid PageAlertOut" in result.output
    assert "Traceback" not in result.output
    assert raw.exit_code == 6
    assert json.loads(raw.stdout)["error"]["code"] == "invalid_answer"


class _ToStdout(logging.Handler):
    """A log handler writing to whatever sys.stdout is when a line is logged (as a process's configured
    logging does: structlog or a StreamHandler of the real stdout)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(self.format(record) + "\n")


def test_json_output_is_only_json_wherever_logging_is_configured() -> None:
    # httpx logs every request at INFO: with logging configured (another library's doing, a test's), those
    # lines used to land in the command's output and break --json.
    handler, root = _ToStdout(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.NOTSET)
    try:
        with respx.mock:
            respx.get(f"{TRACK}/v1/alerts").respond(json=page([], None))
            raw = runner.invoke(app, ["alerts", "list", "--json"])
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert raw.exit_code == 0, raw.output
    assert json.loads(raw.output) == page([], None)


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (400, "validation_error", 2),
        (422, "validation_error", 2),
        (401, "unauthorized", 3),
        (403, "forbidden", 3),
        (404, "not_found", 4),
        (402, "insufficient_balance", 5),
        (409, "conflict", 5),
        (429, "rate_limited", 6),
        (500, "internal_error", 6),
        (503, "unavailable", 6),
    ],
)
def test_each_class_of_error_has_its_exit_code_and_json_prints_the_error(
    status: int, code: str, exit_code: int
) -> None:
    error = {"code": code, "message": "m", "details": {"field": "x"}, "request_id": "rid-1"}
    with respx.mock:
        respx.get(f"{TRACK}/v1/alerts").respond(status, json={"error": error})
        shown = runner.invoke(app, ["alerts", "list"])
        raw = runner.invoke(app, ["alerts", "list", "--json"])
    assert shown.exit_code == exit_code
    assert f"{code}: m (request rid-1)" in shown.output
    assert raw.exit_code == exit_code
    assert json.loads(raw.stdout) == {"error": {**error, "status": status}}


def test_no_answer_is_exit_code_7() -> None:
    with respx.mock:
        respx.get(f"{TRACK}/v1/alerts").mock(side_effect=httpx.ConnectError("refused"))
        result = runner.invoke(app, ["alerts", "list", "--json"])
    assert result.exit_code == 7
    assert json.loads(result.stdout)["error"]["code"] == "unreachable"


def test_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"waybill {version('waybill')}"


def test_brackets_in_the_apis_text_are_shown_as_they_are_never_read_as_markup() -> None:
    odd = "[courier] refused [/x] [bold]"
    with respx.mock:
        respx.get(f"{TRACK}/v1/alerts").respond(json=page([alert(message=odd)]))
        respx.post(f"{ALLOC}/v1/purchases").respond(202, json=purchase(status="failed", error=odd))
        listed = runner.invoke(app, ["alerts", "list"])
        bought = runner.invoke(app, ["purchase", "ZTO", "ZTO-1000"])
    assert listed.exit_code == 0, listed.output
    assert "[courier]" in listed.output
    assert "[/x]" in listed.output
    assert bought.exit_code == 1
    assert f"({odd})" in bought.output
