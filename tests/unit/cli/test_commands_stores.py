"""`waybill stores`: bind (the token from a file, stdin, a hidden prompt or --token), list, show, rename,
renew, unbind; and the orders' channel and store, in the list's filters and its tables."""

from __future__ import annotations

import json
from pathlib import Path

import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import ORDER_ID, SHIP, STORE_ID, order, page, store

runner = CliRunner()


def _error(code: str, message: str = "refused") -> dict[str, object]:
    return {"error": {"code": code, "message": message, "details": {}, "request_id": "r-1"}}


def _sent(route: respx.Route, call: int = -1) -> object:
    return json.loads(route.calls[call].request.content)


def test_bind_reads_the_token_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("6100e2b-secret\n", encoding="utf-8")
    with respx.mock:
        bound = respx.post(f"{SHIP}/v1/stores").respond(201, json=store())
        result = runner.invoke(
            app,
            ["stores", "bind", "taobao", "--token-file", str(secret), "--seller-id", "杭州小铺", "--name", "天猫店"],
        )
    assert result.exit_code == 0, result.output
    assert _sent(bound) == {"channel": "taobao", "token": "6100e2b-secret", "seller_id": "杭州小铺", "name": "天猫店"}
    assert f"store {STORE_ID} bound: taobao seller 杭州小铺 (杭州小铺 天猫店)" in result.output
    assert "6100e2b-secret" not in result.output


def test_bind_reads_the_token_from_stdin_and_from_a_hidden_prompt() -> None:
    with respx.mock:
        bound = respx.post(f"{SHIP}/v1/stores").respond(201, json=store(channel="pinduoduo"))
        piped = runner.invoke(app, ["stores", "bind", "pinduoduo", "--token-file", "-"], input="c5a8d1\n")
        prompted = runner.invoke(app, ["stores", "bind", "pinduoduo", "--json"], input="typed-token\n")
    assert piped.exit_code == 0, piped.output
    assert _sent(bound, 0) == {"channel": "pinduoduo", "token": "c5a8d1"}
    assert prompted.exit_code == 0, prompted.output
    assert _sent(bound, 1) == {"channel": "pinduoduo", "token": "typed-token"}
    assert "typed-token" not in prompted.output  # the prompt hides what is typed
    assert json.loads(prompted.stdout) == store(channel="pinduoduo")  # the prompt is on stderr: stdout is JSON


def test_bind_with_token_says_when_it_renewed_a_store_already_bound() -> None:
    with respx.mock:
        respx.post(f"{SHIP}/v1/stores").respond(200, json=store())
        result = runner.invoke(app, ["stores", "bind", "taobao", "--token", "t-2"])
    assert result.exit_code == 0, result.output
    assert f"store {STORE_ID} renewed" in result.output


