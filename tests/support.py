"""Test plumbing: per-worker databases, app clients, running a service's jobs."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from runtime.jobs import job_deserializer, job_serializer

ADMIN_KEY = "test-admin-key-0123456789"
INTERNAL_KEY = "test-internal-key-0123456789"
SERVICES = ("allocation", "shipping", "tracking")


def base_database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError(
            "DATABASE_URL is not set: run the tests with `make test` (which uses the environment's "
            "PostgreSQL or starts an embedded one), or export DATABASE_URL and REDIS_URL"
        )
    return url


def base_redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set: run the tests with `make test`")
    return url


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def with_redis_db(url: str, index: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{index}", parts.query, parts.fragment))


# Claims live in database 0 (which tests never flush): key per database number, value "host:pid".
REDIS_DB_CLAIM = "waybill:test-redis-db:{}"
REDIS_DB_CLAIM_TTL_S = 3 * 3600  # longer than any run; a claim a crash left behind lapses by itself
# Take over a claim only if it still holds the value we saw (two processes may find the same stale one).
_TAKE_OVER = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) end"
)


def _claim_holder_gone(holder: bytes) -> bool:
    host, _, pid = holder.decode().rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's claim: only its expiry frees it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim_redis_db(url: str, first: int = 1, last: int = 15) -> str:
    """The URL of a Redis database (``first``..``last``) that no other running test process, e2e system
    or bench holds, claimed for this process until ``release_redis_db``. Two test runs on one Redis (a
    developer's beside CI's, or two helpers') would otherwise share arq queues and take each other's jobs.
    Fails loudly when every database is held."""
    from redis import Redis

    me = f"{socket.gethostname()}:{os.getpid()}"
    with Redis.from_url(with_redis_db(url, 0)) as claims:
        for index in range(first, last + 1):
            key = REDIS_DB_CLAIM.format(index)
            if claims.set(key, me, nx=True, ex=REDIS_DB_CLAIM_TTL_S):
                return with_redis_db(url, index)
            holder = claims.get(key)
            taken_over = (
                holder is not None
                and _claim_holder_gone(holder)
                and claims.eval(_TAKE_OVER, 1, key, holder, me, REDIS_DB_CLAIM_TTL_S)
            )
            if taken_over:
                return with_redis_db(url, index)
    raise RuntimeError(
        f"every Redis database {first}..{last} on {url} is claimed by a running test process or bench "
        f"(keys {REDIS_DB_CLAIM.format('*')} in database 0): stop one, or point REDIS_URL at another Redis"
    )


def release_redis_db(url: str) -> None:
    from redis import Redis

    index = int(urlsplit(url).path.strip("/") or 0)
    me = f"{socket.gethostname()}:{os.getpid()}"
    with Redis.from_url(with_redis_db(url, 0)) as claims:
        key = REDIS_DB_CLAIM.format(index)
        if claims.get(key) == me.encode():
            claims.delete(key)


@contextmanager
def empty_redis_db(url: str) -> Iterator[str]:
    """A claimed Redis database, emptied, for a system of processes (e2e, benches); released afterwards."""
    from redis import Redis

    claimed = claim_redis_db(url)
    try:
        with Redis.from_url(claimed) as r:
            r.flushdb()
        yield claimed
    finally:
        release_redis_db(claimed)


def admin_url(url: str) -> str:
    # CREATE/DROP DATABASE from the server's maintenance database.
    return with_database(url, "postgres")


async def recreate_database(url: str, dbname: str, template: str | None = None) -> str:
    assert re.fullmatch(r"[a-z0-9_]+", dbname)
    conn = await asyncpg.connect(admin_url(url))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            dbname,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        if template:
            await conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "{template}"')
        else:
            await conn.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        await conn.close()
    return with_database(url, dbname)


async def drop_database(url: str, dbname: str) -> None:
    conn = await asyncpg.connect(admin_url(url))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            dbname,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
    finally:
        await conn.close()


async def drop_stale_test_databases(url: str) -> None:
    """Databases left by test runs that were killed (their process is gone)."""
    conn = await asyncpg.connect(admin_url(url))
    try:
        names = [r[0] for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'waybill_%'")]
    finally:
        await conn.close()
    for name in names:
        pid = name.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            await drop_database(url, name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def migrate(database_url: str) -> None:
    from runtime.migrations import upgrade

    for service in SERVICES:
        upgrade(service, database_url)


# What the session's `env` fixture found in os.environ before it put the in-process apps' settings there
# (3 courier tries, 3 database connections per pool...): processes the tests start (the end-to-end harness)
# begin from the environment as it was, not from settings meant for apps inside the test process.
_OVERRIDDEN: dict[str, str | None] = {}


def set_in_process_env(values: dict[str, str]) -> dict[str, str | None]:
    """Put `values` in os.environ for the apps run inside this process; returns what they replaced."""
    saved = {k: os.environ.get(k) for k in values}
    for k, v in saved.items():
        _OVERRIDDEN.setdefault(k, v)
    os.environ.update(values)
    return saved


def restore_env(saved: dict[str, str | None]) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
        if k in _OVERRIDDEN and _OVERRIDDEN[k] == v:  # the outermost override undone
            del _OVERRIDDEN[k]


def outside_env() -> dict[str, str]:
    """os.environ without the in-process settings: the environment a process started by a test inherits."""
    env = dict(os.environ)
    for k, v in _OVERRIDDEN.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@dataclass
class Env:
    """Where this test worker's services store things."""

    database_url: str
    redis_url: str

    def settings_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "WAYBILL_ADMIN_KEY": ADMIN_KEY,
            "WAYBILL_INTERNAL_KEY": INTERNAL_KEY,
            "WAYBILL_ENVIRONMENT": "test",
            "WAYBILL_LOG_JSON": "true",
            # Fast retries, and no background vacuum racing the tests' own statements.
            "ALLOCATION_COURIER_RETRY_BASE_S": "0.02",
            "ALLOCATION_COURIER_MAX_TRIES": "3",
            "ALLOCATION_VACUUM_INTERVAL_S": "0",
            # Several apps per test process share one PostgreSQL (max_connections 100).
            "WAYBILL_DB_POOL_SIZE": "3",
            "ALLOCATION_ALLOCATION_POOL_SIZE": "8",
            "TRACKING_WEBHOOK_POOL_SIZE": "4",
            "ALLOCATION_COURIER_URL": "http://courier.test/courier",
            # Purchase events relayed to shipping's webhooks: a respx route where a test wants them.
            "ALLOCATION_SHIPPING_URL": "http://shipping.test",
        }


