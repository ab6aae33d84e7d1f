"""The one backoff: capped exponential, 1-based, with equal jitter (never sooner than half the nominal)."""

from __future__ import annotations

import random

import pytest

from runtime.backoff import Backoff


def test_nominal_doubles_from_the_base_up_to_the_cap() -> None:
    b = Backoff(base_s=2.0, cap_s=30.0)
    assert [b.nominal(n) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_first_try_or_less_waits_the_base() -> None:
    assert Backoff(1.5, 10.0).nominal(0) == 1.5
    assert Backoff(1.5, 10.0).nominal(-3) == 1.5


@pytest.mark.parametrize("attempt", [1, 3, 8, 40])
def test_jitter_stays_between_half_and_the_whole_nominal(attempt: int) -> None:
    b, rng = Backoff(0.5, 60.0), random.Random(7)
    delays = [b.delay(attempt, rng) for _ in range(500)]
    nominal = b.nominal(attempt)
    assert min(delays) >= nominal / 2
    assert max(delays) <= nominal
    assert max(delays) - min(delays) > nominal / 4  # spread out, not in step


def test_a_huge_attempt_does_not_overflow() -> None:
    assert Backoff(1.0, 5.0).nominal(10_000) == 5.0
