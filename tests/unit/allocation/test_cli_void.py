"""The CLI says what a void did: the courier's answer and the credit (`waybill waybills release` and `show`), and
each package's void credit (`waybill carriers show`, `add-package`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import respx
from typer.testing import CliRunner

from cli.main import app
from cli.output import console
from tests.unit.cli.samples import ALLOC, SHIP, TRACK, carrier, package, waybill

runner = CliRunner()
NUMBER = "73100000000001"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(console, "width", 200)
    monkeypatch.setenv("WAYBILL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("WAYBILL_ALLOCATION_URL", ALLOC)
    monkeypatch.setenv("WAYBILL_SHIPPING_URL", SHIP)
    monkeypatch.setenv("WAYBILL_TRACKING_URL", TRACK)
    monkeypatch.setenv("WAYBILL_API_KEY", "wbk_k_s")
    monkeypatch.setenv("WAYBILL_ADMIN_KEY", "admin")
    for name in ("WAYBILL_PROFILE", "WAYBILL_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)


def _void(**changes: Any) -> dict[str, Any]:
    return {
        "courier": "pending",
        "courier_code": None,
        "credit_policy": "full",
        "credited_cents": 0,
        "voided_at": "2026-11-28T10:02:11Z",
        "settled_at": None,
        **changes,
    }


@pytest.mark.parametrize(
    ("void", "said"),
    [
        (_void(), "the courier has not answered yet (policy full"),
        (_void(courier="discarded", credited_cents=300), "cancelled at the courier, credited ¥3.00 (policy full)"),
        (
            _void(courier="collected", courier_code="waybill.already-collected"),
            "the courier had already collected the parcel: not credited",
        ),
        (_void(courier="refused", courier_code="waybill.not-exist"), "refused to cancel it (waybill.not-exist)"),
        (
            _void(courier="not_sent", credit_policy=None),
            "a typed number: nothing to cancel at the courier or to credit",
        ),
    ],
)
def test_release_says_the_courier_answer_and_the_credit(void: dict[str, Any], said: str) -> None:
    with respx.mock:
        respx.post(f"{ALLOC}/v1/waybills/{NUMBER}/release").respond(
            json={"number": NUMBER, "status": "voided", "void": void}
        )
        result = runner.invoke(app, ["waybills", "release", NUMBER])
        raw = runner.invoke(app, ["waybills", "release", NUMBER, "--json"])
    assert result.exit_code == 0, result.output
    assert said in result.output
    assert result.output.startswith(f"{NUMBER}: voided; ")
    assert json.loads(raw.stdout)["void"] == void


def test_a_number_back_in_the_pool_says_only_so() -> None:
    with respx.mock:
        respx.post(f"{ALLOC}/v1/waybills/{NUMBER}/release").respond(
            json={"number": NUMBER, "status": "available", "void": None}
        )
        result = runner.invoke(app, ["waybills", "release", NUMBER])
    assert result.output.strip() == f"{NUMBER}: available"


def test_show_says_a_voided_numbers_credit() -> None:
    voided = waybill(status="voided", void=_void(courier="discarded", credited_cents=300))
    with respx.mock:
        respx.get(f"{ALLOC}/v1/waybills/{NUMBER}").respond(json=voided)
        result = runner.invoke(app, ["waybills", "show", NUMBER])
    assert result.exit_code == 0, result.output
    assert "cancelled at the courier, credited ¥3.00 (policy full)" in result.output


def test_carriers_show_and_add_package_say_the_void_credit() -> None:
    sf = package(id="SF-1000", carrier="SF", void_credit={"percent": 100, "fee_cents": 50})
    with respx.mock:
        respx.get(f"{ALLOC}/v1/carriers/SF").respond(json=carrier(code="SF", packages=[sf]))
        add = respx.post(f"{ALLOC}/v1/carriers/SF/packages").respond(201, json=sf)
        shown = runner.invoke(app, ["carriers", "show", "SF"])
        options = ["--quantity", "1000", "--price", "12000.00", "--validity-days", "90"]
        added = runner.invoke(app, ["carriers", "add-package", "SF", "SF-1000", *options, "--void-fee", "0.50"])
    assert shown.exit_code == 0, shown.output
    assert "void 100% less ¥0.50" in shown.output
    assert added.exit_code == 0, added.output
    assert json.loads(add.calls[0].request.content)["void_credit"] == {"percent": 100, "fee_cents": 50}
    assert "void 100% less ¥0.50" in added.output
