"""A shop's numbers: catalogue, balance, purchases (refund, extend, resync), pools, allocation, waybills."""

from __future__ import annotations

import json

import httpx
import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import (
    ALLOC,
    PURCHASE_ID,
    allocation,
    balance,
    page,
    pool,
    purchase,
    stock_event,
    waybill,
)

runner = CliRunner()


def test_purchase_makes_a_key_of_its_own_and_a_failed_purchase_exits_1() -> None:
    failed = purchase(status="failed", numbers_received=0, error="courier refused")
    with respx.mock:
        create = respx.post(f"{ALLOC}/v1/purchases").respond(202, json=failed)
        result = runner.invoke(app, ["purchase", "ZTO", "ZTO-1000"])
        raw = runner.invoke(app, ["purchase", "ZTO", "ZTO-1000", "--no-wait", "--json"])
    assert result.exit_code == 1
    assert "failed, 0 numbers (courier refused)" in result.output
    key = create.calls[0].request.headers["idempotency-key"]
    assert key.startswith("cli-")
    assert key in result.output  # printed: the same command with --key repeats it safely
    assert json.loads(create.calls[0].request.content) == {"carrier": "ZTO", "package_id": "ZTO-1000"}
    assert raw.exit_code == 1
    assert json.loads(raw.stdout) == failed


