"""The labels' settings from the command line (size, a carrier's own size, privacy labels), one print's own size
and its format (ZPL to a file, or raw to a printer): only what is given is sent, a carrier's size joins the others
the shop has, and what no size or format is is refused before any call."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import BATCH_ID, SHIP, SHIPMENT_ID, settings

runner = CliRunner()
PDF = b"%PDF-1.4 label\n%%EOF\n"


def test_the_label_size_and_privacy_labels_are_set_alone() -> None:
    answer = settings(label_size="100x180", label_sizes={}, privacy_labels=False)
    with respx.mock:
        put = respx.put(f"{SHIP}/v1/settings").respond(json=answer)
        sized = runner.invoke(app, ["settings", "set", "--label-size", "100x180"])
        off = runner.invoke(app, ["settings", "set", "--no-privacy", "--json"])
        on = runner.invoke(app, ["settings", "set", "--privacy"])
    assert sized.exit_code == 0, sized.output
    assert json.loads(put.calls[0].request.content) == {"label_size": "100x180"}
    assert "100x180" in sized.output
    assert off.exit_code == 0, off.output
    assert json.loads(put.calls[1].request.content) == {"privacy_labels": False}
    assert json.loads(off.stdout)["privacy_labels"] is False
    assert on.exit_code == 0, on.output
    assert json.loads(put.calls[2].request.content) == {"privacy_labels": True}


def test_a_carriers_own_size_joins_the_others_and_shop_takes_one_back() -> None:
    current = settings(label_size="100x150", label_sizes={"SF": "76x130", "YTO": "100x180"}, privacy_labels=True)
    with respx.mock:
        respx.get(f"{SHIP}/v1/settings").respond(json=current)
        put = respx.put(f"{SHIP}/v1/settings").respond(json=current)
        added = runner.invoke(app, ["settings", "set", "--carrier-label-size", "zto=100x180"])
        back = runner.invoke(
            app, ["settings", "set", "--carrier-label-size", "SF=shop", "--carrier-label-size", "YTO=76x130"]
        )
    assert added.exit_code == 0, added.output
    # the API replaces the whole map: the carriers not named keep their sizes
    assert json.loads(put.calls[0].request.content) == {
        "label_sizes": {"SF": "76x130", "YTO": "100x180", "ZTO": "100x180"}
    }
    assert back.exit_code == 0, back.output
    assert json.loads(put.calls[1].request.content) == {"label_sizes": {"YTO": "76x130"}}


@pytest.mark.parametrize(
    "args",
    [
        ["settings", "set", "--label-size", "4x6"],
        ["settings", "set", "--carrier-label-size", "SF"],
        ["settings", "set", "--carrier-label-size", "=100x150"],
        ["settings", "set", "--carrier-label-size", "SF=100x200"],
        ["label", SHIPMENT_ID, "--size", "100x200"],
        ["batch", "labels", BATCH_ID, "--size", "A4"],
    ],
)
def test_what_is_no_label_size_is_a_usage_error_before_any_call(args: list[str]) -> None:
    with respx.mock:  # any call would fail: none is routed
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "invalid_input" in result.output


def test_a_print_may_ask_for_its_own_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    headers = {"content-type": "application/pdf"}
    with respx.mock:
        one = respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/label.pdf").respond(content=PDF, headers=headers)
        box = respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/parcels/2/label.pdf").respond(content=PDF, headers=headers)
        all_ = respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}/labels.pdf").respond(content=PDF, headers=headers)
        a = runner.invoke(app, ["label", SHIPMENT_ID, "--size", "76x130"])
        b = runner.invoke(app, ["label", SHIPMENT_ID, "--parcel", "2", "--size", "100x180"])
        c = runner.invoke(app, ["batch", "labels", BATCH_ID, "--size", "100x150"])
        d = runner.invoke(app, ["label", SHIPMENT_ID])
    assert (a.exit_code, b.exit_code, c.exit_code, d.exit_code) == (0, 0, 0, 0), a.output + b.output + c.output
    assert dict(one.calls[0].request.url.params) == {"size": "76x130"}
    assert dict(box.calls[0].request.url.params) == {"size": "100x180"}
    assert dict(all_.calls[0].request.url.params) == {"size": "100x150"}
    assert dict(one.calls[1].request.url.params) == {}  # the shop's size for the carrier


ZPL = b"^XA^CI28^PW800^LL1200^LH0,0\n^XZ\n"


def test_labels_as_zpl_to_a_file_and_raw_to_a_printer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.cli.test_commands_shipping import fake_lp

    monkeypatch.chdir(tmp_path)
    bin_dir = fake_lp(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    headers = {"content-type": "application/zpl"}
    with respx.mock:
        one = respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/label.zpl").respond(content=ZPL, headers=headers)
        box = respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/parcels/2/label.zpl").respond(content=ZPL, headers=headers)
        job = respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}/labels.zpl").respond(content=ZPL * 2, headers=headers)
        to_file = runner.invoke(app, ["label", SHIPMENT_ID, "--format", "zpl"])
        sized = runner.invoke(app, ["label", SHIPMENT_ID, "--parcel", "2", "--format", "zpl", "--dpi", "300"])
        printed = runner.invoke(app, ["batch", "labels", BATCH_ID, "--format", "zpl", "--printer", "Zebra_1"])
        old_way = runner.invoke(
            app, ["label", BATCH_ID, "--batch", "--format", "zpl", "--size", "76x130", "-o", "b.zpl"]
        )
    assert to_file.exit_code == 0, to_file.output
    assert (tmp_path / "label.zpl").read_bytes() == ZPL
    assert dict(one.calls[0].request.url.params) == {}
    assert sized.exit_code == 0, sized.output
    assert dict(box.calls[0].request.url.params) == {"dpi": "300"}
    assert printed.exit_code == 0, printed.output
    # raw: CUPS passes ZPL to the printer as it is, no driver in between
    assert (bin_dir / "args").read_text().strip() == "-d Zebra_1 -o raw"
    assert (bin_dir / "printed").read_bytes() == ZPL * 2
    assert old_way.exit_code == 0, old_way.output
    assert dict(job.calls[1].request.url.params) == {"size": "76x130"}
    assert (tmp_path / "b.zpl").read_bytes() == ZPL * 2


@pytest.mark.parametrize(
    "args",
    [
        ["label", SHIPMENT_ID, "--format", "png"],
        ["label", SHIPMENT_ID, "--format", "zpl", "--dpi", "600"],
        ["label", SHIPMENT_ID, "--dpi", "300"],  # a dot density is ZPL's
        ["batch", "labels", BATCH_ID, "--format", "epl"],
    ],
)
def test_what_is_no_label_format_is_a_usage_error(args: list[str]) -> None:
    with respx.mock:
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "invalid_input" in result.output
