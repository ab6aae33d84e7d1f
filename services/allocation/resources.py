"""What allocation's processes share (its API and its worker build the same object)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends

from runtime.apis.shipping import HttpShippingApi, ShippingApi
from runtime.app import resources_dependency
from runtime.resources import Resources
from runtime.settings import to_asyncpg_dsn
from services.allocation.coalescer import Coalescer
from services.allocation.courier.client import CourierClient
from services.allocation.repository.shops import DbKeyResolver
from services.allocation.repository.statements import AllocationStatements, skip_reset
from services.allocation.settings import AllocationSettings


@dataclass(kw_only=True)
class AllocationResources(Resources):
    settings: AllocationSettings
    # The hot path runs on raw asyncpg: one round trip per allocation, no ORM (see repository).
    pg: asyncpg.Pool
    statements: AllocationStatements
    # Concurrent single allocations of one pool in one statement (None: ALLOCATION_COALESCE=false).
    coalescer: Coalescer | None
    keys: DbKeyResolver
    courier: CourierClient
    # Where purchase events go to reach the shops' webhooks (shipping owns the endpoints).
    shipping: ShippingApi

    async def aclose(self) -> None:
        if self.coalescer is not None:
            await self.coalescer.aclose()
        await self.pg.close()
        await super().aclose()


async def open_resources(core: Resources) -> AllocationResources:
    settings = core.settings
    assert isinstance(settings, AllocationSettings)
    pool = await asyncpg.create_pool(
        to_asyncpg_dsn(settings.database_url),
        min_size=2,
        max_size=settings.allocation_pool_size,
        command_timeout=30,
        reset=skip_reset,
    )
    courier = CourierClient(
        core.http,
        settings.courier_url,
        settings.courier_app_key,
        settings.courier_secret.get_secret_value(),
        settings.courier_timeout_s,
    )
    statements = AllocationStatements(pool)
    coalescer = (
        Coalescer(
            statements,
            max_batch=settings.coalesce_max_batch,
            in_flight=settings.coalesce_in_flight,
            stall_s=settings.coalesce_stall_ms / 1000,
        )
        if settings.coalesce
        else None
    )
    return AllocationResources.extend(
        core,
        pg=pool,
        statements=statements,
        coalescer=coalescer,
        keys=DbKeyResolver(core.engine),
        courier=courier,
        shipping=HttpShippingApi(core.internal_client("shipping", settings.shipping_url, settings.service_timeout_s)),
    )


AllocationResourcesDep = Annotated[AllocationResources, Depends(resources_dependency(AllocationResources))]