@asynccontextmanager
async def app_client(
    app: FastAPI, base_url: str = "http://test", *, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def refusal(resp: httpx.Response) -> dict[str, Any]:
    """The error of an answer without its request id (which must repeat the X-Request-ID header): what is
    left is what a comparison of two refusals may look at."""
    error = dict(resp.json()["error"])
    assert error.pop("request_id") == resp.headers["x-request-id"], resp.text
    return error


def bearer(key: str, shop_id: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if shop_id is not None:
        headers["X-Shop-Id"] = shop_id
    return headers


async def run_jobs(
    worker_settings: type,
    *,
    max_burst_jobs: int = -1,
    ctx_extra: dict[str, Any] | None = None,
    **overrides: Any,
) -> int:
    """Run a service's queued jobs to completion in this process (arq burst mode)."""
    from runtime.arq_worker import create_worker

    worker = create_worker(
        worker_settings,
        cron_jobs=[],
        **{"redis_url": base_redis_url(), **overrides},
        burst=True,
        poll_delay=0.01,
        max_burst_jobs=max_burst_jobs,
        handle_signals=False,
    )
    if ctx_extra:
        worker.ctx.update(ctx_extra)
    try:
        await worker.main()
    finally:
        await worker.close()
    return int(worker.jobs_complete + worker.jobs_failed)


__all__ = ["asyncio", "job_deserializer", "job_serializer"]


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) each named process has used so far, its children included, and the machine's
    PostgreSQL and Redis (shared servers, so a delta over a quiet interval is what a run made them do; exited
    backends count through the postmaster's reaped children). A process that is gone is left out."""
    import psutil

    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            p = psutil.Process(pid)
            out[name] = sum(t.user + t.system for t in (q.cpu_times() for q in [p, *p.children(recursive=True)]))
        except psutil.Error:
            continue
    servers = {"postgres": 0.0, "redis": 0.0}
    for p in psutil.process_iter(["name"]):
        name = p.info["name"] or ""
        key = "postgres" if name.startswith("postgres") else "redis" if name.startswith("redis-server") else None
        if key is None:
            continue
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        servers[key] += t.user + t.system + t.children_user + t.children_system
    return out | servers
