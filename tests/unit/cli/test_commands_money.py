"""Money a seller controls, from the command line: a refund of a count (with a key of its own, printed), a
shop's negotiated prices (operators), the expiry settings, and what the shop paid for its stock."""

from __future__ import annotations

import json
from typing import Any

import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import ALLOC, AT, PURCHASE_ID, balance, carrier, package, page, pool, stock_event

runner = CliRunner()
ADMIN = "Bearer admin"


def _price(**changes: Any) -> dict[str, Any]:
    return {
        "id": 12,
        "shop_id": "s-1",
        "package_id": "ZTO-1000",
        "carrier": "ZTO",
        "price_cents": 240_000,
        "catalogue_price_cents": 280_000,
        "valid_from": AT,
        "valid_to": None,
        "note": "2027 contract",
        "created_at": AT,
        "revoked_at": None,
        "in_force": True,
        **changes,
    }


def test_a_refund_of_a_count_sends_it_with_a_key_and_prints_the_key() -> None:
    answer = {"purchase_id": PURCHASE_ID, "refunded_quantity": 3, "refunded_cents": 1_500, "balance_cents": 60_000}
    refused = {"error": {"code": "not_enough_unused", "message": "only 2 unused", "request_id": "r-1"}}
    with respx.mock:
        route = respx.post(f"{ALLOC}/v1/purchases/{PURCHASE_ID}/refund").mock(
            side_effect=[respx.MockResponse(200, json=answer), respx.MockResponse(409, json=refused)]
        )
        partial = runner.invoke(app, ["purchases", "refund", PURCHASE_ID, "--count", "3", "--key", "mine-00001"])
        too_many = runner.invoke(app, ["purchases", "refund", PURCHASE_ID, "--count", "9"])
        zero = runner.invoke(app, ["purchases", "refund", PURCHASE_ID, "--count", "0"])
    assert partial.exit_code == 0, partial.output
    assert "3 numbers refunded, ¥15.00 credited; balance ¥600.00 (mine-00001)" in partial.output
    assert json.loads(route.calls[0].request.content) == {"count": 3}
    assert route.calls[0].request.headers["idempotency-key"] == "mine-00001"
    assert too_many.exit_code == 5
    assert "not_enough_unused: only 2 unused" in too_many.output
    assert route.calls[1].request.headers["idempotency-key"].startswith("cli-")
    assert zero.exit_code == 2
    assert len(route.calls) == 2


def test_a_whole_refund_sends_no_body() -> None:
    answer = {"purchase_id": PURCHASE_ID, "refunded_quantity": 9, "refunded_cents": 4_500, "balance_cents": 4_500}
    with respx.mock:
        route = respx.post(f"{ALLOC}/v1/purchases/{PURCHASE_ID}/refund").respond(json=answer)
        result = runner.invoke(app, ["purchases", "refund", PURCHASE_ID])
    assert result.exit_code == 0, result.output
    assert route.calls[0].request.content == b""
    assert "9 numbers refunded" in result.output


def test_operators_list_set_and_revoke_a_shops_prices() -> None:
    with respx.mock:
        listed = respx.get(f"{ALLOC}/v1/shops/s-1/prices").respond(
            json=page([_price(), _price(id=11, revoked_at=AT, in_force=False)])
        )
        added = respx.post(f"{ALLOC}/v1/shops/s-1/prices").respond(
            201, json=_price(valid_to="2027-07-01T00:00:00+08:00")
        )
        revoked = respx.delete(f"{ALLOC}/v1/shops/s-1/prices/12").respond(json=_price(revoked_at=AT, in_force=False))
        shown = runner.invoke(app, ["prices", "list", "s-1"])
        set_ = runner.invoke(
            app,
            [
                "prices",
                "set",
                "s-1",
                "ZTO-1000",
                "2400",
                "--from",
                "2027-01-01T00:00",
                "--to",
                "2027-07-01",
                "--note",
                "H1",
            ],
        )
        gone = runner.invoke(app, ["prices", "revoke", "s-1", "12"])
        bad = runner.invoke(app, ["prices", "set", "s-1", "ZTO-1000", "a lot"])
        bad_time = runner.invoke(app, ["prices", "set", "s-1", "ZTO-1000", "2400", "--from", "soon"])
    assert shown.exit_code == 0, shown.output
    assert "¥2,400.00" in shown.output
    assert "¥2,800.00" in shown.output
    assert "in force" in shown.output
    assert "revoked 2026-11-28 12:00:00" in shown.output
    assert listed.calls[0].request.headers["authorization"] == ADMIN
    assert set_.exit_code == 0, set_.output
    assert json.loads(added.calls[0].request.content) == {
        "package_id": "ZTO-1000",
        "price_cents": 240_000,
        "valid_from": "2027-01-01T00:00:00+08:00",  # no zone typed: the CLI's (Asia/Shanghai)
        "valid_to": "2027-07-01T00:00:00+08:00",
        "note": "H1",
    }
    assert "price 12: ZTO-1000 at ¥2,400.00 for shop s-1 (catalogue ¥2,800.00)" in set_.output
    assert "until 2027-07-01 00:00:00" in set_.output
    assert gone.exit_code == 0, gone.output
    assert "revoked" in gone.output
    assert len(revoked.calls) == 1
    assert (bad.exit_code, bad_time.exit_code) == (2, 2)
    assert len(added.calls) == 1


