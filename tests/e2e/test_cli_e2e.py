"""The `waybill` CLI as a user runs it: a subprocess against the running system."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import Harness, Shop

pytestmark = pytest.mark.e2e


def waybill(h: Harness, *args: str, key: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WAYBILL_CONFIG": "/nonexistent/waybill.toml",
        "WAYBILL_ALLOCATION_URL": h.allocation,
        "WAYBILL_SHIPPING_URL": h.shipping,
        "WAYBILL_TRACKING_URL": h.tracking,
        "WAYBILL_ADMIN_KEY": h.admin_key,
        "WAYBILL_API_KEY": key,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True, timeout=180, cwd=cwd
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
    assert refused.returncode == 1
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
