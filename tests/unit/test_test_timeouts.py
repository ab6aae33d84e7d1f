"""A hung test fails in bounded time with a stack dump (pytest-timeout, set in pyproject.toml), async tests on
the session's event loop included, instead of hanging the whole run until CI's limit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_hung_async_test_fails_with_a_stack_dump(tmp_path: Path) -> None:
    hung = tmp_path / "test_hung.py"
    hung.write_text(
        textwrap.dedent(
            """
            import asyncio

            async def test_waits_for_ever() -> None:
                await asyncio.Event().wait()

            def test_after_it_still_runs() -> None:
                assert True
            """
        )
    )
    options = ["-p", "no:cacheprovider", "-p", "no:xdist", "-o", "timeout=2"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), str(hung), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "Timeout (>2.0s) from pytest-timeout" in out, out
    assert "run_until_complete" in out, out  # where it hung: the stack at the moment of the timeout
    assert "1 failed, 1 passed" in out, out


def test_every_test_has_a_timeout_by_default() -> None:
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 0 < int(options["timeout"]) <= 600
