"""What a service's process shares, built once: by the API's lifespan and by the worker's startup alike.

The core (``Resources``: settings, engine, sessionmaker, Redis, the job queue, an HTTP client) is the same
for every service; each service's own subclass adds what it needs (typed clients of the other services,
its outside providers, its statement pools) in one factory, so its app and its worker get the same typed
object and nothing is looked up by string.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, fields
from typing import Any, Self, TypeVar

import httpx
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from runtime.db import UnitOfWork, make_engine, make_sessionmaker, transaction
from runtime.http import make_http_client
from runtime.jobs import JobQueue, queue_name
from runtime.service_client import ServiceClient
from runtime.settings import ServiceSettings


@dataclass(kw_only=True)
class Resources:
    service: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Any
    queue: JobQueue
    http: httpx.AsyncClient

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """One unit of work: committed when the block ends without an error (jobs it enqueued are sent
        after the commit), rolled back otherwise."""
        return transaction(self.sessionmaker, self.queue)

    def internal_client(
        self, service: str, base_url: str, timeout_s: float, *, http: httpx.AsyncClient | None = None
    ) -> ServiceClient:
        """A client of another of our services, with this process's internal key."""
        key = self.settings.internal_key.get_secret_value()
        return ServiceClient(service, http or self.http, base_url, key, timeout_s=timeout_s)

    @classmethod
    def extend(cls, core: Resources, **extra: Any) -> Self:
        """This service's resources over the core ones."""
        return cls(**{f.name: getattr(core, f.name) for f in fields(Resources)}, **extra)

    async def aclose(self) -> None:
        """Close what this object opened (a subclass closes its own first, then calls this). Redis is not
        closed here: the API's lifespan and arq's worker each own theirs."""
        await self.http.aclose()
        await self.engine.dispose()


R = TypeVar("R", bound=Resources)
ResourcesFactory = Callable[[Resources], Awaitable[Resources]]


def open_core(service: str, settings: ServiceSettings, outbox: Table, redis: Any) -> Resources:
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    return Resources(
        service=service,
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        redis=redis,
        queue=JobQueue(redis, outbox, queue_name(service)),
        http=make_http_client(settings),
    )


async def core_only(core: Resources) -> Resources:
    return core
