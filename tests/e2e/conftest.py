"""The end-to-end harness as a session fixture: real processes, started once, stopped at the end."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.harness import Harness
from tests.support import (
    Env,
    base_database_url,
    drop_database,
    empty_redis_db,
    migrate,
    recreate_database,
)


@contextmanager
def _system(env: Env, tag: str) -> Iterator[Harness]:
    # A database and a Redis database of their own: the processes' workers and cron sweepers must not
    # pick up jobs or batches that in-process tests leave in the shared test database, nor the reverse.
    name = f"waybill_e2e_{tag}{os.getpid()}"
    url = asyncio.run(recreate_database(base_database_url(), name))
    migrate(url)
    log_dir = Path(tempfile.mkdtemp(prefix="waybill-e2e-"))
    # env's REDIS_URL is this process's claimed database; the system gets another one, claimed too.
    with empty_redis_db(env.redis_url) as redis_url:
        h = Harness(url, redis_url, log_dir)
        try:
            h.start()
            yield h
        finally:
            h.stop()
            asyncio.run(drop_database(base_database_url(), name))


# Package scope: the system stops after the last e2e test, before the connection races that share this
# xdist worker (tests/conftest.py) need PostgreSQL's connections.
@pytest.fixture(scope="package")
def harness(env: Env) -> Iterator[Harness]:
    with _system(env, "") as h:
        yield h


@pytest.fixture
def own_harness(env: Env) -> Iterator[Harness]:
    """A system of the test's own, for tests that run the sandbox's clock fast. Simulated time never goes
    back, so after them the sandbox's world stays hours or days ahead of our services' clocks: a parcel
    shipped next in a shared system was "not collected" for days at once (found by make test-repeat,
    where the demo test ran before the tracking one: 965 of 1,000 normal parcels alerted)."""
    with _system(env, "own_") as h:
        yield h
