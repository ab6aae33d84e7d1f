#!/usr/bin/env python
"""The image's HEALTHCHECK: checks whatever role the container's main process plays.

Docker runs a healthcheck as a separate process that does not see the entrypoint's arguments, so
the role is read from PID 1's command line (deploy/entrypoint.sh execs the real command):
- uvicorn (an API or the sandbox, run by ``python -m runtime.serve``): ``GET /healthz`` on its ``--port``;
- a worker (``python -m runtime.arq_worker``): the heartbeat key the worker writes to Redis every 30 s
  (what ``arq --check`` reads, without importing the whole service every few seconds to find it);
- anything else (migrate, a shell): healthy while it runs.
"""

from __future__ import annotations

import os
import re
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import redis


def check_for(argv: list[str], env: Mapping[str, str]) -> tuple[str, str, str] | None:
    """What to check for a process started as ``argv``: ("http", /healthz URL, ""), ("redis", Redis URL,
    heartbeat key), or nothing."""
    names = [Path(a).name for a in argv]
    if ("uvicorn" in names or "runtime.serve" in argv) and "--port" in argv[:-1]:
        return ("http", f"http://127.0.0.1:{argv[argv.index('--port') + 1]}/healthz", "")
    if "runtime.arq_worker" in argv:
        target = " ".join(argv[argv.index("runtime.arq_worker") + 1 :])
        found = re.search(r"services\.(\w+)\.tasks\.WorkerSettings", target)
        if found:
            service = found.group(1)
            # The worker's settings read <SERVICE>_REDIS_URL first, then REDIS_URL (runtime/settings.py);
            # its queue is arq:<service> (runtime/jobs.py) and arq keeps the heartbeat beside it.
            url = env.get(f"{service.upper()}_REDIS_URL") or env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
            return ("redis", url, f"arq:{service}:health-check")
    return None


def main() -> int:
    argv = [a for a in Path("/proc/1/cmdline").read_bytes().decode().split("\0") if a]
    target = check_for(argv, os.environ)
    if target is None:
        return 0
    kind, url, key = target
    try:
        if kind == "http":
            with urllib.request.urlopen(url, timeout=2) as response:
                return 0 if response.status == 200 else 1
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return 0 if client.exists(key) else 1
    except (OSError, redis.RedisError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
