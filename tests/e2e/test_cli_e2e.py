"""The `waybill` CLI as a user runs it: a subprocess against the running system."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cli.api import ExitCode
from tests.e2e.harness import Harness, Shop, wait_for

pytestmark = pytest.mark.e2e


def cli_env(h: Harness, key: str = "") -> dict[str, str]:
    """The environment the CLI runs in: the running system's URLs and admin key, the shop's API key (``key``), no
    config file of the machine's, and a terminal wide enough that tables are not cut."""
    return {
        **os.environ,
        "WAYBILL_CONFIG": "/nonexistent/waybill.toml",
        "WAYBILL_ALLOCATION_URL": h.allocation,
        "WAYBILL_SHIPPING_URL": h.shipping,
        "WAYBILL_TRACKING_URL": h.tracking,
        "WAYBILL_ADMIN_KEY": h.admin_key,
        "WAYBILL_API_KEY": key,
        "COLUMNS": "200",
    }


def waybill(h: Harness, *args: str, key: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=cli_env(h, key),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


async def test_cli_runs_a_shops_day(harness: Harness, tmp_path: Path) -> None:
    created = await asyncio.to_thread(waybill, harness, "shops", "create", "命令行店铺")
    assert created.returncode == 0, created.stderr
    shop_id = created.stdout.split("shop ")[1].split()[0]
    key = next(w for w in created.stdout.split() if w.startswith("wbk_"))

    topped = await asyncio.to_thread(waybill, harness, "topup", shop_id, "50000.00")
    assert topped.returncode == 0, topped.stderr
    assert "¥50,000.00" in topped.stdout

    bought = await asyncio.to_thread(waybill, harness, "purchase", "ZTO", "ZTO-1000", key=key)
    assert bought.returncode == 0, bought.stderr
    assert "completed, 1000 numbers" in bought.stdout

    pools = await asyncio.to_thread(waybill, harness, "pools", "list", key=key)
    assert "ZTO" in pools.stdout
    assert "1000" in pools.stdout

    first = await asyncio.to_thread(waybill, harness, "allocate", "ZTO", "cli-order-1", key=key)
    again = await asyncio.to_thread(waybill, harness, "allocate", "ZTO", "cli-order-1", key=key)
    number = first.stdout.split("-> ")[1].split()[0]
    assert "(new)" in first.stdout
    assert f"-> {number} (already allocated)" in again.stdout

    refused = await asyncio.to_thread(waybill, harness, "allocate", "SF", "cli-order-2", key=key)
    assert refused.returncode == ExitCode.CONFLICT  # 409: the state does not allow it
    assert "pool_exhausted: no available SF numbers" in refused.stderr
    assert "Traceback" not in refused.stderr

    async with harness.client() as http:
        shop = await harness.bind_seller(http, Shop(shop_id, key))
        tids = await harness.paid_trades(http, shop, 20)
        orders = await harness.orders_for(http, shop, tids)
    ids = tmp_path / "orders.txt"
    ids.write_text("\n".join(orders))
    shipped = await asyncio.to_thread(
        waybill, harness, "batch", "ship", "--file", str(ids), "--carrier", "ZTO", key=key
    )
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert "progress: 20/20 (done 20, failed 0)" in shipped.stdout


def installed(
    h: Harness, *args: str, key: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The `waybill` command installed in the venv (its console script), as a seller runs it."""
    command = Path(sys.executable).with_name("waybill")
    assert command.exists(), f"{command}: the project is not installed (make install)"
    return subprocess.run(
        [str(command), *args],
        env={**cli_env(h, key), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


async def run_json(h: Harness, *args: str, key: str = "", env: dict[str, str] | None = None) -> Any:
    done = await asyncio.to_thread(installed, h, *args, "--json", key=key, env=env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return json.loads(done.stdout)


def fake_lp(bin_dir: Path) -> dict[str, str]:
    """A PATH with an `lp` that keeps what it is sent: a printer queue without CUPS."""
    bin_dir.mkdir()
    lp = bin_dir / "lp"
    lp.write_text(f'#!/bin/sh\necho "$@" > "{bin_dir}/args"\ncat > "{bin_dir}/printed"\necho "request id is $2-1"\n')
    lp.chmod(lp.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


async def test_cli_a_sellers_day_with_purchase_refund_ship_label_void_and_alerts(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    shop = await run_json(h, "shops", "create", "命令行卖家")
    key = shop["api_key"]
    await run_json(h, "shops", "topup", shop["id"], "5000")

    # Buy numbers; the whole package is paid.
    bought = await run_json(h, "purchase", "ZTO", "ZTO-1000", key=key)
    assert bought["status"] == "completed", bought
    before = await run_json(h, "balance", key=key)
    assert before["balance_cents"] == 500_000 - bought["price_cents"]
    listed = await asyncio.to_thread(installed, h, "purchases", key=key)
    assert bought["id"] in listed.stdout  # whole, never cut
    assert f"¥{bought['price_cents'] / 100:,.2f}" in listed.stdout

    async with h.client() as http:
        seller = await h.bind_seller(http, Shop(shop["id"], key))
        tids = await h.paid_trades(http, seller, 2)
        first, second = await h.orders_for(http, seller, tids)
    settings = await run_json(h, "settings", "show", key=key)
    assert settings["seller_nick"] == seller.nick

    # Stores: the settings' binding is the shop's Taobao store; a Pinduoduo mall is bound with its token read
    # from a file (never on the command line), and unbound.
    stores = await run_json(h, "stores", "list", key=key)
    assert [(s["channel"], s["seller_id"]) for s in stores["data"]] == [("taobao", seller.nick)]
    async with h.client() as http:
        mall = await h.pdd_mall(http)
    token_file = tmp_path / "pdd-token"
    token_file.write_text(mall["access_token"] + "\n")
    pdd = await run_json(h, "stores", "bind", "pinduoduo", "--token-file", str(token_file), key=key)
    assert (pdd["seller_id"], pdd["active"]) == (str(mall["mall_id"]), True)
    taobao_orders = await run_json(h, "orders", "list", "--channel", "taobao", key=key)
    assert {first, second} <= {o["id"] for o in taobao_orders["data"]}
    unbound = await run_json(h, "stores", "unbind", pdd["id"], key=key)
    assert (unbound["active"], unbound["token_set"]) == (False, False)

    # Which carrier, then ship: the shipment is confirmed at the marketplace by the worker.
    options = await run_json(h, "orders", "options", first, key=key)
    assert any(o["carrier"] == "ZTO" and o["usable"] for o in options["data"]), options
    shipment = await run_json(h, "ship", first, "--carrier", "ZTO", key=key)

    async def confirmed() -> bool:
        found = await run_json(h, "shipments", "show", shipment["id"], key=key)
        return bool(found["status"] == "confirmed")

    await wait_for(confirmed, 60, f"shipment {shipment['id']} confirmed")
    order = await run_json(h, "orders", "show", first, key=key)
    assert (order["status"], order["number"]) == ("shipped", shipment["number"])
    events = await run_json(h, "orders", "events", first, key=key)
    assert events["data"], events

    # Its label, to a file and to a printer queue.
    pdf = tmp_path / "label.pdf"
    wrote = await asyncio.to_thread(installed, h, "label", shipment["id"], "-o", str(pdf), key=key)
    assert wrote.returncode == 0, wrote.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    printer = fake_lp(tmp_path / "bin")
    sent = await asyncio.to_thread(installed, h, "label", shipment["id"], "--printer", "Zebra", key=key, env=printer)
    assert sent.returncode == 0, sent.stderr
    assert "request id is Zebra-1" in sent.stdout
    assert (tmp_path / "bin" / "printed").read_bytes().startswith(b"%PDF")

    # Void a shipment before the marketplace confirms it (the worker that confirms is down meanwhile).
    await asyncio.to_thread(h.kill, "shipping-worker")
    try:
        pending = await run_json(h, "ship", second, "--carrier", "ZTO", key=key)
        voided = await run_json(h, "void", pending["id"], key=key)
        assert voided["status"] == "cancelled", voided
        again = await asyncio.to_thread(installed, h, "void", pending["id"], "--json", key=key)
        assert again.returncode == ExitCode.CONFLICT, again.stdout  # a cancelled shipment stays cancelled
        assert json.loads(again.stdout)["error"]["request_id"]
    finally:
        await asyncio.to_thread(h.start, ["shipping-worker"])

    # Refund part of the purchase: the numbers never handed out, not those shipped or voided.
    refund = await run_json(h, "purchases", "refund", bought["id"], key=key)
    assert 0 < refund["refunded_quantity"] < 1000, refund
    assert refund["refunded_cents"] > 0
    after = await run_json(h, "balance", key=key)
    assert after["balance_cents"] == before["balance_cents"] + refund["refunded_cents"]
    shown = await asyncio.to_thread(installed, h, "purchases", "show", bought["id"], key=key)
    assert f"¥{refund['refunded_cents'] / 100:,.2f}" in shown.stdout

    # Alerts: the shop's thresholds, the open alerts, and an alert that is not there.
    await run_json(h, "alerts", "set", "--not-collected-hours", "48", "--transit-days", "30", key=key)
    thresholds = await run_json(h, "alerts", "settings", key=key)
    assert {"carrier": "*", "not_collected_hours": 48.0}.items() <= thresholds["data"][0].items()
    alerts = await run_json(h, "alerts", "list", key=key)
    assert alerts["has_more"] is False
    missing = await asyncio.to_thread(installed, h, "alerts", "ack", "999999999", "--json", key=key)
    assert missing.returncode == ExitCode.NOT_FOUND, missing.stdout
    assert json.loads(missing.stdout)["error"]["code"] == "not_found"

    # Times in the shop's zone by default, in another with --tz.
    order_at = datetime.fromisoformat(order["created_at"])
    china = await asyncio.to_thread(installed, h, "orders", "list", key=key)
    utc = await asyncio.to_thread(installed, h, "--tz", "UTC", "orders", "list", key=key)
    assert order_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S") in china.stdout
    assert order_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") in utc.stdout

    # A key that was revoked: exit 3.
    created = await run_json(h, "keys", "create", shop["id"], "--label", "temp")
    await run_json(h, "keys", "revoke", shop["id"], created["key_id"])

    async def refused() -> bool:
        done = await asyncio.to_thread(installed, h, "balance", key=created["api_key"])
        return done.returncode == ExitCode.AUTH

    await wait_for(refused, 30, "the revoked key refused")
