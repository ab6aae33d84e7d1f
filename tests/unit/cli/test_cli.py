"""The CLI over mocked REST APIs: configuration, output, errors shown as the API's message."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from cli.config import load
from cli.main import app

runner = CliRunner()
ALLOC = "http://alloc.test"
SHIP = "http://ship.test"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WAYBILL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("WAYBILL_ALLOCATION_URL", ALLOC)
    monkeypatch.setenv("WAYBILL_SHIPPING_URL", SHIP)
    monkeypatch.setenv("WAYBILL_API_KEY", "wbk_k_s")
    monkeypatch.setenv("WAYBILL_ADMIN_KEY", "admin")


def test_profile_file_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[default]\napi_key = "from-file"\n[staging]\nshipping_url = "http://staging:8002"\n')
    monkeypatch.setenv("WAYBILL_CONFIG", str(cfg))
    monkeypatch.delenv("WAYBILL_API_KEY")
    monkeypatch.delenv("WAYBILL_SHIPPING_URL")
    assert load().api_key == "from-file"
    assert load("staging").shipping_url == "http://staging:8002"
    monkeypatch.setenv("WAYBILL_API_KEY", "from-env")
    assert load().api_key == "from-env"


def test_api_errors_are_shown_as_the_api_message_not_a_traceback() -> None:
    with respx.mock:
        respx.post(f"{ALLOC}/v1/allocations").mock(
            return_value=httpx.Response(
                409,
                json={
                    "error": {
                        "code": "pool_exhausted",
                        "message": "no available ZTO numbers for shop s-1",
                        "details": {},
                    }
                },
            )
        )
        result = runner.invoke(app, ["allocate", "ZTO", "o-1"])
    assert result.exit_code == 1
    assert "pool_exhausted: no available ZTO numbers for shop s-1" in result.output
    assert "Traceback" not in result.output


def test_missing_key_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_API_KEY")
    result = runner.invoke(app, ["balance"])
    assert result.exit_code == 1
    assert "WAYBILL_API_KEY" in result.output


def test_topup_sends_exact_cents_and_refuses_fractions_of_a_cent() -> None:
    with respx.mock:
        route = respx.post(f"{ALLOC}/v1/shops/s-1/topups").mock(
            return_value=httpx.Response(201, json={"balance_cents": 100_050, "ledger": []})
        )
        ok = runner.invoke(app, ["topup", "s-1", "1000.50"])
        bad = runner.invoke(app, ["topup", "s-1", "0.005"])
    assert ok.exit_code == 0
    assert route.calls[0].request.content == b'{"amount_cents":100050}'
    assert route.calls[0].request.headers["authorization"] == "Bearer admin"
    assert bad.exit_code == 2
    assert len(route.calls) == 1


def test_purchase_waits_until_completed() -> None:
    pending = {"id": "p-1", "status": "pending", "numbers_received": 0, "error": None}
    done = {**pending, "status": "completed", "numbers_received": 1000}
    with respx.mock:
        create = respx.post(f"{ALLOC}/v1/purchases").mock(return_value=httpx.Response(202, json=pending))
        respx.get(f"{ALLOC}/v1/purchases/p-1").mock(return_value=httpx.Response(200, json=done))
        result = runner.invoke(app, ["purchase", "ZTO", "ZTO-1000", "--key", "retry-key-1"])
    assert result.exit_code == 0, result.output
    assert create.calls[0].request.headers["idempotency-key"] == "retry-key-1"
    assert "completed, 1000 numbers" in result.output


def test_batch_ship_follows_progress(tmp_path: Path) -> None:
    ids = tmp_path / "orders.txt"
    ids.write_text("o-1\no-2\no-3\n")
    base = {"id": "b-1", "status": "running", "total": 3, "done": 0, "failed": 0, "skipped": 0}
    states = [
        httpx.Response(200, json={**base, "done": 1}),
        httpx.Response(200, json={**base, "status": "completed", "done": 3}),
    ]
    with respx.mock:
        create = respx.post(f"{SHIP}/v1/shipment-batches").mock(return_value=httpx.Response(202, json=base))
        respx.get(f"{SHIP}/v1/shipment-batches/b-1").mock(side_effect=states)
        result = runner.invoke(app, ["batch", "ship", "--file", str(ids), "--carrier", "ZTO"])
    assert result.exit_code == 0, result.output
    assert create.calls[0].request.content == b'{"order_ids":["o-1","o-2","o-3"],"carrier":"ZTO"}'
    assert "progress: 3/3 (done 3, failed 0)" in result.output
