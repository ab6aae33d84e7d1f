"""CPU per operation of each process, and the median of repeated runs: the two figures that hold on a shared
machine where absolute rates move between runs (the brief's rule for every bench row)."""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from bench.common import row
from tests.support import cpu_seconds

T = TypeVar("T")
RUNS = 3


@dataclass
class CpuUsed:
    """CPU seconds each process used over a measured stretch (filled when the stretch ends)."""

    seconds: dict[str, float] = field(default_factory=dict)

    def per_op_us(self, ops: int) -> dict[str, float]:
        return {name: s * 1e6 / ops for name, s in self.seconds.items()} if ops > 0 else {}

    def text(self, ops: int, unit: str = "op") -> str:
        """``api 120 µs, postgres 80 µs`` per ``unit``; processes that used (about) nothing are left out."""
        per = self.per_op_us(ops)
        shown = [f"{name} {us:,.0f} µs" for name, us in sorted(per.items()) if us >= 0.5]
        return f"CPU/{unit}: " + (", ".join(shown) or "-")


@contextmanager
def measure(procs: Mapping[str, subprocess.Popen[bytes] | int]) -> Iterator[CpuUsed]:
    """The CPU each of ``procs`` (and the machine's PostgreSQL and Redis) uses inside the block."""
    pids = {name: p if isinstance(p, int) else p.pid for name, p in procs.items()}
    used = CpuUsed()
    before = cpu_seconds(pids)
    try:
        yield used
    finally:
        after = cpu_seconds(pids)
        used.seconds = {k: after[k] - before[k] for k in after if k in before}


def median_of(run: Callable[[], T], key: Callable[[T], float], runs: int = RUNS) -> tuple[T, list[T]]:
    """Run ``run`` ``runs`` times; the run whose ``key`` is the median, and all of them in order."""
    results = [run() for _ in range(runs)]
    middle = statistics.median_low([key(r) for r in results])
    return next(r for r in results if key(r) == middle), results


def ratio_row(label: str, ours: float, reference: float, target: float, runs: list[float] | None = None) -> float:
    """``ours / reference`` beside its target, with each run's ratio when there were several."""
    ratio = ours / reference if reference else 0.0
    each = f" (runs {', '.join(f'{r:.2f}x' for r in runs)})" if runs else ""
    verdict = "met" if ratio >= target else "NOT MET"
    row(label, f"{ratio:.2f}x", f"target >= {target:.2f}x: {verdict}{each}")
    return ratio
