"""One account per process of the trouble it met with Redis.

A caller reports each call's outcome to its component's ``RedisHealth``: the first failure of an outage
is logged (once, not per retry), the recovery is logged with the outage's length and the failed calls
in it, and both show in metrics (``waybill_redis_up``, ``waybill_redis_failures_total``,
``waybill_redis_outages_total``, per component).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError

from runtime.logging import get_logger

log = get_logger(__name__)

# What "Redis trouble" raises: redis-py's own errors (a reset or refused connection, a timeout, a WATCH
# broken by a dead connection, LOADING/READONLY from a restarting or demoted server) and the socket
# errors that escape it. TimeoutError is an OSError.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

REDIS_UP = Gauge(
    "waybill_redis_up", "1 while this process's last call to Redis (per component) succeeded", ["component"]
)
REDIS_FAILURES = Counter(
    "waybill_redis_failures_total", "Calls to Redis that failed (after the immediate retries)", ["component"]
)
REDIS_OUTAGES = Counter("waybill_redis_outages_total", "Redis outages this process saw begin", ["component"])


@dataclass
class RedisHealth:
    """What one component of this process last saw of Redis. ``failed`` on an error, ``ok`` on a success:
    the first failure after a success logs a warning, the first success after failures logs the recovery,
    and everything in between is counted, not logged."""

    component: str
    # While Redis is down, one call per this many seconds is let through to find it back (see should_try).
    probe_interval_s: float = 1.0
    _down_since: float | None = field(default=None, init=False)
    _failures: int = field(default=0, init=False)
    _last_probe: float = field(default=0.0, init=False)
    _up: Gauge = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._up = REDIS_UP.labels(self.component)
        self._up.set(1)

    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def consecutive_failures(self) -> int:
        """Failed calls since the last success (0 while Redis answers): the attempt number for a backoff."""
        return self._failures

    def should_try(self) -> bool:
        """Whether to call Redis now. Always while it answers; during an outage once per probe interval, so
        a request path that can do without Redis (the rate limiter fails open, a job waits in the outbox)
        does not pay a connect timeout on every request."""
        if self._down_since is None:
            return True
        now = time.monotonic()
        if now - self._last_probe < self.probe_interval_s:
            return False
        self._last_probe = now
        return True

    def failed(self, exc: BaseException) -> None:
        """Count and log (once per outage) a failed call. Raises CancelledError instead when the calling task
        is being cancelled: redis-py can answer a cancel that lands while a connect is failing with its own
        ConnectionError (the cancel is consumed), and a loop that retries on Redis trouble would then never
        stop (a worker closing during an outage hung on that)."""
        stop_if_cancelled(exc)
        REDIS_FAILURES.labels(self.component).inc()
        self._failures += 1
        if self._down_since is None:
            self._down_since = self._last_probe = time.monotonic()
            self._up.set(0)
            REDIS_OUTAGES.labels(self.component).inc()
            log.warning("redis_unavailable", component=self.component, error=f"{type(exc).__name__}: {exc}")

    def ok(self) -> None:
        # The gauge is per component, not per instance: two accounts of one component in a process (a
        # worker and a short-lived one beside it) share it, so every success sets it, not only a recovery.
        self._up.set(1)
        if self._down_since is None:
            return
        outage_s = round(time.monotonic() - self._down_since, 1)
        log.warning("redis_recovered", component=self.component, outage_s=outage_s, failed_calls=self._failures)
        self._down_since = None
        self._failures = 0


def stop_if_cancelled(cause: BaseException | None = None) -> None:
    """Raise CancelledError when the running task has a cancel request pending. redis-py can swallow a cancel
    on its way (answer it with its own error, or let a timed read return nothing): loops that talk to Redis
    call this each round, so a cancel always ends them."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: nothing to cancel
        return
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from cause
