"""Operators' commands (the admin key): shops, keys, top-ups."""

from __future__ import annotations

import json

import pytest
import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import ALLOC, balance, page, shop

runner = CliRunner()
ADMIN = "Bearer admin"


def test_shops_create_prints_the_key_once_and_json_the_answer() -> None:
    created = {**shop(), "api_key": "wbk_k1_s3cr3t", "key_id": "k1"}
    with respx.mock:
        route = respx.post(f"{ALLOC}/v1/shops").respond(201, json=created)
        shown = runner.invoke(app, ["shops", "create", "杭州小铺"])
        raw = runner.invoke(app, ["shops", "create", "杭州小铺", "--json"])
    assert shown.exit_code == 0, shown.output
    assert "shop s-1 created" in shown.output
    assert "API key (shown once, store it now): wbk_k1_s3cr3t" in shown.output
    assert json.loads(route.calls[0].request.content) == {"name": "杭州小铺"}
    assert route.calls[0].request.headers["authorization"] == ADMIN
    assert json.loads(raw.stdout) == created


def test_shops_list_is_one_page_and_show_one_shop() -> None:
    with respx.mock:
        listed = respx.get(f"{ALLOC}/v1/shops").respond(json=page([shop()], "c2"))
        respx.get(f"{ALLOC}/v1/shops/s-1").respond(json=shop())
        result = runner.invoke(app, ["shops", "list", "--limit", "10"])
        one = runner.invoke(app, ["shops", "show", "s-1"])
    assert result.exit_code == 0, result.output
    assert "杭州小铺" in result.output
    assert "2026-11-28 12:00:00" in result.output  # 04:00 UTC in Asia/Shanghai
    assert "next page: the same command with --cursor c2" in result.output
    assert dict(listed.calls[0].request.url.params) == {"limit": "10"}
    assert one.exit_code == 0, one.output
    assert "s-1" in one.output


def test_shops_topup_with_a_reference() -> None:
    with respx.mock:
        route = respx.post(f"{ALLOC}/v1/shops/s-1/topups").respond(201, json=balance(balance_cents=5_000_000))
        result = runner.invoke(app, ["shops", "topup", "s-1", "¥49,000.00", "--reference", "pay-1"])
    assert result.exit_code == 0, result.output
    assert json.loads(route.calls[0].request.content) == {"amount_cents": 4_900_000, "reference": "pay-1"}
    assert "topped up ¥49,000.00, balance ¥50,000.00" in result.output


def test_keys_create_and_revoke_and_the_old_names_still_work() -> None:
    key = {"key_id": "k2", "api_key": "wbk_k2_s"}
    with respx.mock:
        create = respx.post(f"{ALLOC}/v1/shops/s-1/keys").respond(201, json=key)
        revoke = respx.delete(f"{ALLOC}/v1/shops/s-1/keys/k2").respond(204)
        made = runner.invoke(app, ["keys", "create", "s-1", "--label", "erp"])
        gone = runner.invoke(app, ["keys", "revoke", "s-1", "k2", "--json"])
        old_made = runner.invoke(app, ["shops", "add-key", "s-1"])
        old_gone = runner.invoke(app, ["shops", "revoke-key", "s-1", "k2"])
    assert made.exit_code == 0, made.output
    assert "key k2: wbk_k2_s (shown once)" in made.output
    assert json.loads(create.calls[0].request.content) == {"label": "erp"}
    assert json.loads(create.calls[1].request.content) == {"label": "cli"}
    assert gone.exit_code == 0, gone.output
    assert json.loads(gone.stdout) == {"shop_id": "s-1", "key_id": "k2", "revoked": True}
    assert (old_made.exit_code, old_gone.exit_code) == (0, 0)
    assert "key k2 revoked" in old_gone.output
    assert len(revoke.calls) == 2


def test_operators_commands_need_the_admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_ADMIN_KEY")
    result = runner.invoke(app, ["shops", "list", "--json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["code"] == "no_key"


def test_an_empty_answer_labelled_json_is_no_error() -> None:
    # A 204 with a JSON content type (as the services send it): nothing to read, nothing to fail on.
    with respx.mock:
        respx.delete(f"{ALLOC}/v1/shops/s-1/keys/k2").respond(204, headers={"content-type": "application/json"})
        result = runner.invoke(app, ["keys", "revoke", "s-1", "k2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["revoked"] is True
