"""Each scenario's outcome and recovery time, collected during the run and printed at its end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ScenarioResult:
    scenario: str
    figures: dict[str, Any] = field(default_factory=dict)
    outcome: str = "running"


RESULTS: dict[str, ScenarioResult] = {}


def record(nodeid: str, scenario: str, **figures: Any) -> None:
    """Figures of the scenario a test runs (recovery times in seconds, counts); called as they are known."""
    result = RESULTS.setdefault(nodeid, ScenarioResult(scenario))
    result.scenario = scenario
    result.figures.update(figures)


def lines() -> list[str]:
    out = []
    for nodeid, result in RESULTS.items():
        figures = ", ".join(f"{k}={v}" for k, v in result.figures.items())
        out.append(f"{result.outcome.upper():7} {result.scenario} [{nodeid.rsplit('::', 1)[-1]}]: {figures}")
    return out
