#!/usr/bin/env python
"""The image's HEALTHCHECK: checks whatever role the container's main process plays.

Docker runs a healthcheck as a separate process that does not see the entrypoint's arguments, so
the role is read from PID 1's command line (deploy/entrypoint.sh execs the real command):
- uvicorn (an API or the sandbox): ``GET /healthz`` on its ``--port``;
- arq (a worker): ``arq --check``, which reads the heartbeat the worker writes to Redis every 30 s;
- anything else (migrate, a shell): healthy while it runs.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path


def check_for(argv: list[str]) -> list[str] | str | None:
    """What to check for a process started as ``argv``: a /healthz URL, an arq --check command, or nothing."""
    names = [Path(a).name for a in argv]
    if "uvicorn" in names and "--port" in argv[:-1]:
        return f"http://127.0.0.1:{argv[argv.index('--port') + 1]}/healthz"
    if "arq" in names:
        settings = argv[names.index("arq") + 1 :]
        if settings:
            return ["arq", "--check", settings[0]]
    return None


def main() -> int:
    argv = [a for a in Path("/proc/1/cmdline").read_bytes().decode().split("\0") if a]
    target = check_for(argv)
    if isinstance(target, str):
        try:
            with urllib.request.urlopen(target, timeout=2) as response:
                return 0 if response.status == 200 else 1
        except OSError:
            return 1
    if isinstance(target, list):
        os.execvp(target[0], target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
