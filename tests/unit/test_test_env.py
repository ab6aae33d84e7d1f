"""The processes a test starts do not inherit the settings meant for apps inside the test process."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from devstack.processes import ProcessSpec
from tests.e2e.harness import Harness
from tests.support import outside_env, restore_env, set_in_process_env


def test_harness_processes_start_from_the_environment_before_the_in_process_settings(tmp_path: Path) -> None:
    os.environ["WAYBILL_TEST_OUTER"] = "kept"
    saved = set_in_process_env({"WAYBILL_DB_POOL_SIZE": "3", "WAYBILL_TEST_OUTER": "inner"})
    try:
        assert os.environ["WAYBILL_DB_POOL_SIZE"] == "3"
        harness = Harness("postgresql://db/x", "redis://r/1", tmp_path)
        # Not the in-process value (3): the harness's own bound for its processes (E2E_ENV), or none.
        assert harness.env.get("WAYBILL_DB_POOL_SIZE") != "3"
        assert harness.env["WAYBILL_TEST_OUTER"] == "kept"
        assert outside_env()["WAYBILL_TEST_OUTER"] == "kept"
    finally:
        restore_env(saved)
        os.environ.pop("WAYBILL_TEST_OUTER")
    assert os.environ.get("WAYBILL_DB_POOL_SIZE") == saved["WAYBILL_DB_POOL_SIZE"]


def test_nested_overrides_restore_in_turn() -> None:
    outer = set_in_process_env({"WAYBILL_TEST_NESTED": "a"})
    inner = set_in_process_env({"WAYBILL_TEST_NESTED": "b"})
    assert "WAYBILL_TEST_NESTED" not in outside_env()
    restore_env(inner)
    assert os.environ["WAYBILL_TEST_NESTED"] == "a"
    assert "WAYBILL_TEST_NESTED" not in outside_env()
    restore_env(outer)
    assert "WAYBILL_TEST_NESTED" not in os.environ


def test_a_harness_that_fails_to_start_leaves_no_process_running(tmp_path: Path) -> None:
    """A process that exits at start-up fails the start, and the ones started beside it are stopped (a bench
    whose dashboard failed left six processes taking the next run's jobs from the same Redis)."""
    harness = Harness("postgresql://db/x", "redis://r/1", tmp_path)
    marker = f"left-behind-{uuid.uuid4().hex}"
    harness.specs = {
        "sleeper": ProcessSpec("sleeper", [sys.executable, "-c", f"import time; time.sleep(60)  # {marker}"]),
        "broken": ProcessSpec(
            "broken", [sys.executable, "-c", "raise SystemExit(1)"], health_url="http://127.0.0.1:9/"
        ),
    }
    with pytest.raises(RuntimeError, match="broken exited with 1"):
        harness.start(timeout=30)
    assert harness.procs == {}
    cmdlines = (" ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))
    assert [c for c in cmdlines if marker in c] == []
