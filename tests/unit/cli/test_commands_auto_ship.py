"""`waybill auto-ship rules`: list, show, create, update (a condition given replaces that one only), delete,
dry-run (what it would take and why it leaves the rest, in the API's Chinese) and runs."""

from __future__ import annotations

import json

import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import BATCH_ID, ORDER_ID, RULE_ID, SHIP, auto_ship_rule, auto_ship_run, dry_run, page

runner = CliRunner()
RULES = f"{SHIP}/v1/auto-ship/rules"


def _sent(route: respx.Route, call: int = -1) -> object:
    return json.loads(route.calls[call].request.content)


def test_rules_list_and_show() -> None:
    with respx.mock:
        listed = respx.get(RULES).respond(json=page([auto_ship_rule(), auto_ship_rule(last_run=None)], "c2"))
        respx.get(f"{RULES}/{RULE_ID}").respond(json=auto_ship_rule())
        shown = runner.invoke(app, ["auto-ship", "rules", "list"])
        raw = runner.invoke(app, ["auto-ship", "rules", "list", "--json"])
        one = runner.invoke(app, ["auto-ship", "rules", "show", RULE_ID])
    assert shown.exit_code == 0, shown.output
    assert dict(listed.calls[0].request.url.params) == {"limit": "50"}
    assert RULE_ID in shown.output
    assert "江浙沪小件走中通" in shown.output
    assert "浙江,江苏省; ..3000 g; stores own; 09:00-17:30@1,2,3,4,5" in shown.output
    assert f"2026-11-28 12:00:00 took 2 ({BATCH_ID})" in shown.output
    assert "next page: the same command with --cursor c2" in shown.output
    assert json.loads(raw.stdout) == page([auto_ship_rule(), auto_ship_rule(last_run=None)], "c2")
    assert one.exit_code == 0, one.output
    assert "min_age_minutes" in one.output


def test_create_a_rule_from_the_options() -> None:
    with respx.mock:
        created = respx.post(RULES).respond(201, json=auto_ship_rule())
        done = runner.invoke(
            app,
            [
                *("auto-ship", "rules", "create", "江浙沪小件走中通", "--carrier", "ZTO", "--priority", "10"),
                *("--province", "浙江", "--province", "江苏省", "--weight-max", "3000", "--store", "own"),
                *("--window", "09:00-17:30@1-5", "--window", "22:00-02:00", "--min-age", "30", "--paused"),
            ],
        )
        plain = runner.invoke(app, ["auto-ship", "rules", "create", "全部", "--carrier", "YTO", "--json"])
        bad_window = runner.invoke(app, ["auto-ship", "rules", "create", "x", "--carrier", "ZTO", "--window", "9-5"])
        no_carrier = runner.invoke(app, ["auto-ship", "rules", "create", "x"])
    assert done.exit_code == 0, done.output
    assert _sent(created, 0) == {
        "name": "江浙沪小件走中通",
        "carrier": "ZTO",
        "priority": 10,
        "min_age_minutes": 30,
        "active": False,
        "conditions": {
            "provinces": ["浙江", "江苏省"],
            "weight_max_g": 3000,
            "stores": ["own"],
            "time_windows": [
                {"from": "09:00", "to": "17:30", "days": [1, 2, 3, 4, 5]},
                {"from": "22:00", "to": "02:00", "days": None},
            ],
        },
    }
    assert f"rule {RULE_ID} created: 江浙沪小件走中通, priority 10, ZTO" in done.output
    assert plain.exit_code == 0, plain.output
    assert _sent(created, 1) == {"name": "全部", "carrier": "YTO"}  # the API's defaults for the rest
    assert (bad_window.exit_code, no_carrier.exit_code) == (2, 2)
    assert len(created.calls) == 2


def test_update_replaces_only_the_conditions_given() -> None:
    with respx.mock:
        respx.get(f"{RULES}/{RULE_ID}").respond(json=auto_ship_rule())
        patched = respx.patch(f"{RULES}/{RULE_ID}").respond(json=auto_ship_rule(active=False))
        paused = runner.invoke(app, ["auto-ship", "rules", "update", RULE_ID, "--paused"])
        heavier = runner.invoke(
            app, ["auto-ship", "rules", "update", RULE_ID, "--weight-max", "none", "--always", "--carrier", "YTO"]
        )
        nothing = runner.invoke(app, ["auto-ship", "rules", "update", RULE_ID])
        bad = runner.invoke(app, ["auto-ship", "rules", "update", RULE_ID, "--weight-min", "heavy"])
    assert paused.exit_code == 0, paused.output
    assert _sent(patched, 0) == {"active": False}
    assert "(paused)" in paused.output
    assert heavier.exit_code == 0, heavier.output
    assert _sent(patched, 1) == {
        "carrier": "YTO",
        "conditions": {"provinces": ["浙江", "江苏省"], "weight_max_g": None, "stores": ["own"], "time_windows": []},
    }
    assert (nothing.exit_code, bad.exit_code) == (2, 2)
    assert len(patched.calls) == 2


def test_delete_dry_run_and_runs() -> None:
    with respx.mock:
        gone = respx.delete(f"{RULES}/{RULE_ID}").respond(204)
        respx.post(f"{RULES}/{RULE_ID}/dry-run").respond(json=dry_run())
        runs = respx.get(f"{RULES}/{RULE_ID}/runs").respond(json=page([auto_ship_run()]))
        deleted = runner.invoke(app, ["auto-ship", "rules", "delete", RULE_ID])
        deleted_json = runner.invoke(app, ["auto-ship", "rules", "delete", RULE_ID, "--json"])
        tried = runner.invoke(app, ["auto-ship", "rules", "dry-run", RULE_ID])
        tried_json = runner.invoke(app, ["auto-ship", "rules", "dry-run", RULE_ID, "--json"])
        listed = runner.invoke(app, ["auto-ship", "rules", "runs", RULE_ID, "--limit", "5"])
    assert deleted.exit_code == 0, deleted.output
    assert f"rule {RULE_ID} deleted" in deleted.output
    assert json.loads(deleted_json.stdout) == {"id": RULE_ID, "deleted": True}
    assert gone.call_count == 2
    assert tried.exit_code == 0, tried.output
    assert f"rule {RULE_ID} at 2026-11-28 12:00:00 (inside its time windows): would take 2" in tried.output
    assert ORDER_ID in tried.output
    assert "left 1: weight_out_of_range 1" in tried.output
    assert "重量 4200 克不在 不限 至 3000 克 之间" in tried.output  # why, in the seller's words
    assert json.loads(tried_json.stdout) == dry_run()
    assert listed.exit_code == 0, listed.output
    assert dict(runs.calls[0].request.url.params) == {"limit": "5"}
    assert BATCH_ID in listed.output
    assert "weight_out_of_range 1" in listed.output
