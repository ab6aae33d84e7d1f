"""The carrier catalogue: read with either key, edited by operators (the admin key)."""

from __future__ import annotations

import json

import pytest
import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import ALLOC, carrier, package, page

runner = CliRunner()


def test_carriers_list_reads_with_the_admin_key_when_there_is_no_shop_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_API_KEY")
    retired = package(id="ZTO-OLD", active=False)
    with respx.mock:
        route = respx.get(f"{ALLOC}/v1/carriers").respond(json=page([carrier(packages=[package(), retired])]))
        result = runner.invoke(app, ["carriers"])
        wide = runner.invoke(app, ["carriers", "--wide"])
    assert result.exit_code == 0, result.output
    assert route.calls[0].request.headers["authorization"] == "Bearer admin"
    assert "ZTO-1000 ¥500.00/180d" in result.output
    assert "ZTO-OLD" not in result.output  # not on sale
    assert "ZTO-OLD" in wide.output


def test_carriers_show_update_and_add_a_package() -> None:
    with respx.mock:
        respx.get(f"{ALLOC}/v1/carriers/ZTO").respond(json=carrier())
        patch = respx.patch(f"{ALLOC}/v1/carriers/ZTO").respond(json=carrier(active=False))
        add = respx.post(f"{ALLOC}/v1/carriers/ZTO/packages").respond(201, json=package(id="ZTO-5000"))
        one = runner.invoke(app, ["carriers", "show", "ZTO"])
        off = runner.invoke(app, ["carriers", "update", "ZTO", "--inactive", "--coverage", "浙江省", "--json"])
        nothing = runner.invoke(app, ["carriers", "update", "ZTO"])
        package_options = ["--quantity", "5000", "--price", "2500.00", "--validity-days", "365"]
        added = runner.invoke(
            app, ["carriers", "add-package", "ZTO", "ZTO-5000", *package_options, "--extension-fee", "0"]
        )
        bad = runner.invoke(
            app, ["carriers", "add-package", "ZTO", "X", "--quantity", "1", "--price", "0.001", "--validity-days", "1"]
        )
    assert one.exit_code == 0, one.output
    assert "7[0-9]{13}" in one.output
    assert off.exit_code == 0, off.output
    assert json.loads(patch.calls[0].request.content) == {"active": False, "coverage": ["浙江省"]}
    assert patch.calls[0].request.headers["authorization"] == "Bearer admin"
    assert json.loads(off.stdout)["active"] is False
    assert nothing.exit_code == 2
    assert added.exit_code == 0, added.output
    assert json.loads(add.calls[0].request.content) == {
        "id": "ZTO-5000",
        "quantity": 5000,
        "price_cents": 250_000,
        "validity_days": 365,
        "extension_fee_cents_per_30_days": 0,
    }
    assert bad.exit_code == 2
    assert len(add.calls) == 1
