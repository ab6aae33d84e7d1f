"""arq worker plumbing shared by every service: context, outbox bookkeeping, the sweeper, and the
worker's own Prometheus endpoint (``<SERVICE>_WORKER_METRICS_PORT``)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any
from wsgiref.simple_server import WSGIServer

import httpx
import prometheus_client
from arq import cron
from arq.cron import CronJob
from sqlalchemy import Table

from runtime.db import UnitOfWork, make_engine, make_sessionmaker, transaction
from runtime.http import make_http_client
from runtime.jobs import (
    JobQueue,
    delete_outbox_row,
    job_deserializer,
    job_serializer,
    queue_name,
    resend_outbox,
)
from runtime.logging import configure_logging, get_logger
from runtime.settings import ServiceSettings

log = get_logger(__name__)

Ctx = dict[str, Any]
JobFn = Callable[..., Awaitable[Any]]


def _outboxed(fn: JobFn, max_tries: int) -> JobFn:
    """Delete the job's outbox row once it has run (or run out of tries), so the sweeper stops
    resending it."""

    @functools.wraps(fn)
    async def wrapper(ctx: Ctx, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await fn(ctx, *args, **kwargs)
        except Exception:
            if ctx.get("job_try", 1) >= max_tries:
                log.error("job_gave_up", function=fn.__name__, job_id=ctx.get("job_id"))
                await delete_outbox_row(ctx["engine"], ctx["outbox"], ctx["job_id"])
            raise
        await delete_outbox_row(ctx["engine"], ctx["outbox"], ctx["job_id"])
        return result

    return wrapper


def serve_worker_metrics(service: str, port: int, host: str = "127.0.0.1") -> WSGIServer | None:
    """Serve this process's Prometheus registry on ``host``:``port``, in a thread: an arq worker has no
    HTTP server of its own, and its counters (confirmations, batches, pushes processed, polls, purchases)
    move only in its process. Loopback unless told otherwise (``<SERVICE>_WORKER_METRICS_HOST``): the
    endpoint needs no key, so only deployments whose Prometheus scrapes from outside the pod or host open
    it wider. Returns the server (``shutdown()`` stops it), or None when the port is taken, e.g. by another
    worker on the same host: that one's figures are served, this one's are not, and the worker runs on."""
    try:
        server, _thread = prometheus_client.start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("worker_metrics_port_taken", service=service, host=host, port=port, error=repr(exc))
        return None
    log.info("worker_metrics_served", service=service, host=host, port=port)
    return server


async def _stop_metrics_server(server: WSGIServer) -> None:
    await asyncio.to_thread(server.shutdown)  # waits for the serving thread's poll (0.5 s at most)
    server.server_close()


def service_crons(service: str, jobs: Sequence[CronJob]) -> list[CronJob]:
    """Cron jobs named after their service. arq's id for a unique cron run is ``<name>:<tick>`` and job ids
    are global in Redis, not per queue: with the default name (``cron:sweep_outbox``) the three services'
    sweepers enqueued the same id at each tick and only the first of them ran; another service's outbox could
    go unswept for minutes."""
    prefix = f"cron:{service}:"
    return [j if j.name.startswith(prefix) else replace(j, name=prefix + j.name.removeprefix("cron:")) for j in jobs]


def job_transaction(ctx: Ctx) -> AbstractAsyncContextManager[UnitOfWork]:
    """A job's own transaction boundary (jobs it enqueues are sent after it commits)."""
    return transaction(ctx["sessionmaker"], ctx["queue"])


async def sweep_outbox(ctx: Ctx) -> int:
    return await resend_outbox(ctx["engine"], ctx["queue"])


def build_worker_settings(
    service: str,
    get_settings: Callable[[], ServiceSettings],
    outbox: Table,
    functions: Sequence[JobFn],
    cron_jobs: Sequence[CronJob] = (),
    on_startup: Callable[[Ctx], Awaitable[None]] | None = None,
    on_shutdown: Callable[[Ctx], Awaitable[None]] | None = None,
    max_tries: int = 8,
    max_jobs: int = 20,
) -> type:
    """The ``WorkerSettings`` class for a service, run by runtime.arq_worker (arq's worker, resilient to Redis
    trouble): ``python -m runtime.arq_worker services.<service>.tasks.WorkerSettings``."""

    async def startup(ctx: Ctx) -> None:
        # Settings are read when the worker starts, not when this module is imported.
        settings = get_settings()
        configure_logging(f"{service}-worker", settings.log_level, settings.log_json)
        ctx["settings"] = settings
        ctx["engine"] = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        ctx["sessionmaker"] = make_sessionmaker(ctx["engine"])
        ctx["outbox"] = outbox
        ctx["queue"] = JobQueue(ctx["redis"], outbox, queue_name(service))
        ctx["http"] = make_http_client(settings)
        if settings.worker_metrics_port:
            ctx["metrics_server"] = serve_worker_metrics(
                service, settings.worker_metrics_port, settings.worker_metrics_host
            )
        if on_startup is not None:
            await on_startup(ctx)
        log.info("worker_started", queue=queue_name(service))

    async def shutdown(ctx: Ctx) -> None:
        if on_shutdown is not None:
            await on_shutdown(ctx)
        http: httpx.AsyncClient | None = ctx.get("http")
        if http is not None:
            await http.aclose()
        if "engine" in ctx:
            await ctx["engine"].dispose()
        if ctx.get("metrics_server") is not None:
            await _stop_metrics_server(ctx.pop("metrics_server"))

    attrs: dict[str, Any] = {
        "functions": [_outboxed(f, max_tries) for f in functions],
        "cron_jobs": service_crons(
            service, [cron(sweep_outbox, second={0, 30}, unique=True, run_at_startup=True), *cron_jobs]
        ),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_url": get_settings().redis_url,
        "queue_name": queue_name(service),
        "job_serializer": job_serializer,
        "job_deserializer": job_deserializer,
        "max_tries": max_tries,
        "max_jobs": max_jobs,
        "keep_result": 3600,
        "health_check_interval": 30,
        "allow_abort_jobs": True,
    }
    return type("WorkerSettings", (), attrs)
