"""The tracking bench's paced run sends pushes the closed-loop run did not: a duplicate is acknowledged and
never processed again, so reused pushes measured 0 processed per second."""

from __future__ import annotations

from bench.tracking import _bodies


def test_the_paced_runs_pushes_are_new_ones() -> None:
    salts = [f"salt{i}" for i in range(5)]
    first, second = _bodies(salts), _bodies(salts, journey=1)
    assert len(set(first)) == len(first) == len(second) == len(set(second))
    assert set(first).isdisjoint(second)
    assert _bodies(salts) == first  # the same run twice is the same traffic (seeded)
