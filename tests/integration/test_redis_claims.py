"""Concurrent test runs, e2e systems and benches on one Redis each get a database of their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from redis import Redis

from tests.support import REDIS_DB_CLAIM, Env, claim_redis_db, release_redis_db, with_redis_db


def _index(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


@pytest.fixture
def claims(env: Env) -> Iterator[Redis]:
    with Redis.from_url(with_redis_db(env.redis_url, 0)) as r:
        yield r


@pytest.fixture
def spare(env: Env) -> int:
    """A database number this test claimed and gave back, to play with."""
    url = claim_redis_db(env.redis_url)
    release_redis_db(url)
    return _index(url)


def test_claims_in_one_process_get_different_databases_and_release_frees_them(env: Env, claims: Redis) -> None:
    first = claim_redis_db(env.redis_url)
    second = claim_redis_db(env.redis_url)
    try:
        assert _index(first) != _index(second)
        assert _index(env.redis_url) not in (_index(first), _index(second))  # the session's own claim holds
        assert claims.get(REDIS_DB_CLAIM.format(_index(first))) == f"{socket.gethostname()}:{os.getpid()}".encode()
    finally:
        release_redis_db(second)
        release_redis_db(first)
    assert claims.get(REDIS_DB_CLAIM.format(_index(first))) is None


def test_a_claim_of_a_dead_process_is_taken_over(env: Env, claims: Redis, spare: int) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claims.set(REDIS_DB_CLAIM.format(spare), f"{socket.gethostname()}:{dead.pid}")
    url = claim_redis_db(env.redis_url, first=spare, last=spare)
    try:
        assert _index(url) == spare
    finally:
        release_redis_db(url)


def test_a_live_claim_is_never_taken_and_a_full_range_fails_loudly(env: Env, claims: Redis, spare: int) -> None:
    key = REDIS_DB_CLAIM.format(spare)
    claims.set(key, f"{socket.gethostname()}:1")  # pid 1 is alive
    try:
        with pytest.raises(RuntimeError, match="is claimed by a running test process"):
            claim_redis_db(env.redis_url, first=spare, last=spare)
        release_redis_db(with_redis_db(env.redis_url, spare))  # not ours: left as it is
        assert claims.get(key) == f"{socket.gethostname()}:1".encode()
    finally:
        claims.delete(key)
