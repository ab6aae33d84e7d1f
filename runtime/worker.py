"""arq worker plumbing shared by every service: context, outbox bookkeeping, the sweeper, and the
worker's own Prometheus endpoint (``<SERVICE>_WORKER_METRICS_PORT``)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any, cast
from wsgiref.simple_server import WSGIServer

import prometheus_client
from arq import cron, func
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function
from sqlalchemy import Table

from runtime.db import UnitOfWork
from runtime.jobs import (
    delete_outbox_row,
    job_deserializer,
    job_serializer,
    outbox_backlog,
    queue_name,
    resend_outbox,
)
from runtime.logging import configure_logging, get_logger
from runtime.metrics import OUTBOX_OLDEST, OUTBOX_ROWS
from runtime.resources import R, Resources, ResourcesFactory, core_only, open_core
from runtime.settings import ServiceSettings

log = get_logger(__name__)

Ctx = dict[str, Any]
JobFn = Callable[..., Awaitable[Any]]
_RESOURCES = "resources"


def resources(ctx: Ctx, cls: type[R]) -> R:
    """The worker's Resources (built at startup by the service's factory), typed: the one thing a job
    reads from arq's context besides arq's own ``job_try`` and ``job_id``."""
    res = ctx[_RESOURCES]
    assert isinstance(res, cls)
    return res


def job_try(ctx: Ctx) -> int:
    """Which try of this job is running (1 for the first)."""
    return int(ctx.get("job_try", 1))


def _outboxed(fn: JobFn, max_tries: int, outbox: Table) -> JobFn:
    """Delete the job's outbox row once it has run (or run out of tries), so the sweeper stops
    resending it."""

    @functools.wraps(fn)
    async def wrapper(ctx: Ctx, *args: Any, **kwargs: Any) -> Any:
        engine = resources(ctx, Resources).engine
        try:
            result = await fn(ctx, *args, **kwargs)
        except Exception:
            if job_try(ctx) >= max_tries:
                log.error("job_gave_up", function=fn.__name__, job_id=ctx.get("job_id"))
                await delete_outbox_row(engine, outbox, ctx["job_id"])
            raise
        await delete_outbox_row(engine, outbox, ctx["job_id"])
        return result

    return wrapper


def _job(fn: JobFn | Function, max_tries: int, outbox: Table) -> Function:
    """An arq function with the outbox bookkeeping; one given as ``arq.func(f, timeout=...)`` keeps its
    own timeout and tries."""
    if isinstance(fn, Function):
        tries = fn.max_tries or max_tries
        return func(
            cast(WorkerCoroutine, _outboxed(fn.coroutine, tries, outbox)),
            name=fn.name,
            keep_result=fn.keep_result_s,
            timeout=fn.timeout_s,
            max_tries=fn.max_tries,
        )
    return func(cast(WorkerCoroutine, _outboxed(fn, max_tries, outbox)), name=fn.__name__)


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
    return resources(ctx, Resources).transaction()


async def sweep_outbox(ctx: Ctx) -> int:
    res = resources(ctx, Resources)
    sent = await resend_outbox(res.engine, res.queue)
    backlog = await outbox_backlog(res.engine, res.queue.outbox)
    OUTBOX_ROWS.labels(res.service).set(backlog.rows)
    OUTBOX_OLDEST.labels(res.service).set(backlog.oldest_s)
    return sent


def build_worker_settings(
    service: str,
    get_settings: Callable[[], ServiceSettings],
    outbox: Table,
    functions: Sequence[JobFn | Function],
    cron_jobs: Sequence[CronJob] = (),
    resources_factory: ResourcesFactory = core_only,
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
        res = await resources_factory(open_core(service, settings, outbox, ctx["redis"]))
        ctx[_RESOURCES] = res
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
        res: Resources | None = ctx.get(_RESOURCES)
        if res is not None:
            await res.aclose()
        if ctx.get("metrics_server") is not None:
            await _stop_metrics_server(ctx.pop("metrics_server"))

    attrs: dict[str, Any] = {
        "functions": [_job(f, max_tries, outbox) for f in functions],
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
