"""Redis clients that ride out Redis trouble.

Every Redis client of ours (the APIs' arq pools, the workers, the rate limiters, the pub/sub
channels) is opened here. It connects on first use, never at construction, so a process starts while
Redis is down; every command has a deadline, so a Redis that hangs (or a network that drops packets)
becomes an error instead of a stuck process; a connection that breaks is retried twice at once (a Redis
restart leaves every pooled connection dead), and past that the error goes to the caller, whose own
loop decides when to try again. Nothing here retries forever.
The callers report what they see to runtime.redis_health.
"""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from runtime.jobs import job_deserializer, job_serializer

CONNECT_TIMEOUT_S = 2.0
# No command of ours blocks in Redis (arq polls; no BLPOP), so an answer slower than this is a Redis or a
# network in trouble. Pub/sub reads wait for messages with their own timeout (runtime.pubsub).
COMMAND_TIMEOUT_S = 5.0
# Idle pooled connections are PINGed before reuse after this long, so one killed by a restart while idle
# is found before a command is sent on it.
HEALTH_CHECK_INTERVAL_S = 10
IMMEDIATE_RETRIES = 2


def connection_pool(url: str, **overrides: Any) -> ConnectionPool:
    """A pool of connections to ``url`` with deadlines and two immediate retries on a broken connection."""
    options: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": COMMAND_TIMEOUT_S,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "retry": Retry(EqualJitterBackoff(cap=0.5, base=0.05), IMMEDIATE_RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError, OSError],
        **overrides,
    }
    return ConnectionPool.from_url(url, **options)


def open_redis(url: str, *, default_queue_name: str = "arq:queue") -> ArqRedis:
    """An arq client (enqueue_job and every Redis command) that has not connected yet."""
    return ArqRedis(
        connection_pool(url),
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        default_queue_name=default_queue_name,
    )
