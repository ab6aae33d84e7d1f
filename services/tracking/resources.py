"""What tracking's processes share (its API and its worker build the same object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
from fastapi import Depends

from runtime.apis.allocation import HttpAllocationApi
from runtime.apis.shipping import HttpShippingApi, ShippingApi
from runtime.app import resources_dependency
from runtime.db import transaction
from runtime.ratelimit import Pacer
from runtime.resources import Resources
from runtime.settings import to_asyncpg_dsn
from services.tracking.clock import Clock, StoredClock
from services.tracking.kuaidi100.client import Kuaidi100Client
from services.tracking.repository.webhook import WebhookStatements
from services.tracking.service.clock import get_clock
from services.tracking.settings import TrackingSettings
from services.tracking.wake import Waker, WorkerLoops

QUERY_LIMIT_KEY = "tracking:ratelimit:kuaidi100:query"


@dataclass(kw_only=True)
class TrackingResources(Resources):
    settings: TrackingSettings
    # The push webhook runs on raw asyncpg: verify and store in one statement, one round trip.
    pg: asyncpg.Pool
    webhook: WebhookStatements
    waker: Waker
    # The service's clock: real time, or the one an operator set (the sandbox's accelerated days).
    clock: Clock
    provider: Kuaidi100Client
    # The provider's query rate, shared by every worker through Redis.
    query_limiter: Pacer
    shipping: ShippingApi
    allocation: HttpAllocationApi
    # The worker's loops and their wake-up events (services.tracking.jobs.loops starts them).
    loops: WorkerLoops = field(default_factory=WorkerLoops)

    async def aclose(self) -> None:
        await self.waker.close()
        await self.pg.close()
        await super().aclose()


def stored_clock(sessionmaker: Any) -> StoredClock:
    async def load() -> Any:
        async with transaction(sessionmaker, None) as uow:
            return await get_clock(uow)

    return StoredClock(load)


async def open_resources(core: Resources) -> TrackingResources:
    s = core.settings
    assert isinstance(s, TrackingSettings)
    pool = await asyncpg.create_pool(
        to_asyncpg_dsn(s.database_url), min_size=2, max_size=s.webhook_pool_size, command_timeout=15
    )
    return TrackingResources.extend(
        core,
        pg=pool,
        webhook=WebhookStatements(pool, s.webhook_batch_max, s.webhook_batch_inflight),
        waker=Waker(core.redis, s.ingest_wake_interval_s),
        clock=stored_clock(core.sessionmaker),
        provider=Kuaidi100Client(
            core.http, s.provider_url, s.provider_key.get_secret_value(), s.provider_customer, s.provider_timeout_s
        ),
        query_limiter=Pacer(core.redis, QUERY_LIMIT_KEY, s.provider_query_rate_per_s),
        shipping=HttpShippingApi(core.internal_client("shipping", s.shipping_url, s.service_timeout_s)),
        allocation=HttpAllocationApi(core.internal_client("allocation", s.allocation_url, s.service_timeout_s)),
    )


TrackingResourcesDep = Annotated[TrackingResources, Depends(resources_dependency(TrackingResources))]


async def service_clock(res: TrackingResourcesDep) -> Clock:
    return res.clock


ClockDep = Annotated[Clock, Depends(service_clock)]
