"""No Redis failure ends a process: each failure mode, reproduced by a TCP proxy between our clients and
the real Redis (tests/tcp_proxy.py), against the worker loop, the API's start-up and job queue, the rate
limiters and the tracking wake-up channel. Each process logs the trouble once per outage and counts it
(waybill_redis_* metrics), and resumes by itself when Redis answers again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from arq.worker import func
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import func as sqlfunc
from sqlalchemy import select

from devstack.infra import free_port
from runtime.arq_worker import ResilientWorker
from runtime.db import make_engine
from runtime.jobs import JobQueue, PendingJob
from runtime.ratelimit import Pacer as ProviderRateLimiter
from runtime.ratelimit import RateLimit, RateLimiter
from runtime.redis_clients import open_redis
from services.tracking import wake
from tests.e2e.harness import wait_for
from tests.support import ADMIN_KEY, Env, bearer
from tests.tcp_proxy import TcpProxy

RAN: list[str] = []


async def note(_: dict[str, Any], value: str) -> None:
    RAN.append(value)


def _db(url: str) -> int:
    return int(urlsplit(url).path.lstrip("/") or 0)


def _metric(name: str, component: str) -> float:
    return REGISTRY.get_sample_value(name, {"component": component}) or 0.0


@pytest.fixture
async def proxy(env: Env) -> AsyncIterator[TcpProxy]:
    p = TcpProxy.for_url(env.redis_url)
    await p.start()
    yield p
    await p.close()


@dataclass
class RunningWorker:
    worker: ResilientWorker
    task: asyncio.Task[None]
    direct: Redis  # straight to Redis, past the proxy: how the test enqueues while the proxy misbehaves

    async def send(self, value: str) -> None:
        await self.direct.enqueue_job("note", value, _queue_name=self.worker.queue_name)  # type: ignore[attr-defined]

    async def ran(self, value: str, within: float = 30) -> None:
        async def done() -> bool:
            assert not self.task.done(), f"the worker's loop ended: {self.task.exception()!r}"
            return value in RAN

        await wait_for(done, within, f"job {value!r}", every=0.05)


@asynccontextmanager
async def running_worker(proxy: TcpProxy, env: Env, **options: Any) -> AsyncIterator[RunningWorker]:
    queue = f"arq:resilience-{uuid.uuid4().hex[:8]}"
    worker = ResilientWorker(
        functions=[func(note, name="note")],  # type: ignore[arg-type]
        redis_url=proxy.url(_db(env.redis_url)),
        queue_name=queue,
        poll_delay=0.05,
        handle_signals=False,
        **options,
    )
    direct = open_redis(env.redis_url, default_queue_name=queue)
    task = asyncio.create_task(worker.async_run())
    try:
        yield RunningWorker(worker, task, direct)
    finally:
        task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)  # bounded: fail, never hang
        await asyncio.wait_for(worker.close(), 10)
        await direct.aclose()


def _tag() -> str:
    return uuid.uuid4().hex


# -- the worker loop -------------------------------------------------------------------------------------


async def test_worker_outlives_a_connection_reset_between_watch_and_exec(proxy: TcpProxy, env: Env) -> None:
    """arq WATCHes a job's in-progress key before starting it; a reset then is a WatchError that ended
    arq's loop (the failure CI met when its Redis was killed)."""
    async with running_worker(proxy, env) as w:
        before, after = _tag(), _tag()
        await w.send(before)
        await w.ran(before)
        proxy.reset_when_sent(b"EXISTS")
        await w.send(after)
        await w.ran(after)
        assert not proxy._reset_markers[b"EXISTS"], "the reset did not happen"


async def test_worker_outlives_every_connection_reset(proxy: TcpProxy, env: Env) -> None:
    async with running_worker(proxy, env) as w:
        for _ in range(5):
            tag = _tag()
            await w.send(tag)
            proxy.reset()
            await w.ran(tag)


