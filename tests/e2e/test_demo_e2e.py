"""`make demo` end to end: the command run as a newcomer runs it, against the e2e system's processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from devstack.demo import plan_day
from tests.e2e.harness import Harness

pytestmark = pytest.mark.e2e

TRADES = int(os.environ.get("DEMO_E2E_TRADES", "200"))


def _parcels(orders: int) -> int:
    """The parcels of a scene's orders shipped in 1 and 2 parcels, turn about."""
    return sum(1 + i % 2 for i in range(orders))


def test_demo_ships_a_day_of_trades_and_exits_zero_with_its_summary(own_harness: Harness, tmp_path: Path) -> None:
    h = own_harness
    env = {
        **os.environ,
        "ALLOCATION_PORT": str(h.ports.allocation),
        "SHIPPING_PORT": str(h.ports.shipping),
        "TRACKING_PORT": str(h.ports.tracking),
        "SANDBOX_PORT": str(h.ports.sandbox),
        "WAYBILL_ADMIN_KEY": h.admin_key,
        "DEMO_TRADES": str(TRADES),
        "DEMO_BATCH_SIZE": str(max(1, TRADES // 2)),
        "DEMO_OUT_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "devstack.demo"], env=env, capture_output=True, text=True, timeout=1200, check=False
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "nothing answers on the ports" not in out  # it used the running system, not a stack of its own
    for title in ("orders by state", "numbers by state per carrier", "alerts by kind", "time taken"):
        assert title in out, out[-4000:]
    assert "invariants hold" in out
    assert re.search(r"spend report: spent ¥[\d,]+\.\d\d, .* net ¥[\d,]+\.\d\d \(the ledger's, to the cent\)", out), (
        out[-4000:]
    )
    assert re.search(rf"│ total\s+│\s+{TRADES} │", out), out[-4000:]  # every trade became an order
    # The at-collection store's shipments, held once printed, each released (by its collection, or at the shop's
    # confirm_time) or never collected; every parcel of the address change scene's orders told to its courier and
    # printed again. Both scenes ship their orders in 1 or 2 parcels, turn about.
    plan = plan_day(TRADES)
    held, moved = plan.at_collection, sum(plan.address_changes.values())
    found = re.search(
        rf"│ at-collection store\s+│\s+{held} │\s+{held} │\s+{_parcels(held)} │ held, marketplace not told {held}, "
        r"released by collection (\d+), released at confirm_time (\d+), never collected \(still held\) (\d+)",
        out,
    )
    assert found, out[-4000:]
    assert sum(int(n) for n in found.groups()) == held
    reprinted = (
        rf"│ address change reprint\s+│\s+{moved} │\s+{moved} │\s+{_parcels(moved)} │ receivers changed {moved}, "
        rf"courier updates {_parcels(moved)}, labels reprinted {_parcels(moved)}"
    )
    assert re.search(reprinted, out), out[-4000:]
    # The shop's own seller, so a second demo on the same database (the sandbox restarted in between, its
    # generated seller names starting over) does not find the seller bound to the first demo's shop.
    assert re.search(r"shop (s-\w+) \(seller 演示卖家-\1\)", out), out[-4000:]

    sample = tmp_path / "sample-label.pdf"
    assert f"sample label PDF: {sample}" in out
    assert len(PdfReader(sample).pages) == 1
    batch_pdfs = list(tmp_path.glob("labels-bat_*.pdf"))
    assert len(batch_pdfs) == 1
    assert len(PdfReader(batch_pdfs[0]).pages) == TRADES // 2  # the first of two batches, all shipped
