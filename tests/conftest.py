"""Fixtures shared by every test level.

Isolation: each pytest-xdist worker gets its own database, created fresh and migrated at the start
of the session, and its own Redis database number; tests isolate their rows by creating their own
shops. Tests that need a database of their own clone a migrated template.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from tests.support import (
    Env,
    base_database_url,
    base_redis_url,
    claim_redis_db,
    drop_database,
    drop_stale_test_databases,
    migrate,
    recreate_database,
    release_redis_db,
    restore_env,
    set_in_process_env,
)


@pytest.fixture(scope="session")
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    base = base_database_url()
    # Named after this process, so concurrent test runs on one server never share a database.
    dbname = f"waybill_test_{os.getpid()}"
    asyncio.run(drop_stale_test_databases(base))
    url = asyncio.run(recreate_database(base, dbname))
    migrate(url)
    redis_url = claim_redis_db(base_redis_url())
    test_env = Env(database_url=url, redis_url=redis_url)
    saved = set_in_process_env(test_env.settings_env())
    # Settings are cached per process; they must be read after the environment points here.
    from services.allocation.settings import get_settings as allocation_settings
    from services.shipping.settings import get_settings as shipping_settings
    from services.tracking.settings import get_settings as tracking_settings

    for cached in (allocation_settings, shipping_settings, tracking_settings):
        cached.cache_clear()
    yield test_env
    restore_env(saved)
    asyncio.run(drop_database(base, dbname))
    release_redis_db(redis_url)


@pytest.fixture(scope="session")
async def redis(env: Env) -> AsyncIterator[Redis]:
    client = Redis.from_url(env.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


# Seconds a test (with its fixtures: a suite's first test starts the whole system) may take before it fails
# with a stack dump, for the suites that run real processes; pyproject.toml's `timeout` for the rest.
SLOW_SUITE_TIMEOUT_S = 900


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that start real processes or race many connections run on one xdist worker, one after
    another: one set of e2e processes instead of one per worker, and PostgreSQL's 100 connections
    are never shared between a 64-client race and a running system."""
    for item in items:
        path = str(item.path)
        if item.get_closest_marker("e2e") or "allocation_race" in path or "/e2e/" in path:
            item.add_marker(pytest.mark.xdist_group("processes"))
        slow = item.get_closest_marker("e2e") or item.get_closest_marker("faults") or "/e2e/" in path
        if slow and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_SUITE_TIMEOUT_S))
    # Tests with a system of their own (own_harness) first: they then run before the shared e2e system of
    # their worker has started, so two systems never hold PostgreSQL's connections at once (seen in CI: the
    # tracking test's system could not connect for 10 s while the shared one kept its pools full).
    items.sort(key=lambda item: 0 if "own_harness" in getattr(item, "fixturenames", ()) else 1)