def test_a_price_in_the_way_is_a_conflict() -> None:
    error = {"error": {"code": "price_overlap", "message": "revoke price 11 first", "details": {"price_id": 11}}}
    with respx.mock:
        respx.post(f"{ALLOC}/v1/shops/s-1/prices").respond(409, json=error)
        result = runner.invoke(app, ["prices", "set", "s-1", "ZTO-1000", "2400"])
    assert result.exit_code == 5
    assert "price_overlap: revoke price 11 first" in result.output


def test_the_expiry_settings_shown_and_set() -> None:
    settings = {"expiring_notice_days": 7, "on_expiry": "extend", "auto_extend_days": 30, "action_lead_hours": 24}
    with respx.mock:
        got = respx.get(f"{ALLOC}/v1/expiry-settings").respond(json={**settings, "on_expiry": "nothing"})
        put = respx.put(f"{ALLOC}/v1/expiry-settings").respond(json=settings)
        shown = runner.invoke(app, ["settings", "expiry"])
        changed = runner.invoke(app, ["settings", "expiry", "--on-expiry", "extend", "--extend-days", "30"])
        wrong = runner.invoke(app, ["settings", "expiry", "--on-expiry", "burn"])
    assert shown.exit_code == 0, shown.output
    assert "expiring notice: 7 days before; 24 h before expiry: the numbers expire" in shown.output
    assert len(got.calls) == 1
    assert changed.exit_code == 0, changed.output
    assert json.loads(put.calls[0].request.content) == {"on_expiry": "extend", "auto_extend_days": 30}
    assert "extended by 30 days for the package's fee" in changed.output
    assert wrong.exit_code == 2
    assert len(put.calls) == 1


def test_what_the_shop_pays_and_paid() -> None:
    mine = package(shop_price={"price_cents": 40_000, "price_source": "negotiated", "price_id": 12, "valid_to": AT})
    expiring = stock_event(
        kind="expiring", purchase_id=PURCHASE_ID, expires_at="2027-02-26T01:30:00+00:00", numbers=312, details={}
    )
    ledger = balance()
    ledger["ledger"][0] |= {"note": "top-up by an operator", "reason": "balance topped up by an operator"}
    with respx.mock:
        respx.get(f"{ALLOC}/v1/carriers").respond(json=page([carrier(packages=[mine])]))
        respx.get(f"{ALLOC}/v1/pools").respond(json=page([pool(cost_per_number_cents=256.4)]))
        respx.get(f"{ALLOC}/v1/pools/events").respond(json=page([expiring]))
        respx.get(f"{ALLOC}/v1/balance").respond(json=ledger)
        catalogue = runner.invoke(app, ["carriers"])
        stock = runner.invoke(app, ["pools", "list"])
        events = runner.invoke(app, ["pools", "events"])
        wide = runner.invoke(app, ["balance", "--wide"])
    assert catalogue.exit_code == 0, catalogue.output
    assert "ZTO-1000 ¥500.00/180d (yours ¥400.00 until 2026-11-28 12:00:00)" in catalogue.output
    assert stock.exit_code == 0, stock.output
    assert "¥2.56" in stock.output
    assert events.exit_code == 0, events.output
    assert "expiring" in events.output
    assert "2027-02-26 09:30:00" in events.output
    assert "312" in events.output
    assert wide.exit_code == 0, wide.output
    assert "balance topped up by an operator" in wide.output