def test_purchase_input_the_api_would_refuse_is_a_usage_error_without_a_call() -> None:
    with respx.mock:
        route = respx.post(f"{ALLOC}/v1/purchases").respond(202, json=purchase())
        result = runner.invoke(app, ["purchase", "ZTO", "", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "invalid_input"
    assert "package_id" in json.loads(result.stdout)["error"]["message"]
    assert not route.calls


def test_purchases_list_show_money_in_yuan_and_wide_adds_columns() -> None:
    bought = purchase(refunded_cents=12_345)
    with respx.mock:
        respx.get(f"{ALLOC}/v1/purchases").respond(json=page([bought]))
        respx.get(f"{ALLOC}/v1/purchases/{PURCHASE_ID}").respond(json=bought)
        listed = runner.invoke(app, ["purchases", "list"])
        wide = runner.invoke(app, ["purchases", "--wide"])
        one = runner.invoke(app, ["purchases", "show", PURCHASE_ID])
    assert listed.exit_code == 0, listed.output
    assert PURCHASE_ID in listed.output
    assert "¥500.00" in listed.output
    assert "¥123.45" in listed.output
    assert "attempts" not in listed.output
    assert "attempts" in wide.output
    assert one.exit_code == 0, one.output
    assert "¥500.00" in one.output


def test_refund_extend_and_resync_a_purchase() -> None:
    refund = {"purchase_id": PURCHASE_ID, "refunded_quantity": 990, "refunded_cents": 49_500, "balance_cents": 60_000}
    extend = {
        "purchase_id": PURCHASE_ID,
        "fee_cents": 1_000,
        "numbers_extended": 10,
        "expires_at": "2027-06-26T16:30:00+00:00",
        "balance_cents": 59_000,
    }
    with respx.mock:
        refunded = respx.post(f"{ALLOC}/v1/purchases/{PURCHASE_ID}/refund").respond(json=refund)
        extended = respx.post(f"{ALLOC}/v1/purchases/{PURCHASE_ID}/extend").respond(json=extend)
        respx.post(f"{ALLOC}/v1/purchases/{PURCHASE_ID}/resync").respond(json=purchase())
        r = runner.invoke(app, ["purchases", "refund", PURCHASE_ID])
        x = runner.invoke(app, ["purchases", "extend", PURCHASE_ID, "30"])
        s = runner.invoke(app, ["purchases", "resync", PURCHASE_ID])
        bad = runner.invoke(app, ["purchases", "extend", PURCHASE_ID, "0"])
    assert r.exit_code == 0, r.output
    assert "990 numbers refunded, ¥495.00 credited; balance ¥600.00" in r.output
    assert len(refunded.calls) == 1
    assert x.exit_code == 0, x.output
    assert json.loads(extended.calls[0].request.content) == {"days": 30}
    assert "10 numbers valid until 2027-06-27 00:30:00, fee ¥10.00; balance ¥590.00" in x.output
    assert s.exit_code == 0, s.output
    assert "completed, 1000 numbers" in s.output
    assert bad.exit_code == 2
    assert len(extended.calls) == 1


def test_a_refund_without_balance_is_a_conflict() -> None:
    error = {"error": {"code": "insufficient_balance", "message": "balance too low", "request_id": "r-9"}}
    with respx.mock:
        respx.post(f"{ALLOC}/v1/purchases/{PURCHASE_ID}/extend").respond(402, json=error)
        result = runner.invoke(app, ["purchases", "extend", PURCHASE_ID, "30"])
    assert result.exit_code == 5
    assert "insufficient_balance: balance too low (request r-9)" in result.output


def test_balance_shows_the_ledger_in_yuan() -> None:
    with respx.mock:
        route = respx.get(f"{ALLOC}/v1/balance").respond(json=balance())
        result = runner.invoke(app, ["balance", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "balance ¥1,000.50" in result.output
    assert "topup" in result.output
    assert dict(route.calls[0].request.url.params) == {"limit": "5"}


def test_pools_set_and_events() -> None:
    with respx.mock:
        put = respx.put(f"{ALLOC}/v1/pools/ZTO").respond(json=pool(auto_replenish_package="ZTO-1000"))
        events = respx.get(f"{ALLOC}/v1/pools/events").respond(json=page([stock_event()]))
        listed = respx.get(f"{ALLOC}/v1/pools").respond(json=page([pool()]))
        set_ = runner.invoke(app, ["pools", "set", "ZTO", "200", "--replenish", "ZTO-1000"])
        ev = runner.invoke(app, ["pools", "events"])
        days = runner.invoke(app, ["pools", "list", "--days", "30"])
    assert set_.exit_code == 0, set_.output
    assert json.loads(put.calls[0].request.content) == {
        "low_stock_threshold": 200,
        "auto_replenish_package": "ZTO-1000",
    }
    assert "ZTO-1000" in set_.output
    assert ev.exit_code == 0, ev.output
    assert "low_stock" in ev.output
    assert dict(events.calls[0].request.url.params) == {"limit": "50"}
    assert dict(listed.calls[0].request.url.params) == {"expiring_within_days": "30"}
    assert days.exit_code == 0


def test_allocate_and_the_waybill_commands() -> None:
    with respx.mock:
        respx.post(f"{ALLOC}/v1/allocations").respond(json=allocation())
        respx.get(f"{ALLOC}/v1/waybills/73100000000001").respond(json=waybill())
        manual = respx.post(f"{ALLOC}/v1/waybills/manual").respond(201, json=allocation(number="75000000000009"))
        release = respx.post(f"{ALLOC}/v1/waybills/73100000000001/release").respond(
            json={"number": "73100000000001", "status": "available"}
        )
        a = runner.invoke(app, ["allocate", "ZTO", "o-1"])
        w = runner.invoke(app, ["waybills", "show", "73100000000001"])
        m = runner.invoke(app, ["waybills", "register", "ZTO", "75000000000009", "o-1"])
        r = runner.invoke(app, ["waybills", "release", "73100000000001", "--order", "o-1"])
    assert a.exit_code == 0, a.output
    assert "o-1 -> 73100000000001 (new), expires 2027-05-27 12:00:00" in a.output
    assert w.exit_code == 0, w.output
    assert "allocated" in w.output
    assert m.exit_code == 0, m.output
    assert json.loads(manual.calls[0].request.content) == {
        "carrier": "ZTO",
        "number": "75000000000009",
        "order_id": "o-1",
    }
    assert r.exit_code == 0, r.output
    assert "73100000000001: available" in r.output
    assert json.loads(release.calls[0].request.content) == {"order_id": "o-1"}


def test_a_retried_call_is_retried_by_the_client() -> None:
    # The client retries GETs after a 503 (its Retry-After): the command sees the answer that followed.
    answers = [
        httpx.Response(503, headers={"retry-after": "0"}, json={"error": {"code": "unavailable", "message": "m"}})
    ]
    answers.append(httpx.Response(200, json=balance()))
    with respx.mock:
        route = respx.get(f"{ALLOC}/v1/balance").mock(side_effect=answers)
        result = runner.invoke(app, ["balance"])
    assert result.exit_code == 0, result.output
    assert len(route.calls) == 2
