"""The arq worker every service runs: arq's, made to ride out Redis trouble.

arq's loop has no handling of a lost Redis: a reset connection while it WATCHes a job's in-progress key
(a WatchError), a refused reconnect, or a timeout raises out of ``Worker.main`` and ends the process; its
start-up pings Redis and gives up after five tries; and ``close()`` retries a gone Redis for as long as
the client's retry policy says. Here a poll that fails is logged once per outage, counted, and tried
again after a jittered backoff (at most a few seconds), forever; the process starts without Redis; and
closing gives Redis a few seconds, then lets go. Jobs Redis lost meanwhile come back through the outbox
sweeper and the services' resume crons.

Run as ``python -m runtime.arq_worker services.<service>.tasks.WorkerSettings`` (what ``arq <settings>``
did, with this worker class).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import signal
from collections.abc import Awaitable
from typing import Any

from arq.utils import poll
from arq.worker import Worker

from runtime.backoff import Backoff
from runtime.jobs import job_deserializer, job_serializer
from runtime.logging import configure_logging, get_logger
from runtime.redis_clients import open_redis
from runtime.redis_health import REDIS_ERRORS, RedisHealth, stop_if_cancelled

log = get_logger(__name__)

POLL_BACKOFF = Backoff(base_s=0.1, cap_s=3.0)
# How long closing waits for Redis (deleting the health key) before it lets go.
CLOSE_REDIS_TIMEOUT_S = 3.0


class ResilientWorker(Worker):
    def __init__(self, *args: Any, redis_url: str, **kwargs: Any) -> None:
        kwargs.pop("redis_settings", None)
        kwargs.setdefault("job_serializer", job_serializer)
        kwargs.setdefault("job_deserializer", job_deserializer)
        queue = kwargs.get("queue_name") or "arq:queue"
        super().__init__(*args, redis_pool=open_redis(redis_url, default_queue_name=queue), **kwargs)
        self.redis_health = RedisHealth("worker")

    async def main(self) -> None:
        # arq's main() without its start-up PING and INFO (which end the process when Redis is down), each
        # poll guarded. The burst ending is arq's.
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        log.info("worker_polling", queue=self.queue_name, functions=sorted(self.functions))
        async for _ in poll(self.poll_delay_s):
            stop_if_cancelled()  # a cancel redis-py swallowed still stops the loop
            if not await self._guarded(self._poll_iteration()):
                continue
            if self.burst:
                if 0 <= self.max_burst_jobs <= self._jobs_started():
                    await asyncio.gather(*self.tasks.values(), return_exceptions=True)
                    return
                queued = await self._guarded(self.pool.zcard(self.queue_name))
                if queued is not False and queued == 0:
                    await asyncio.gather(*self.tasks.values(), return_exceptions=True)
                    return

    async def _guarded(self, call: Awaitable[Any]) -> Any:
        """Await a step of the loop; on Redis trouble, note it, wait out a backoff and answer False."""
        try:
            result = await call
        except REDIS_ERRORS as exc:
            self.redis_health.failed(exc)
            await asyncio.sleep(POLL_BACKOFF.delay(self.redis_health.consecutive_failures))
            return False
        self.redis_health.ok()
        return True if result is None else result

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except REDIS_ERRORS:
            # arq took a slot (the semaphore and the job counter) for the job it was starting and gives it
            # back only when the job starts or is found taken: a Redis error in between would leak it, and
            # after max_jobs such errors the worker would never start a job again.
            self.job_counter -= 1
            self.sem.release()
            raise

    async def close(self) -> None:
        """arq's close, with Redis given a few seconds: a worker stopping during an outage must stop."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if self._pool is None:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        try:
            await asyncio.wait_for(self.pool.delete(self.health_check_key), CLOSE_REDIS_TIMEOUT_S)
        except REDIS_ERRORS as exc:  # TimeoutError (wait_for) is an OSError
            log.warning("worker_close_without_redis", error=type(exc).__name__)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(*REDIS_ERRORS):
            await self.pool.aclose(close_connection_pool=True)
        self._pool = None


_WORKER_PARAMS = set(inspect.signature(Worker).parameters) | {"redis_url"}


def create_worker(settings_cls: type, **overrides: Any) -> ResilientWorker:
    """A worker from a service's ``WorkerSettings`` (see runtime.worker.build_worker_settings)."""
    options = {k: v for k, v in vars(settings_cls).items() if k in _WORKER_PARAMS}
    options.update(overrides)
    return ResilientWorker(**options)


def _load(path: str) -> type:
    module, _, name = path.rpartition(".")
    settings: type = getattr(importlib.import_module(module), name)
    return settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runtime.arq_worker", description=__doc__.splitlines()[0])
    parser.add_argument(
        "settings", help="import path of a WorkerSettings class, e.g. services.shipping.tasks.WorkerSettings"
    )
    parser.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    args = parser.parse_args(argv)
    # The service's startup reconfigures logging with its own name and level; until then arq's lines go here.
    configure_logging(args.settings.split(".")[1] + "-worker" if args.settings.count(".") >= 2 else "worker")
    create_worker(_load(args.settings), burst=args.burst).run()


if __name__ == "__main__":
    main()
