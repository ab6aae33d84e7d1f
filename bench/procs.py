"""Start and stop the server processes a benchmark measures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


@contextmanager
def process(argv: list[str], env: dict[str, str], health_url: str | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if health_url:
            wait_healthy(health_url)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def uvicorn(
    module: str, port: int, env: dict[str, str], health: str = "/healthz"
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    if module.startswith("services."):
        # Ours as production runs them (runtime.serve: the header deadline and size cap included in the figures).
        argv = [
            sys.executable, "-m", "runtime.serve", module, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning",
        ]  # fmt: skip
    else:  # the references: bare uvicorn
        argv = [
            sys.executable, "-m", "uvicorn", module, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
        ]  # fmt: skip
    return process(argv, env, f"http://127.0.0.1:{port}{health}")
