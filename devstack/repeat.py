"""Run the end-to-end and fault suites several times in a row to find flakes: ``make test-repeat COUNT=5``.

Each round runs them on embedded PostgreSQL and Redis (the newcomer's path) and, when DATABASE_URL and
REDIS_URL are set, on those servers too. Every run goes to the end (a failure does not stop the next one);
the table at the end gives each run's time and outcome, and the exit status is 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass

SUITES = ["tests/e2e", "tests/faults"]


@dataclass(frozen=True)
class Run:
    round: int
    infra: str
    seconds: float
    passed: bool


def _command(extra: list[str]) -> list[str]:
    python = sys.executable
    pytest = [python, "-m", "pytest", *SUITES, "-p", "no:cacheprovider", *extra]
    return [python, "-m", "devstack.with_infra", "--", *pytest]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=3, help="rounds to run (default 3)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (e.g. -k redis)")
    args = parser.parse_args(argv)
    infras = [("embedded", {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")})]
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        infras.append(("servers", dict(os.environ)))
    runs: list[Run] = []
    for round_ in range(1, args.count + 1):
        for name, env in infras:
            print(f"[repeat] round {round_} of {args.count}, {name}", flush=True)
            started = time.monotonic()
            code = subprocess.call(_command(args.pytest_args), env=env)
            runs.append(Run(round_, name, time.monotonic() - started, code == 0))
    print("\n[repeat] round  infrastructure  seconds  outcome")
    for run in runs:
        print(f"[repeat] {run.round:>5}  {run.infra:<14}  {run.seconds:>7.0f}  {'passed' if run.passed else 'FAILED'}")
    failed = sum(not r.passed for r in runs)
    print(f"[repeat] {len(runs)} runs, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