async def test_worker_outlives_refused_connections_logging_one_outage(proxy: TcpProxy, env: Env) -> None:
    outages, failures = (
        _metric("waybill_redis_outages_total", "worker"),
        _metric("waybill_redis_failures_total", "worker"),
    )
    async with running_worker(proxy, env) as w:
        first = _tag()
        await w.send(first)
        await w.ran(first)
        await proxy.refuse()
        await asyncio.sleep(3)
        assert not w.task.done(), repr(w.task.exception())
        assert _metric("waybill_redis_up", "worker") == 0
        # One outage however many polls failed in it: logged once (the same branch), counted once.
        assert _metric("waybill_redis_outages_total", "worker") == outages + 1
        assert _metric("waybill_redis_failures_total", "worker") >= failures + 3
        during = _tag()
        await w.send(during)  # queued straight in Redis while the worker cannot reach it
        await proxy.start()
        await w.ran(during)

        async def up_again() -> bool:
            return _metric("waybill_redis_up", "worker") == 1

        # The poll that started the job may still have met a connection the outage broke (one more failure,
        # the same outage); the next poll answers. Up within a few polls, and still one outage.
        await wait_for(up_again, 5, "waybill_redis_up back at 1", every=0.05)
        assert _metric("waybill_redis_outages_total", "worker") == outages + 1


async def test_worker_starts_while_redis_is_down(proxy: TcpProxy, env: Env) -> None:
    await proxy.refuse()
    async with running_worker(proxy, env) as w:
        await asyncio.sleep(1.5)
        assert not w.task.done(), repr(w.task.exception())
        tag = _tag()
        await w.send(tag)
        await proxy.start()
        await w.ran(tag)


async def test_worker_outlives_connections_silently_dead(proxy: TcpProxy, env: Env) -> None:
    """A partition healed behind the worker's back: its connections are open at our end and answer nothing.
    Without a command timeout the worker waited on them for ever."""
    async with running_worker(proxy, env) as w:
        first = _tag()
        await w.send(first)
        await w.ran(first)
        assert proxy.blackhole() >= 1
        after = _tag()
        await w.send(after)
        await w.ran(after, within=40)


async def test_worker_outlives_a_stalled_redis(proxy: TcpProxy, env: Env) -> None:
    async with running_worker(proxy, env) as w:
        proxy.stall()
        tag = _tag()
        await w.send(tag)
        await asyncio.sleep(7)  # past the command timeout: the polls fail meanwhile
        assert not w.task.done(), repr(w.task.exception())
        proxy.resume()
        await w.ran(tag)


async def test_worker_outlives_a_redis_loading_its_data(proxy: TcpProxy, env: Env) -> None:
    """A restarted Redis answers -LOADING until its data is read back (BusyLoadingError ended arq's loop)."""
    async with running_worker(proxy, env) as w:
        proxy.loading(True)
        proxy.reset()  # the worker reconnects into the loading server
        tag = _tag()
        await w.send(tag)
        await asyncio.sleep(2)
        assert not w.task.done(), repr(w.task.exception())
        assert tag not in RAN
        proxy.loading(False)
        await w.ran(tag)


async def test_worker_works_through_a_slow_redis(proxy: TcpProxy, env: Env) -> None:
    proxy.latency_s = 0.2
    async with running_worker(proxy, env) as w:
        tags = [_tag() for _ in range(3)]
        for tag in tags:
            await w.send(tag)
        for tag in tags:
            await w.ran(tag)


async def test_starting_a_job_that_redis_fails_gives_its_slot_back(proxy: TcpProxy, env: Env) -> None:
    """arq takes a slot (of max_jobs) before it WATCHes a job and gave it back only when the job started:
    with one slot, one failure there stopped the worker from ever starting a job again."""
    async with running_worker(proxy, env, max_jobs=1) as w:
        proxy.reset_when_sent(b"EXISTS", times=3)
        tags = [_tag() for _ in range(3)]
        for tag in tags:
            await w.send(tag)
        for tag in tags:
            await w.ran(tag)
        assert w.worker.job_counter == 0


async def test_closing_a_worker_during_an_outage_takes_seconds(proxy: TcpProxy, env: Env) -> None:
    async with running_worker(proxy, env) as w:
        tag = _tag()
        await w.send(tag)
        await w.ran(tag)
        await proxy.refuse()
        w.task.cancel()
        await asyncio.wait_for(asyncio.gather(w.task, return_exceptions=True), 10)
        started = time.monotonic()
        await asyncio.wait_for(w.worker.close(), 15)
        assert time.monotonic() - started < 6


