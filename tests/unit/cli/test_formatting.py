"""Money in yuan, times in the profile's zone (the profile, WAYBILL_TIMEZONE, --tz), the answers' samples."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import respx
from pydantic import BaseModel
from typer.testing import CliRunner
from waybill_client import models

from cli import output
from cli.main import app
from tests.unit.cli import samples
from tests.unit.cli.samples import ALLOC, TRACK, alert, page

runner = CliRunner()


@pytest.mark.parametrize(
    ("cents", "shown"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (100_050, "¥1,000.50"),
        (5_000_000, "¥50,000.00"),
        (-1_000, "-¥10.00"),
        (4.5, "¥0.05"),  # a per-number price can be a fraction of a fen: rounded half up
        (None, ""),
    ],
)
def test_money_is_shown_in_yuan(cents: int | float | None, shown: str) -> None:
    assert output.yuan(cents) == shown


@pytest.mark.parametrize(
    ("typed", "cents"), [("1000.50", 100_050), ("1000.5", 100_050), ("¥1,000.50", 100_050), ("0.01", 1), ("7", 700)]
)
def test_amounts_typed_in_yuan_are_exact_cents(typed: str, cents: int) -> None:
    assert output.to_cents(typed) == cents


@pytest.mark.parametrize("typed", ["0.005", "0", "-1", "abc", "NaN", "Infinity", ""])
def test_amounts_that_are_not_positive_yuan_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        output.to_cents(typed)


def test_zero_is_an_amount_only_where_it_may_be() -> None:
    assert output.to_cents("0", zero=True) == 0
    with pytest.raises(ValueError, match="amount"):
        output.to_cents("-1", zero=True)


def test_times_are_shown_in_the_zone_in_force() -> None:
    at = datetime(2026, 11, 28, 16, 30, tzinfo=UTC)
    output.override_timezone(None)
    output.use_timezone("Asia/Shanghai")
    assert output.when(at) == "2026-11-29 00:30:00"  # the next day in China
    output.use_timezone("UTC")
    assert output.when(at) == "2026-11-28 16:30:00"
    output.override_timezone("America/New_York")
    output.use_timezone("UTC")  # --tz wins over the profile
    assert output.when(at) == "2026-11-28 11:30:00"
    output.override_timezone(None)
    assert output.when(None) == ""


def alerts_opened_at(*args: str) -> str:
    with respx.mock:
        respx.get(f"{TRACK}/v1/alerts").respond(json=page([alert(opened_at="2026-11-28T16:30:00+00:00")]))
        result = runner.invoke(app, [*args, "alerts", "list"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_default_zone_is_asia_shanghai() -> None:
    assert "2026-11-29 00:30:00" in alerts_opened_at()


def test_the_profile_sets_the_zone_and_the_environment_and_tz_override_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[default]\ntimezone = "Europe/London"\n')
    monkeypatch.setenv("WAYBILL_CONFIG", str(cfg))
    assert "2026-11-28 16:30:00" in alerts_opened_at()
    monkeypatch.setenv("WAYBILL_TIMEZONE", "Asia/Tokyo")
    assert "2026-11-29 01:30:00" in alerts_opened_at()
    assert "2026-11-28 11:30:00" in alerts_opened_at("--tz", "America/New_York")


def test_an_unknown_zone_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = runner.invoke(app, ["--tz", "Mars/Olympus", "alerts", "list"])
    assert bad.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in bad.output
    monkeypatch.setenv("WAYBILL_TIMEZONE", "Nowhere")
    with respx.mock:
        route = respx.get(f"{ALLOC}/v1/balance").respond(json=samples.balance())
        result = runner.invoke(app, ["balance", "--json"])
    assert result.exit_code == 2
    assert '"invalid_timezone"' in result.stdout
    assert not route.calls


def test_json_keeps_the_apis_own_times_and_fields() -> None:
    # The model would write 04:00:00Z and drop a field it does not know; --json prints the answer.
    newer = {**alert(), "severity": "high"}
    with respx.mock:
        respx.get(f"{TRACK}/v1/alerts").respond(json=page([newer]))
        result = runner.invoke(app, ["alerts", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert '"opened_at": "2026-11-28T04:00:00+00:00"' in result.stdout
    assert '"severity": "high"' in result.stdout


SAMPLES: list[tuple[Callable[..., dict[str, Any]], type[BaseModel]]] = [
    (samples.purchase, models.PurchaseOut),
    (samples.order, models.OrderOut),
    (samples.store, models.StoreOut),
    (samples.shipment, models.ShipmentOut),
    (samples.batch, models.BatchOut),
    (samples.batch_summary, models.BatchSummaryOut),
    (lambda: samples.batch_item(1), models.BatchItemOut),
    (samples.alert, models.AlertOut),
    (samples.alert_setting, models.AlertSettingOut),
    (lambda: samples.delivery(1), models.WebhookDeliveryOut),
    (samples.endpoint, models.WebhookEndpointOut),
    (samples.pool, models.PoolOut),
    (samples.carrier, models.CarrierOut),
    (samples.balance, models.BalanceOut),
    (samples.allocation, models.Allocation),
    (samples.waybill, models.WaybillInfo),
    (samples.shop, models.ShopOut),
    (samples.settings, models.SettingsOut),
    (samples.carrier_option, models.CarrierOptionOut),
    (samples.order_event, models.OrderEventOut),
    (samples.stock_event, models.StockEventOut),
    (samples.tracking, models.TrackingOut),
]


@pytest.mark.parametrize(("make", "model"), SAMPLES, ids=[m.__name__ for _, m in SAMPLES])
def test_the_samples_are_whole_answers(make: Callable[..., dict[str, Any]], model: type[BaseModel]) -> None:
    answer = make()
    model.model_validate(answer)
    required = {name for name, f in model.model_fields.items() if f.is_required()}
    assert required <= set(answer)
