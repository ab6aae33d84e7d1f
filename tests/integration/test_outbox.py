"""Jobs are sent only after their transaction commits, and survive Redis losing them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from runtime import jobs
from runtime.db import make_engine, make_sessionmaker, unit_of_work
from runtime.jobs import JobQueue, queue_name, resend_outbox
from runtime.redis_clients import open_redis
from runtime.worker import build_worker_settings
from services.allocation.models import Outbox
from services.allocation.settings import get_settings
from tests.support import Env, run_jobs

RAN: list[str] = []


async def record_job(ctx: dict[str, Any], tag: str) -> str:
    RAN.append(tag)
    return tag


@pytest.fixture
async def plumbing(env: Env, redis: Redis) -> Any:
    engine = make_engine(env.database_url, pool_size=2)
    arq = open_redis(get_settings().redis_url)
    # A queue of its own so these jobs never meet the allocation worker's.
    queue = JobQueue(arq, Outbox, queue_name(f"outbox-test-{uuid.uuid4().hex[:6]}"))
    yield engine, make_sessionmaker(engine), queue, arq
    await arq.aclose()
    await engine.dispose()


def _worker(queue: JobQueue) -> type:
    settings = build_worker_settings("outbox-test", get_settings, Outbox, functions=[record_job], max_tries=2)
    settings.queue_name = queue.default_queue  # type: ignore[attr-defined]
    return settings


async def _outbox_count(engine: Any, tag: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(select(func.count()).select_from(Outbox).where(Outbox.c.kwargs["tag"].astext == tag))
        )


async def test_job_is_sent_after_commit_and_its_row_removed_once_run(plumbing: Any) -> None:
    engine, sessionmaker, queue, arq = plumbing
    tag = uuid.uuid4().hex
    async for uow in unit_of_work(sessionmaker, queue):
        uow.enqueue("record_job", tag=tag)
        # Nothing is queued while the transaction is open.
        assert await arq.zcard(queue.default_queue) == 0
    assert await arq.zcard(queue.default_queue) == 1
    assert await _outbox_count(engine, tag) == 1

    await run_jobs(_worker(queue))
    assert tag in RAN
    assert await _outbox_count(engine, tag) == 0


async def test_rolled_back_transaction_sends_nothing(plumbing: Any) -> None:
    engine, sessionmaker, queue, arq = plumbing
    tag = uuid.uuid4().hex

    async def failing_request() -> None:
        async for uow in unit_of_work(sessionmaker, queue):
            uow.enqueue("record_job", tag=tag)
            raise RuntimeError("business rule failed")

    with pytest.raises(RuntimeError):
        await failing_request()
    assert await arq.zcard(queue.default_queue) == 0
    assert await _outbox_count(engine, tag) == 0


async def test_sweeper_resends_a_job_redis_lost(plumbing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, sessionmaker, queue, arq = plumbing
    tag = uuid.uuid4().hex
    async for uow in unit_of_work(sessionmaker, queue):
        uow.enqueue("record_job", tag=tag)
    # Redis loses everything between the commit and the worker.
    await arq.flushdb()
    assert await arq.zcard(queue.default_queue) == 0

    monkeypatch.setattr(jobs, "RESEND_AFTER", timedelta(0))
    assert await resend_outbox(engine, queue) >= 1
    await run_jobs(_worker(queue))
    assert tag in RAN
    assert await _outbox_count(engine, tag) == 0


FAILS_LEFT: dict[str, int] = {}


async def flaky_job(ctx: dict[str, Any], tag: str) -> str:
    if FAILS_LEFT.get(tag, 0) > 0:
        FAILS_LEFT[tag] -= 1
        raise RuntimeError("transient failure")  # not arq's Retry: arq stores a failed result and stops
    RAN.append(tag)
    return tag


async def test_sweeper_resends_a_job_whose_run_failed(plumbing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """arq keeps a failed run's result for an hour and refuses to enqueue that id again meanwhile; the
    outbox row is still there, so the sweeper must get the job run again anyway."""
    engine, sessionmaker, queue, arq = plumbing
    tag = uuid.uuid4().hex
    FAILS_LEFT[tag] = 1
    async for uow in unit_of_work(sessionmaker, queue):
        uow.enqueue("flaky_job", tag=tag)
    settings = build_worker_settings("outbox-test", get_settings, Outbox, functions=[flaky_job], max_tries=3)
    settings.queue_name = queue.default_queue  # type: ignore[attr-defined]

    await run_jobs(settings)
    assert tag not in RAN
    assert await _outbox_count(engine, tag) == 1

    monkeypatch.setattr(jobs, "RESEND_AFTER", timedelta(0))
    assert await resend_outbox(engine, queue) >= 1
    assert await arq.zcard(queue.default_queue) == 1
    await run_jobs(settings)
    assert tag in RAN
    assert await _outbox_count(engine, tag) == 0


async def test_resends_of_one_row_back_off(plumbing: Any) -> None:
    """A row already resent three times waits 8 x RESEND_AFTER before the next resend."""
    engine, sessionmaker, queue, arq = plumbing
    tag = uuid.uuid4().hex
    async for uow in unit_of_work(sessionmaker, queue):
        uow.enqueue("record_job", tag=tag)
    await arq.flushdb()
    row = Outbox.c.kwargs["tag"].astext == tag
    async with engine.begin() as conn:
        await conn.execute(
            Outbox.update()
            .where(row)
            .values(created_at=func.now() - timedelta(hours=1), sends=3, sent_at=func.now() - jobs.RESEND_AFTER * 7)
        )
    await resend_outbox(engine, queue)  # other tests' rows may be resent too: count this queue only
    assert await arq.zcard(queue.default_queue) == 0
    async with engine.begin() as conn:
        await conn.execute(Outbox.update().where(row).values(sent_at=func.now() - jobs.RESEND_AFTER * 9))
    await resend_outbox(engine, queue)
    assert await arq.zcard(queue.default_queue) == 1


async def test_the_sweeper_shows_the_backlog_and_its_oldest_job(plumbing: Any) -> None:
    """waybill_outbox_rows and waybill_outbox_oldest_seconds: what the outbox-age alert reads."""
    from prometheus_client import REGISTRY

    from runtime.resources import Resources
    from runtime.worker import sweep_outbox

    engine, sessionmaker, queue, arq = plumbing
    tag = uuid.uuid4().hex
    async for uow in unit_of_work(sessionmaker, queue):
        uow.enqueue("record_job", tag=tag)
    async with engine.begin() as conn:
        await conn.execute(
            Outbox.update()
            .where(Outbox.c.kwargs["tag"].astext == tag)
            .values(created_at=func.now() - timedelta(hours=2))
        )
    backlog = await jobs.outbox_backlog(engine, Outbox)
    assert backlog.rows >= 1
    assert backlog.oldest_s >= 7200  # other tests' rows may be older still, never younger
    settings = get_settings()
    res = Resources(
        service="outbox-test",
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        redis=arq,
        queue=queue,
        http=None,  # type: ignore[arg-type]  # the sweeper makes no HTTP call
    )
    await sweep_outbox({"resources": res})
    labels = {"service": "outbox-test"}
    assert (REGISTRY.get_sample_value("waybill_outbox_rows", labels) or 0) >= 1
    assert (REGISTRY.get_sample_value("waybill_outbox_oldest_seconds", labels) or 0) >= 7200