@pytest.mark.parametrize("answer", ["connection_error", "nothing"])
async def test_a_cancel_redis_py_answers_with_its_own_error_still_stops_the_worker(
    proxy: TcpProxy, env: Env, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """A cancel that lands while redis-py's connect is failing comes out as its ConnectionError, the cancel
    consumed: the loop took it for Redis trouble and polled on, so stopping a worker during an outage could
    hang for good (a fresh-clone `make test` met it: 300 s, then the timeout). Reproduced here by a pool call
    that answers its cancel the same way."""
    async with running_worker(proxy, env) as w:
        tag = _tag()
        await w.send(tag)
        await w.ran(tag)
        polling = asyncio.Event()
        original = w.worker.pool.zrangebyscore
        consumed: list[bool] = []

        async def answers_cancel_with_connection_error(*args: Any, **kwargs: Any) -> Any:
            if consumed:  # once: without the fix the clean-up's cancel must still get through
                return await original(*args, **kwargs)
            polling.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                consumed.append(True)
                if answer == "nothing":  # the cancel swallowed whole: the call returns as if it had read
                    return []
                raise RedisConnectionError("Error 111 connecting to 127.0.0.1. Connect call failed.") from None

        monkeypatch.setattr(w.worker.pool, "zrangebyscore", answers_cancel_with_connection_error)
        await asyncio.wait_for(polling.wait(), 5)
        w.task.cancel()
        await asyncio.wait({w.task}, timeout=5)  # not wait_for: it would cancel again and hide the bug
        assert consumed
        assert w.task.done(), "the worker polled on after its cancel"
        assert w.task.cancelled()


# -- an API ------------------------------------------------------------------------------------------------


async def test_an_api_starts_serves_and_keeps_jobs_in_the_outbox_without_redis(env: Env, proxy: TcpProxy) -> None:
    """Allocation's API with its Redis refusing connections: it starts (it used to exit with "Application
    startup failed"), is live and ready (PostgreSQL answers; Redis shows in the details), serves shop
    requests (the rate limiter fails open, fast) and keeps the jobs it could not send in its outbox."""
    await proxy.refuse()
    port = free_port()
    environ = {**os.environ, **env.settings_env(), "REDIS_URL": proxy.url(_db(env.redis_url))}
    argv = [sys.executable, "-m", "runtime.serve", "services.allocation.main:app", "--port", str(port)]
    proc = await asyncio.create_subprocess_exec(*argv, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def up() -> bool:
                assert proc.returncode is None, "the API exited at start-up"
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(up, 30, "the API to start")
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["database"] == "ok"
            assert ready.json()["checks"]["redis"] != "ok"

            shop = (await http.post("/v1/shops", json={"name": "无Redis小铺"}, headers=bearer(ADMIN_KEY))).json()
            key = shop["api_key"]
            started = time.monotonic()
            for _ in range(20):  # through the rate limiter, which cannot reach Redis
                assert (await http.get("/v1/pools", headers=bearer(key))).status_code == 200
            assert time.monotonic() - started < 5, "each request waited for Redis"

            topup = await http.post(
                f"/v1/shops/{shop['id']}/topups", json={"amount_cents": 10_000_000}, headers=bearer(ADMIN_KEY)
            )
            assert topup.status_code == 201, topup.text
            purchase = await http.post(
                "/v1/purchases",
                json={"carrier": "ZTO", "package_id": "ZTO-1000"},
                headers={**bearer(key), "Idempotency-Key": _tag()},
            )
            assert purchase.status_code == 202, purchase.text
        # The purchase's job could not be sent: it waits in the outbox for the sweeper.
        engine = make_engine(env.database_url)
        try:
            from services.allocation.models import Outbox

            async with engine.connect() as conn:
                waiting = await conn.scalar(
                    select(sqlfunc.count())
                    .select_from(Outbox)
                    .where(Outbox.c.kwargs["purchase_id"].astext == purchase.json()["id"])
                )
        finally:
            await engine.dispose()
        assert waiting == 1
        assert proc.returncode is None
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


# -- the job queue, the rate limiters, the wake-up channel ---------------------------------------------------


async def test_job_queue_skips_a_down_redis_and_sends_again_once_it_answers(proxy: TcpProxy, env: Env) -> None:
    from services.allocation.models import Outbox

    redis = open_redis(proxy.url(_db(env.redis_url)))
    queue = JobQueue(redis, Outbox, f"arq:resilience-{_tag()[:8]}")
    try:
        await proxy.refuse()
        started = time.monotonic()
        sent = [
            await queue.send(PendingJob(uuid.uuid4(), queue.default_queue, "note", {"value": "x"})) for _ in range(50)
        ]
        assert not any(sent)
        assert time.monotonic() - started < 3, "each send waited for Redis"
        assert queue.health.down
        await proxy.start()
        await asyncio.sleep(1.1)  # one probe per second while down
        assert await queue.send(PendingJob(uuid.uuid4(), queue.default_queue, "note", {"value": "y"}))
        assert not queue.health.down
    finally:
        await redis.aclose()


async def test_rate_limiter_fails_open_fast_and_limits_again_after(proxy: TcpProxy, env: Env) -> None:
    redis = open_redis(proxy.url(_db(env.redis_url)))
    limiter = RateLimiter(redis, f"resilience-{_tag()[:8]}", RateLimit(rate_per_s=1, burst=2))
    outages = _metric("waybill_redis_outages_total", "ratelimit")
    try:
        proxy.stall()
        started = time.monotonic()
        for _ in range(30):
            await limiter.check("key-1")  # never a 429 while Redis cannot say
        assert time.monotonic() - started < 4, "requests waited for a hung Redis"
        proxy.resume()
        await proxy.refuse()
        for _ in range(30):
            await limiter.check("key-1")
        assert _metric("waybill_redis_outages_total", "ratelimit") == outages + 1
        await proxy.start()
        await asyncio.sleep(1.1)
        await limiter.check("key-1")
        await limiter.check("key-1")
        from runtime.ratelimit import RateLimited

        with pytest.raises(RateLimited):
            await limiter.check("key-1")
    finally:
        await redis.aclose()


async def test_provider_rate_limiter_gives_no_slot_while_redis_is_down(proxy: TcpProxy, env: Env) -> None:
    redis = open_redis(proxy.url(_db(env.redis_url)))
    limiter = ProviderRateLimiter(redis, f"resilience:{_tag()}", rate_per_s=100)
    try:
        assert await limiter.acquire(max_wait=1)
        await proxy.refuse()
        assert not await limiter.acquire(max_wait=1)
        await proxy.start()
        assert await limiter.acquire(max_wait=1)
    finally:
        await redis.aclose()


@pytest.mark.parametrize("trouble", ["reset", "refused", "silently dead"])
async def test_wake_listener_subscribes_again_after_redis_trouble(proxy: TcpProxy, env: Env, trouble: str) -> None:
    channel = f"resilience-wake-{_tag()}"
    listener_redis = open_redis(proxy.url(_db(env.redis_url)))
    direct = open_redis(env.redis_url)
    event = asyncio.Event()
    task = asyncio.create_task(wake.listen(listener_redis, event, channel))

    async def hinted() -> bool:
        assert not task.done(), repr(task.exception())
        if event.is_set():
            return True
        await direct.publish(channel, b"1")
        await asyncio.sleep(0.2)
        return event.is_set()

    try:
        await wait_for(hinted, 10, "the first hint")
        event.clear()
        if trouble == "reset":
            proxy.reset()
        elif trouble == "refused":
            await proxy.refuse()
            await asyncio.sleep(2)
            await proxy.start()
        else:
            assert proxy.blackhole() >= 1
        await wait_for(hinted, 30, f"a hint after the {trouble} connection")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await listener_redis.aclose()
        await direct.aclose()


def test_the_proxy_counts_pipelined_commands() -> None:
    from tests.tcp_proxy import count_commands

    one = b"*1\r\n$4\r\nPING\r\n"
    two = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n"
    assert count_commands(one) == 1
    assert count_commands(one + two + one) == 3
