"""The channels bench's arithmetic: N from its variable (hostile values refused with the variable's name), the
rotation of channels across rounds, the numbers bought, CPU deltas, per-figure medians and ratios to Taobao,
and the table that prints them."""

from __future__ import annotations

import math

import pytest

from bench.channels import (
    CHANNELS,
    DEFAULT_ORDERS,
    ORDERS_ENV,
    Figures,
    cpu_delta,
    median_figures,
    orders_from_env,
    packages_for,
    per_order_ms,
    ratio,
    schedule,
    table,
)
from services.shipping.schemas.batches import MAX_BATCH


@pytest.mark.parametrize(("raw", "n"), [(None, DEFAULT_ORDERS), ("", DEFAULT_ORDERS), (" 50 ", 50), ("1", 1)])
def test_orders_from_env_reads_a_whole_number_or_the_default(raw: str | None, n: int) -> None:
    assert orders_from_env(raw) == n


@pytest.mark.parametrize("raw", ["abc", "1.5", "0", "-3", str(MAX_BATCH + 1), "9" * 4000, "9" * 5000, "1e3"])
def test_orders_from_env_refuses_what_one_batch_cannot_hold_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=ORDERS_ENV) as caught:
        orders_from_env(raw)
    assert len(str(caught.value)) < 200  # a huge value is not echoed back whole


def test_orders_from_env_takes_a_whole_batch() -> None:
    assert orders_from_env(str(MAX_BATCH)) == MAX_BATCH


def test_each_channel_runs_once_per_round_and_once_in_each_position() -> None:
    rounds = schedule(3)
    assert all(sorted(r) == sorted(CHANNELS) for r in rounds)
    assert [r[0] for r in rounds] == ["taobao", "pinduoduo", "own"]
    for position in range(3):
        assert sorted(r[position] for r in rounds) == sorted(CHANNELS)


@pytest.mark.parametrize(
    ("needed", "packages"),
    [
        (1, ["ZTO-1000"]),
        (1000, ["ZTO-1000"]),
        (1001, ["ZTO-5000"]),
        (20_000, ["ZTO-20000"]),
        (25_000, ["ZTO-20000", "ZTO-5000"]),
        (90_000, ["ZTO-20000"] * 5),
        (0, []),
    ],
)
def test_packages_cover_the_numbers_needed(needed: int, packages: list[str]) -> None:
    assert packages_for(needed) == packages


def test_cpu_delta_of_one_process_and_never_negative() -> None:
    assert cpu_delta({"shipping": 2.0, "sandbox": 1.0}, {"shipping": 3.5, "sandbox": 9.0}, "shipping") == 1.5
    assert cpu_delta({"shipping": 5.0}, {"shipping": 1.0}, "shipping") == 0.0  # restarted: its count began again
    assert cpu_delta({}, {"shipping": 1.0}, "shipping") == 0.0
    assert per_order_ms(0.5, 200) == 2.5
    assert per_order_ms(0.5, 0) == 0.0


def test_the_median_is_taken_figure_by_figure() -> None:
    runs = [Figures(100, 3.0, 50, 9.0), Figures(300, 1.0, 40, 7.0), Figures(200, 2.0, 60, 8.0)]
    assert median_figures(runs) == Figures(200, 2.0, 50, 8.0)
    with pytest.raises(ValueError, match="no runs"):
        median_figures([])


def test_ratio_to_a_reference_that_cannot_divide_is_none() -> None:
    assert ratio(50, 200) == 0.25
    assert ratio(1, 0) is None
    assert ratio(1, math.nan) is None
    assert ratio(1, math.inf) is None
    assert ratio(math.nan, 1) is None


def test_the_table_shows_every_channel_beside_taobao_as_one() -> None:
    medians = {
        "taobao": Figures(200, 2.0, 100, 4.0),
        "pinduoduo": Figures(100, 3.0, 50, 2.0),
        "own": Figures(800, 0.5, 0, 1.0),
    }
    header, *rows = table(medians)
    assert "intake orders/s" in header
    assert "worker CPU ms/order" in header
    by_channel = {line.split()[0]: line.split() for line in rows}
    assert by_channel["taobao"][1:] == ["200", "(1.00)", "2.00", "(1.00)", "100", "(1.00)", "4.00", "(1.00)"]
    assert by_channel["pinduoduo"][1:] == ["100", "(0.50)", "3.00", "(1.50)", "50", "(0.50)", "2.00", "(0.50)"]
    assert by_channel["own"][1:] == ["800", "(4.00)", "0.50", "(0.25)", "0", "(0.00)", "1.00", "(0.25)"]
    zero_reference = table({"taobao": Figures(0, 0, 0, 0), "own": Figures(1, 1, 1, 1)})
    assert "(n/a)" in zero_reference[2]


def test_intake_rows_show_the_api_cpu_beside_its_before_figure_and_the_median_of_each_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench.channels import INTAKE_CPU_BEFORE_MS, intake_rows

    figs = {c: Figures(100.0, 1.2 if c == "taobao" else 2.0, 50.0, 3.0) for c in CHANNELS}
    runs = [{"shipping": 1.0, "sandbox": 0.5}, {"shipping": 1.4, "sandbox": 0.7}, {"shipping": 1.2, "sandbox": 0.6}]
    intake_rows(figs, {"taobao": runs, "pinduoduo": []})
    out = capsys.readouterr().out
    taobao_line = next(line for line in out.splitlines() if line.strip().startswith("taobao: shipping API"))
    assert "1.20 ms" in taobao_line
    assert f"before {INTAKE_CPU_BEFORE_MS['taobao']:.2f} ms" in taobao_line
    assert "target <= 1.5 ms: met" in taobao_line
    assert "target <= 1.5 ms: NOT MET" in out  # Pinduoduo's 2.00 ms
    assert "taobao: CPU ms/order per process (median of 3)" in out
    assert "sandbox 0.60, shipping 1.20" in out
