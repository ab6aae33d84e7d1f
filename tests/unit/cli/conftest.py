"""The CLI's unit tests: three fake service URLs and keys in the environment, no config file, a wide
console, and no real waits (the client's retry backoff, the CLI's polling)."""

from __future__ import annotations

from pathlib import Path

import pytest
import waybill_client._transport

from cli.commands import batches, purchases
from cli.output import console
from tests.unit.cli.samples import ALLOC, SHIP, TRACK


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(console, "width", 200)  # wide enough that no table cell is cut
    monkeypatch.setenv("WAYBILL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("WAYBILL_ALLOCATION_URL", ALLOC)
    monkeypatch.setenv("WAYBILL_SHIPPING_URL", SHIP)
    monkeypatch.setenv("WAYBILL_TRACKING_URL", TRACK)
    monkeypatch.setenv("WAYBILL_API_KEY", "wbk_k_s")
    monkeypatch.setenv("WAYBILL_ADMIN_KEY", "admin")
    for name in ("WAYBILL_PROFILE", "WAYBILL_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(waybill_client._transport, "sleep", lambda seconds: None)
    monkeypatch.setattr(purchases, "POLL_S", 0)
    monkeypatch.setattr(batches, "POLL_S", 0)
