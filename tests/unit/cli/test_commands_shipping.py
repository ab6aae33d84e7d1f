"""Orders, shipments, batches and labels (to a file, or to a printer through a fake `lp`)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.samples import (
    BATCH_ID,
    ORDER_ID,
    SHIP,
    SHIPMENT_ID,
    batch,
    batch_item,
    carrier_option,
    order,
    order_event,
    page,
    shipment,
)

runner = CliRunner()
PDF = b"%PDF-1.4 label\n%%EOF\n"


def test_orders_list_show_and_events(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.output import console

    monkeypatch.setattr(console, "width", 80)  # narrower than the table: the ids are still whole
    with respx.mock:
        listed = respx.get(f"{SHIP}/v1/orders").respond(json=page([order()], "c2"))
        respx.get(f"{SHIP}/v1/orders/{ORDER_ID}").respond(json=order())
        respx.get(f"{SHIP}/v1/orders/{ORDER_ID}/events").respond(json=page([order_event()]))
        lst = runner.invoke(app, ["orders", "list", "--status", "paid", "--limit", "10"])
        one = runner.invoke(app, ["orders", "show", ORDER_ID])
        ev = runner.invoke(app, ["orders", "events", ORDER_ID])
    assert lst.exit_code == 0, lst.output
    assert ORDER_ID in lst.output  # never cut, however narrow
    assert "3927481123456789" in lst.output
    assert "¥123.45" in lst.output
    assert "next page: the same command with --cursor c2" in lst.output
    assert dict(listed.calls[0].request.url.params) == {"status": "paid", "limit": "10"}
    assert one.exit_code == 0, one.output
    assert "张三" in one.output
    assert "¥123.45" in one.output
    assert ev.exit_code == 0, ev.output
    assert "2026-11-28 12:00:00" in ev.output
    assert "waybill_assigned" in ev.output


def test_orders_options_ranks_the_carriers() -> None:
    options = [carrier_option(), carrier_option(carrier="SF", name="顺丰", recommended=False, usable=False)]
    with respx.mock:
        respx.get(f"{SHIP}/v1/orders/{ORDER_ID}/carrier-options").respond(json=page(options))
        result = runner.invoke(app, ["orders", "options", ORDER_ID])
    assert result.exit_code == 0, result.output
    assert "★" in result.output
    assert "顺丰" in result.output
    assert "¥0.50" in result.output
    assert "cheapest; in stock" in result.output


def test_ship_cancel_and_void() -> None:
    with respx.mock:
        shipped = respx.post(f"{SHIP}/v1/orders/{ORDER_ID}/ship").respond(json=shipment())
        respx.post(f"{SHIP}/v1/orders/{ORDER_ID}/cancel").respond(json=order(status="cancelled"))
        voided = respx.post(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/cancel").respond(json=shipment(status="cancelled"))
        plain = runner.invoke(app, ["ship", ORDER_ID])
        chosen = runner.invoke(app, ["ship", ORDER_ID, "--carrier", "ZTO", "--number", "73100000000009"])
        cancel = runner.invoke(app, ["cancel", ORDER_ID])
        void = runner.invoke(app, ["void", SHIPMENT_ID, "--json"])
    assert plain.exit_code == 0, plain.output
    assert f"shipment {SHIPMENT_ID} ZTO 73100000000001, confirmed" in plain.output
    assert shipped.calls[0].request.content == b""  # recommended carrier, a number from the pool
    assert json.loads(shipped.calls[1].request.content) == {"carrier": "ZTO", "number": "73100000000009"}
    assert chosen.exit_code == 0, chosen.output
    assert cancel.exit_code == 0, cancel.output
    assert f"order {ORDER_ID}: cancelled" in cancel.output
    assert void.exit_code == 0, void.output
    assert json.loads(void.stdout)["status"] == "cancelled"
    assert len(voided.calls) == 1


def test_shipments_list_and_show() -> None:
    with respx.mock:
        listed = respx.get(f"{SHIP}/v1/shipments").respond(json=page([shipment()]))
        respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}").respond(json=shipment())
        lst = runner.invoke(app, ["shipments", "list", "--order", ORDER_ID])
        one = runner.invoke(app, ["shipments", "show", SHIPMENT_ID])
    assert lst.exit_code == 0, lst.output
    assert SHIPMENT_ID in lst.output
    assert dict(listed.calls[0].request.url.params) == {"order_id": ORDER_ID, "limit": "50"}
    assert one.exit_code == 0, one.output
    assert "73100000000001" in one.output


def test_a_batch_with_failed_orders_exits_1_and_json_prints_the_batch(tmp_path: Path) -> None:
    ids = tmp_path / "orders.txt"
    ids.write_text("# today's orders\no-1\n\no-2  # the big one\no-3\n")
    done = batch(status="completed", done=2, failed=1, pending=0)
    with respx.mock:
        create = respx.post(f"{SHIP}/v1/shipment-batches").respond(202, json=batch())
        respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}").respond(json=done)
        shown = runner.invoke(app, ["batch", "ship", "--file", str(ids)])
        raw = runner.invoke(app, ["batch", "ship", "o-1", "o-2", "o-3", "--json"])
        nothing = runner.invoke(app, ["batch", "ship"])
        missing = runner.invoke(app, ["batch", "ship", "--file", str(tmp_path / "nope.txt")])
    assert json.loads(create.calls[0].request.content) == {"order_ids": ["o-1", "o-2", "o-3"]}
    assert shown.exit_code == 1
    assert "progress: 3/3 (done 2, failed 1)" in shown.output
    assert raw.exit_code == 1
    assert json.loads(raw.stdout) == done  # only JSON: no progress bar
    assert nothing.exit_code == 2
    assert missing.exit_code == 2
    assert len(create.calls) == 2


def test_batch_status_progress_and_items() -> None:
    states = [
        httpx.Response(200, json=batch(done=1, pending=2)),
        httpx.Response(200, json=batch(done=1, pending=2)),
        httpx.Response(200, json=batch(status="completed", done=3, pending=0)),
    ]
    with respx.mock:
        status = respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}").mock(side_effect=states)
        items = respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}/items").respond(
            json=page([batch_item(1), batch_item(2, status="failed", message="no stock")], "c9")
        )
        now = runner.invoke(app, ["batch", "status", BATCH_ID])
        followed = runner.invoke(app, ["batch", "progress", BATCH_ID])
        lst = runner.invoke(app, ["batch", "items", BATCH_ID, "--status", "failed"])
    assert now.exit_code == 0, now.output
    assert "processing" in now.output
    assert dict(status.calls[0].request.url.params) == {"limit": "0"}  # the progress alone
    assert followed.exit_code == 0, followed.output
    assert "progress: 3/3 (done 3, failed 0)" in followed.output
    assert lst.exit_code == 0, lst.output
    assert "no stock" in lst.output
    assert "--cursor c9" in lst.output
    assert dict(items.calls[0].request.url.params) == {"status": "failed", "limit": "100"}


def test_labels_to_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with respx.mock:
        respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/label.pdf").respond(
            content=PDF, headers={"content-type": "application/pdf"}
        )
        respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}/labels.pdf").respond(
            content=PDF * 2, headers={"content-type": "application/pdf"}
        )
        one = runner.invoke(app, ["label", SHIPMENT_ID, "-o", "one.pdf"])
        default = runner.invoke(app, ["label", SHIPMENT_ID, "--json"])
        batch_pdf = runner.invoke(app, ["batch", "labels", BATCH_ID])
        old_way = runner.invoke(app, ["label", BATCH_ID, "--batch", "-o", "b.pdf"])
    assert one.exit_code == 0, one.output
    assert (tmp_path / "one.pdf").read_bytes() == PDF
    assert f"wrote one.pdf ({len(PDF)} bytes)" in one.output
    assert json.loads(default.stdout) == {"path": "label.pdf", "bytes": len(PDF)}
    assert batch_pdf.exit_code == 0, batch_pdf.output
    assert (tmp_path / f"{BATCH_ID}.pdf").read_bytes() == PDF * 2
    assert old_way.exit_code == 0, old_way.output
    assert (tmp_path / "b.pdf").read_bytes() == PDF * 2


def fake_lp(bin_dir: Path, *, fails: bool = False) -> Path:
    """An `lp` on PATH that keeps what it was sent (and its arguments) beside itself."""
    bin_dir.mkdir(exist_ok=True)
    lp = bin_dir / "lp"
    body = (
        'echo "lp: The printer or class does not exist." >&2; exit 1'
        if fails
        else ('echo "request id is $2-42 (1 file(s))"')
    )
    lp.write_text(f'#!/bin/sh\necho "$@" > "{bin_dir}/args"\ncat > "{bin_dir}/printed"\n{body}\n')
    lp.chmod(lp.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_labels_to_a_printer_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_lp(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with respx.mock:
        respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/label.pdf").respond(
            content=PDF, headers={"content-type": "application/pdf"}
        )
        result = runner.invoke(app, ["label", SHIPMENT_ID, "--printer", "Zebra_1"])
        raw = runner.invoke(app, ["label", SHIPMENT_ID, "--printer", "Zebra_1", "--json"])
        both = runner.invoke(app, ["label", SHIPMENT_ID, "--printer", "Zebra_1", "-o", "x.pdf"])
    assert result.exit_code == 0, result.output
    assert (bin_dir / "printed").read_bytes() == PDF
    assert (bin_dir / "args").read_text().strip() == "-d Zebra_1"
    assert "sent the label to printer Zebra_1" in result.output
    assert "request id is Zebra_1-42" in result.output
    assert json.loads(raw.stdout)["printer"] == "Zebra_1"
    assert both.exit_code == 2


def test_a_printer_that_refuses_exits_1_with_lps_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_lp(tmp_path / "bin", fails=True)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with respx.mock:
        respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}/labels.pdf").respond(
            content=PDF, headers={"content-type": "application/pdf"}
        )
        result = runner.invoke(app, ["batch", "labels", BATCH_ID, "--printer", "nope", "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "print_failed"
    assert "The printer or class does not exist." in error["message"]


def test_no_lp_installed_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    with respx.mock:
        respx.get(f"{SHIP}/v1/shipments/{SHIPMENT_ID}/label.pdf").respond(
            content=PDF, headers={"content-type": "application/pdf"}
        )
        result = runner.invoke(app, ["label", SHIPMENT_ID, "--printer", "Zebra_1"])
    assert result.exit_code == 1
    assert "`lp` not found" in result.output


def test_batch_create_returns_at_once() -> None:
    with respx.mock:
        create = respx.post(f"{SHIP}/v1/shipment-batches").respond(202, json=batch())
        progress = respx.get(f"{SHIP}/v1/shipment-batches/{BATCH_ID}").respond(json=batch())
        shown = runner.invoke(app, ["batch", "create", "o-1", "o-2", "--carrier", "YTO"])
        raw = runner.invoke(app, ["batch", "create", "o-1", "--json"])
    assert shown.exit_code == 0, shown.output
    assert f"follow it with: waybill batch progress {BATCH_ID}" in shown.output
    assert json.loads(create.calls[0].request.content) == {"order_ids": ["o-1", "o-2"], "carrier": "YTO"}
    assert json.loads(raw.stdout) == batch()
    assert not progress.calls


def test_all_reads_every_page_of_a_list() -> None:
    answers = [
        httpx.Response(200, json=page([order(id="ord_1")], "c2")),
        httpx.Response(200, json=page([order(id="ord_2")])),
    ]
    with respx.mock:
        route = respx.get(f"{SHIP}/v1/orders").mock(side_effect=answers * 2)
        shown = runner.invoke(app, ["orders", "list", "--all", "--status", "paid"])
        raw = runner.invoke(app, ["orders", "list", "--all", "--json"])
    assert shown.exit_code == 0, shown.output
    assert "ord_1" in shown.output
    assert "ord_2" in shown.output
    assert "next page" not in shown.output
    sent = [dict(c.request.url.params) for c in route.calls]
    assert sent[:2] == [{"status": "paid", "limit": "50"}, {"status": "paid", "limit": "50", "cursor": "c2"}]
    body = json.loads(raw.stdout)
    assert ([o["id"] for o in body["data"]], body["has_more"], body["next_cursor"]) == (["ord_1", "ord_2"], False, None)
