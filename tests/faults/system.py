"""The e2e harness over private PostgreSQL and Redis, with the controls the fault scenarios need: stop and
start either server, bring every process back, read the database (read-only) where only it can tell."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.e2e.harness import Harness
from tests.faults.infra import PrivatePostgres, PrivateRedis

# Under load (two shared cores) a process can take well over the e2e harness's 60 s to answer /healthz.
START_TIMEOUT_S = 240.0


@dataclass
class FaultSystem(Harness):
    pg: PrivatePostgres | None = None
    redis_server: PrivateRedis | None = None
    restarts: list[str] = field(default_factory=list)

    @property
    def postgres(self) -> PrivatePostgres:
        assert self.pg is not None
        return self.pg

    @property
    def redis(self) -> PrivateRedis:
        assert self.redis_server is not None
        return self.redis_server

    def start(self, names: list[str] | None = None, timeout: float = START_TIMEOUT_S) -> None:
        super().start(names, timeout)

    def client(self, timeout: float = 30.0) -> httpx.AsyncClient:
        # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout closes them, so a request
        # is not sent on a connection the server is closing just then (httpx.ReadError, not a fault under test).
        return httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=64, keepalive_expiry=1.0))

    def stop(self) -> None:
        """The harness's stop, then SIGKILL to every process group whatever happened, so that no process of
        the fault run outlives it (a loaded machine can make a graceful stop miss its deadline)."""
        procs = list(self.procs.values())
        try:
            super().stop()
        finally:
            for proc in procs:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)

    def dead(self) -> list[str]:
        """Processes that exited by themselves (a crash the scenario did not cause on purpose)."""
        return [name for name in self.specs if name not in self.procs or self.procs[name].poll() is not None]

    def assert_alive(self) -> None:
        """Fail now rather than at a timeout when a process died by itself (its log says why)."""
        dead = self.dead()
        assert not dead, f"processes exited: {dead}; see their logs in {self.log_dir}"

    def ensure_running(self) -> None:
        for name in self.dead():
            self.restarts.append(name)
            self.procs.pop(name, None)
            self.start([name])

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """A read-only query on the system's database, for what no API shows."""
        conn = await asyncpg.connect(self.database_url)
        try:
            async with conn.transaction(readonly=True):
                rows: list[asyncpg.Record] = await conn.fetch(query, *args)
                return rows
        finally:
            await conn.close()


def since(t0: float) -> float:
    return round(time.monotonic() - t0, 1)


__all__ = ["FaultSystem", "Path", "since"]