def test_bad_token_input_is_a_usage_error_and_nothing_is_sent(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    too_long = tmp_path / "long"
    too_long.write_text("x" * 100_000, encoding="utf-8")
    with respx.mock:
        route = respx.post(f"{SHIP}/v1/stores").respond(201, json=store())
        both = runner.invoke(app, ["stores", "bind", "taobao", "--token", "a", "--token-file", str(empty)])
        blank = runner.invoke(app, ["stores", "bind", "taobao", "--token-file", str(empty), "--json"])
        missing = runner.invoke(app, ["stores", "bind", "taobao", "--token-file", str(tmp_path / "nope")])
        undecodable = runner.invoke(app, ["stores", "bind", "taobao", "--token-file", str(binary)])
        huge = runner.invoke(app, ["stores", "bind", "taobao", "--token-file", str(too_long)])
        other = runner.invoke(app, ["stores", "bind", "jd", "--token", "a"])
    for result in (both, blank, missing, undecodable, huge, other):
        assert result.exit_code == 2, result.output
    assert json.loads(blank.stdout)["error"]["code"] == "invalid_input"
    assert "token" in huge.output
    assert not route.called


def test_a_token_the_marketplace_refuses_exits_2_with_its_code() -> None:
    with respx.mock:
        respx.post(f"{SHIP}/v1/stores").respond(422, json=_error("seller_not_verified"))
        respx.patch(f"{SHIP}/v1/stores/{STORE_ID}").respond(409, json=_error("conflict", "store is unbound"))
        bind = runner.invoke(app, ["stores", "bind", "taobao", "--token", "t", "--json"])
        renew = runner.invoke(app, ["stores", "renew", STORE_ID, "--token", "t"])
    assert bind.exit_code == 2
    assert json.loads(bind.stdout)["error"]["code"] == "seller_not_verified"
    assert renew.exit_code == 5
    assert "conflict" in renew.output


def test_list_and_show() -> None:
    unbound = store(
        id="sto_0000000000000000000b", channel="pinduoduo", seller_id="900001", active=False, token_set=False
    )
    with respx.mock:
        listed = respx.get(f"{SHIP}/v1/stores").respond(json=page([store(), unbound], "c2"))
        respx.get(f"{SHIP}/v1/stores/{STORE_ID}").respond(json=store())
        lst = runner.invoke(app, ["stores", "list", "--channel", "taobao", "--limit", "2", "--wide"])
        one = runner.invoke(app, ["stores", "show", STORE_ID])
        as_json = runner.invoke(app, ["stores", "show", STORE_ID, "--json"])
        bad = runner.invoke(app, ["stores", "list", "--channel", "jd"])
    assert lst.exit_code == 0, lst.output
    assert dict(listed.calls[0].request.url.params) == {"channel": "taobao", "limit": "2"}
    assert STORE_ID in lst.output
    assert "sto_0000000000000000000b" in lst.output
    assert "2026-11-28 12:00:00" in lst.output  # in the profile's zone
    assert "updated_at" in lst.output  # --wide
    assert "next page: the same command with --cursor c2" in lst.output
    assert one.exit_code == 0, one.output
    assert "token_set" in one.output
    assert "杭州小铺 天猫店" in one.output
    assert json.loads(as_json.stdout) == store()
    assert bad.exit_code == 2
    assert len(listed.calls) == 1


def test_list_all_follows_the_pages() -> None:
    with respx.mock:
        route = respx.get(f"{SHIP}/v1/stores").mock(
            side_effect=[
                respx.MockResponse(200, json=page([store(id="sto_1")], "c2")),
                respx.MockResponse(200, json=page([store(id="sto_2")])),
            ]
        )
        result = runner.invoke(app, ["stores", "list", "--all", "--json"])
    assert result.exit_code == 0, result.output
    assert [s["id"] for s in json.loads(result.stdout)["data"]] == ["sto_1", "sto_2"]
    assert route.calls[1].request.url.params["cursor"] == "c2"


def test_rename_renew_and_unbind() -> None:
    with respx.mock:
        patched = respx.patch(f"{SHIP}/v1/stores/{STORE_ID}").respond(json=store(name="淘宝店"))
        deleted = respx.delete(f"{SHIP}/v1/stores/{STORE_ID}").respond(json=store(active=False, token_set=False))
        renamed = runner.invoke(app, ["stores", "rename", STORE_ID, " 淘宝店 "])
        blank = runner.invoke(app, ["stores", "rename", STORE_ID, "  "])
        renewed = runner.invoke(app, ["stores", "renew", STORE_ID], input="t-3\n")
        unbound = runner.invoke(app, ["stores", "unbind", STORE_ID])
        unbound_json = runner.invoke(app, ["stores", "unbind", STORE_ID, "--json"])
    assert renamed.exit_code == 0, renamed.output
    assert _sent(patched, 0) == {"name": "淘宝店"}
    assert f"store {STORE_ID} renamed: taobao seller 杭州小铺 (淘宝店)" in renamed.output
    assert blank.exit_code == 2
    assert renewed.exit_code == 0, renewed.output
    assert _sent(patched, 1) == {"token": "t-3"}
    assert len(patched.calls) == 2
    assert unbound.exit_code == 0, unbound.output
    assert f"store {STORE_ID} unbound" in unbound.output
    assert json.loads(unbound_json.stdout)["active"] is False
    assert deleted.call_count == 2


def test_an_unknown_store_exits_4() -> None:
    missing = _error("not_found", "store sto_x not found")
    with respx.mock:
        respx.get(f"{SHIP}/v1/stores/sto_x").respond(404, json=missing)
        result = runner.invoke(app, ["stores", "show", "sto_x"])
    assert result.exit_code == 4
    assert "store sto_x not found" in result.output


def test_orders_list_filters_by_channel_and_store_and_shows_them() -> None:
    own = order(id="ord_9", channel="own", store_id=None, source="api")
    with respx.mock:
        listed = respx.get(f"{SHIP}/v1/orders").respond(json=page([order(), own]))
        table = runner.invoke(app, ["orders", "list", "--channel", "taobao", "--store", STORE_ID])
        wide = runner.invoke(app, ["orders", "list", "--wide"])
        shown = runner.invoke(app, ["orders", "list", "--channel", "wechat"])
    assert table.exit_code == 0, table.output
    assert dict(listed.calls[0].request.url.params) == {"channel": "taobao", "store_id": STORE_ID, "limit": "50"}
    assert "channel" in table.output
    assert "taobao" in table.output
    assert "own" in table.output
    assert STORE_ID not in table.output  # the store's id is a --wide column
    assert wide.exit_code == 0, wide.output
    assert "store_id" in wide.output
    assert STORE_ID in wide.output
    assert shown.exit_code == 2  # not a channel: refused before any call
    assert len(listed.calls) == 2


def test_orders_show_names_its_channel_and_store() -> None:
    with respx.mock:
        respx.get(f"{SHIP}/v1/orders/{ORDER_ID}").respond(json=order())
        result = runner.invoke(app, ["orders", "show", ORDER_ID])
    assert result.exit_code == 0, result.output
    assert "channel" in result.output
    assert STORE_ID in result.output
