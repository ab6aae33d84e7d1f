"""Engine, sessions and the one transaction boundary (the unit of work)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from runtime.jobs import JobBuffer, JobQueue
from runtime.settings import to_sqlalchemy_url

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Each service keeps its tables in its own PostgreSQL schema, so services can share one
    database (as `make run` does) without ever touching each other's tables."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_engine(database_url: str, *, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    return create_async_engine(
        to_sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Statement parameters carry sessions, webhook secrets and key hashes: keep them out of the
        # exception messages that end up in logs.
        hide_parameters=True,
        **kwargs,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: responses are built from objects after the commit.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


class UnitOfWork:
    """One transaction. Services ``flush()``; only the boundary (the request dependency or the job
    runner) calls :meth:`commit`. Jobs are written to the outbox inside the transaction and sent to
    the queue only after it commits, so a job never runs before its data exists and is never lost
    when Redis is unavailable at that moment (the outbox sweeper sends it later)."""

    def __init__(self, session: AsyncSession, queue: JobQueue | None) -> None:
        self.session = session
        self.jobs = JobBuffer(session, queue.outbox if queue else None, queue.default_queue if queue else "arq:queue")
        self._queue = queue

    def enqueue(self, function: str, /, *, queue: str | None = None, **kwargs: Any) -> None:
        """Run ``function`` in a worker once this transaction has committed (``queue``: another
        service's queue, for jobs that service runs)."""
        self.jobs.add(function, kwargs, queue=queue)

    async def commit(self) -> None:
        await self.jobs.write_outbox()
        await self.session.commit()
        pending = self.jobs.drain()
        if self._queue is not None and pending:
            await self._queue.send_many(pending)

    async def rollback(self) -> None:
        self.jobs.drain()
        await self.session.rollback()


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], queue: JobQueue | None
) -> AsyncIterator[UnitOfWork]:
    """Commit on success, roll back on any error: the one transaction boundary."""
    async with sessionmaker() as session:
        uow = UnitOfWork(session, queue)
        try:
            yield uow
        except BaseException:
            await uow.rollback()
            raise
        else:
            await uow.commit()


async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], queue: JobQueue | None
) -> AsyncIterator[UnitOfWork]:
    """The same boundary as a generator, for FastAPI dependencies."""
    async with transaction(sessionmaker, queue) as uow:
        yield uow
