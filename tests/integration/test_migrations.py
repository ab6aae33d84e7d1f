"""Every service's models match its migrations (no drift), on a freshly migrated database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.support import Env, base_database_url, drop_database, migrate, recreate_database


@pytest.fixture(scope="module")
def fresh_url(env: Env) -> Iterator[str]:
    import os

    name = f"waybill_drift_{os.getpid()}"
    url = asyncio.run(recreate_database(base_database_url(), name))
    migrate(url)
    yield url
    asyncio.run(drop_database(base_database_url(), name))


@pytest.mark.parametrize("service", ["allocation", "shipping", "tracking"])
def test_models_match_migrations(fresh_url: str, service: str) -> None:
    import importlib

    models = importlib.import_module(f"services.{service}.models")
    schema = models.SCHEMA

    async def diff() -> list[object]:
        from sqlalchemy.ext.asyncio import create_async_engine

        from runtime.migrations import compare_options
        from runtime.settings import to_sqlalchemy_url

        aengine = create_async_engine(to_sqlalchemy_url(fresh_url))
        try:
            async with aengine.connect() as conn:

                def compare(sync_conn: object) -> list[object]:
                    ctx = MigrationContext.configure(
                        sync_conn,  # type: ignore[arg-type]
                        opts=compare_options(schema),
                    )
                    return list(compare_metadata(ctx, models.Base.metadata))

                return await conn.run_sync(compare)
        finally:
            await aengine.dispose()

    assert asyncio.run(diff()) == []
