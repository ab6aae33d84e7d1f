"""Background jobs: a transactional outbox in front of arq.

A job is first a row in the service's ``outbox`` table, written in the same transaction as the
data it needs. After the commit it is sent to arq with the row id as the arq job id (arq refuses a
second job with the same id, so resending is harmless). The job's wrapper deletes the row once it
has run. A cron sweeper resends rows that are still there, which covers Redis being down or
flushed between the commit and the run, and a run that failed (arq keeps a failed job's result,
which would otherwise refuse the resend for an hour).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from runtime.logging import get_logger
from runtime.redis_health import REDIS_ERRORS, RedisHealth

log = get_logger(__name__)

RESEND_AFTER = timedelta(seconds=20)
# Each further resend of one row waits twice as long, up to 2**6 x RESEND_AFTER (about 21 minutes), so a
# job that fails every time is not hammered every 20 s.
RESEND_BACKOFF_MAX_DOUBLINGS = 6


def queue_name(service: str) -> str:
    return f"arq:{service}"


def job_serializer(obj: dict[str, Any]) -> bytes:
    # JSON rather than pickle: payloads are ids and plain data, readable by any tool. A job's stored
    # result may be an exception (arq keeps failures too): it is kept as its repr.
    return orjson.dumps(obj, default=_jsonable)


def _jsonable(value: Any) -> str:
    return repr(value)


def job_deserializer(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(data)
    return result


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("queue", Text, nullable=False),
        Column("function", Text, nullable=False),
        Column("kwargs", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Column("sends", Integer, nullable=False, server_default="0"),
    )


@dataclass(frozen=True)
class PendingJob:
    id: uuid.UUID
    queue: str
    function: str
    kwargs: dict[str, Any]


@dataclass
class JobQueue:
    """Sends committed outbox rows to arq."""

    redis: ArqRedis
    outbox: Table
    default_queue: str
    health: RedisHealth = field(default_factory=lambda: RedisHealth("enqueue"))

    async def send(self, job: PendingJob) -> bool:
        if not self.health.should_try():
            return False  # Redis is down: the row waits for the sweeper, the caller does not wait for Redis
        try:
            if await self._enqueue(job) is None:
                await self._requeue_failed_run(job)
        except REDIS_ERRORS as exc:  # Redis down: the outbox row stays and the sweeper resends it.
            self.health.failed(exc)
            log.debug("job_enqueue_failed", function=job.function, job_id=str(job.id), error=repr(exc))
            return False
        self.health.ok()
        return True

    async def _enqueue(self, job: PendingJob) -> object | None:
        return await self.redis.enqueue_job(job.function, _job_id=str(job.id), _queue_name=job.queue, **job.kwargs)

    async def _requeue_failed_run(self, job: PendingJob) -> None:
        """arq refused the id. If the job is queued or running (its job key exists) that is right: it will
        run. Otherwise a kept result refused it, and that run did not succeed: a successful run deletes the
        row before arq drops the job key, so a row the sweeper holds with no job key left means the run
        failed or its job data was lost ("job expired" after a Redis flush). Drop that result and send the
        job again."""
        job_id = str(job.id)
        if await self.redis.exists(job_key_prefix + job_id):
            return
        await self.redis.delete(result_key_prefix + job_id)
        if await self._enqueue(job) is not None:
            log.warning("job_resent_after_failed_run", function=job.function, job_id=job_id)

    async def send_many(self, jobs: Sequence[PendingJob]) -> None:
        for job in jobs:
            await self.send(job)


@dataclass
class JobBuffer:
    session: AsyncSession
    outbox: Table | None
    default_queue: str
    _pending: list[PendingJob] = field(default_factory=list)

    def add(self, function: str, kwargs: dict[str, Any], *, queue: str | None = None) -> PendingJob:
        job = PendingJob(uuid.uuid4(), queue or self.default_queue, function, kwargs)
        self._pending.append(job)
        return job

    async def write_outbox(self) -> None:
        if not self._pending:
            return
        if self.outbox is None:
            raise RuntimeError("this unit of work has no outbox table; it cannot enqueue jobs")
        await self.session.execute(
            insert(self.outbox),
            [{"id": j.id, "queue": j.queue, "function": j.function, "kwargs": j.kwargs} for j in self._pending],
        )

    def drain(self) -> list[PendingJob]:
        pending, self._pending = self._pending, []
        return pending


async def delete_outbox_row(engine: AsyncEngine, outbox: Table, job_id: str) -> None:
    try:
        row_id = uuid.UUID(job_id)
    except ValueError:
        return  # not an outbox job (cron jobs have their own ids)
    async with engine.begin() as conn:
        await conn.execute(delete(outbox).where(outbox.c.id == row_id))


@dataclass(frozen=True)
class OutboxBacklog:
    rows: int
    oldest_s: float


async def outbox_backlog(engine: AsyncEngine, outbox: Table) -> OutboxBacklog:
    """How many jobs are committed and not yet done, and how long the oldest has waited."""
    async with engine.connect() as conn:
        count, oldest = (
            await conn.execute(select(func.count(), func.min(outbox.c.created_at)).select_from(outbox))
        ).one()
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxBacklog(int(count), max(age, 0.0))


async def resend_outbox(engine: AsyncEngine, queue: JobQueue, limit: int = 1000) -> int:
    """Resend outbox rows that should have run by now. Returns how many were sent."""
    now = datetime.now(UTC)
    t = queue.outbox.c
    wait_s = RESEND_AFTER.total_seconds() * func.power(2, func.least(t.sends, RESEND_BACKOFF_MAX_DOUBLINGS))
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                select(queue.outbox)
                .where(t.created_at < now - RESEND_AFTER)
                .where(t.sent_at.is_(None) | (t.sent_at + func.make_interval(0, 0, 0, 0, 0, 0, wait_s) < now))
                .order_by(queue.outbox.c.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        sent = []
        for row in rows:
            if await queue.send(PendingJob(row.id, row.queue, row.function, dict(row.kwargs))):
                sent.append(row.id)
        if sent:
            await conn.execute(
                update(queue.outbox)
                .where(queue.outbox.c.id.in_(sent))
                .values(sent_at=now, sends=queue.outbox.c.sends + 1)
            )
    if sent:
        log.info("outbox_resent", count=len(sent))
    return len(sent)


JobFunction = Callable[..., Awaitable[Any]]
