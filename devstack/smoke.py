"""Start `make run` as a newcomer would, wait for every health endpoint, press Ctrl-C, and check
that nothing is left running. Used by CI: ``python -m devstack.smoke``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil

from devstack.processes import Ports

LIMIT_S = 120


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def main() -> int:
    ports = Ports()
    wanted = [ports.allocation, ports.shipping, ports.tracking, ports.sandbox, ports.dashboard]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    start = time.monotonic()
    proc = subprocess.Popen(["make", "run"], env=env, start_new_session=True)
    ok = False
    try:
        while time.monotonic() - start < LIMIT_S:
            if proc.poll() is not None:
                print(f"[smoke] make run exited early with {proc.returncode}", flush=True)
                return 1
            if all(healthy(p) for p in wanted):
                ok = True
                break
            time.sleep(1)
        took = time.monotonic() - start
        print(f"[smoke] healthy: {ok} after {took:.1f}s", flush=True)
    finally:
        group = [p for p in psutil.process_iter() if _in_group(p, proc.pid)]
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            print("[smoke] make run did not stop within 40s", flush=True)
            os.killpg(proc.pid, signal.SIGKILL)
            return 1
    time.sleep(1)
    left = [p for p in group if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    still_open = [p for p in wanted if healthy(p)]
    print(f"[smoke] left running: {len(left)} processes; ports still answering: {still_open}", flush=True)
    return 0 if ok and not left and not still_open else 1


def _in_group(p: psutil.Process, pgid: int) -> bool:
    try:
        return os.getpgid(p.pid) == pgid
    except (ProcessLookupError, psutil.Error):
        return False


if __name__ == "__main__":
    sys.exit(main())
