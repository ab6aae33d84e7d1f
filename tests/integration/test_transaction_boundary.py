"""The request boundary commits before the response: a failed commit is never answered 2xx."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from runtime.app import UowDep, create_service_app
from runtime.auth import CachedResolver
from services.allocation.models import Outbox, Shop
from services.allocation.repository.shops import DbKeyResolver
from services.allocation.settings import AllocationSettings
from tests.support import Env, app_client


async def test_a_commit_that_fails_is_not_answered_2xx(env: Env) -> None:
    router = APIRouter()
    shop_id = "s-dup-" + uuid.uuid4().hex[:8]

    @router.post("/twice")
    async def twice(uow: UowDep) -> dict[str, str]:
        # Two rows with one primary key, never flushed: the error surfaces only at commit.
        uow.session.add(Shop(id=shop_id, name="a"))
        uow.enqueue("never_sent", shop_id=shop_id)
        return {"status": "created"}

    @router.post("/once")
    async def once(uow: UowDep) -> dict[str, str]:
        uow.session.add(Shop(id=shop_id, name="a"))
        return {"status": "created"}

    app = create_service_app(
        service="boundary-test",
        settings=AllocationSettings(),
        outbox=Outbox,
        routers=[router],
        resolver=lambda rt: CachedResolver(DbKeyResolver(rt.engine)),
        title="t",
        description="t",
    )
    async with app_client(app, raise_app_exceptions=False) as client:
        assert (await client.post("/once")).status_code == 200
        failed = await client.post("/twice")
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"


async def test_jobs_of_a_failed_commit_are_not_sent(env: Env) -> None:
    router = APIRouter()
    shop_id = "s-dup-" + uuid.uuid4().hex[:8]
    sent: list[object] = []

    @router.post("/dup")
    async def dup(uow: UowDep) -> dict[str, str]:
        uow.session.add(Shop(id=shop_id, name="a"))
        uow.enqueue("never_sent", shop_id=shop_id)
        return {"status": "created"}

    app = create_service_app(
        service="boundary-test",
        settings=AllocationSettings(),
        outbox=Outbox,
        routers=[router],
        resolver=lambda rt: CachedResolver(DbKeyResolver(rt.engine)),
        title="t",
        description="t",
    )
    async with app_client(app, raise_app_exceptions=False) as client:
        rt = app.state.resources

        async def record(jobs: object) -> None:
            sent.append(jobs)

        rt.queue.send_many = record
        assert (await client.post("/dup")).status_code == 200
        assert len(sent) == 1
        failed = await client.post("/dup")
    assert failed.status_code == 500
    assert len(sent) == 1
