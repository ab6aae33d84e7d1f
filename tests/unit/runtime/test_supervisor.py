"""`make run`'s supervisor: a failed child stops the run; a signal stops every child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

from devstack.processes import ProcessSpec
from devstack.supervisor import Supervisor


def _sleeper(seconds: float) -> list[str]:
    return [sys.executable, "-c", f"import time; print('up', flush=True); time.sleep({seconds})"]


async def test_a_failing_child_stops_the_run_and_the_others() -> None:
    specs = [
        ProcessSpec("long", _sleeper(60)),
        ProcessSpec("broken", [sys.executable, "-c", "import sys; sys.exit(3)"]),
    ]
    sup = Supervisor(specs, dict(os.environ))
    status = await sup.run()
    assert status == 1
    assert all(p.returncode is not None for p in sup.procs.values())
    assert sup.procs["broken"].returncode == 3


def test_sigint_stops_every_child() -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from devstack.processes import ProcessSpec
        from devstack.supervisor import Supervisor
        specs = [ProcessSpec(f"p{{i}}", {_sleeper(120)!r}) for i in range(3)]
        sys.exit(asyncio.run(Supervisor(specs, dict(os.environ)).run()))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(3):
        assert "| up" in proc.stdout.readline()
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) == 3
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    time.sleep(0.2)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
