"""Every service's arq worker serves its own Prometheus metrics on ``<SERVICE>_WORKER_METRICS_PORT``
(runtime.worker.build_worker_settings starts it): the counters its jobs move exist only in its process."""

from __future__ import annotations

import importlib
import socket
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devstack.infra import free_port
from runtime.resources import Resources
from runtime.worker import resources
from tests.support import Env

# Series each worker moves (they are served at zero before the first job).
WORKER_SERIES = {
    "allocation": ["waybill_purchases_total"],
    "shipping": ["waybill_marketplace_confirmations_total", "waybill_batch_orders_total", "waybill_shipments_total"],
    "tracking": ["waybill_tracking_pushes_processed_total", "waybill_tracking_polls_total"],
}


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("service", sorted(WORKER_SERIES))
async def test_the_worker_serves_its_metrics_on_its_port_until_it_stops(
    service: str, env: Env, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = importlib.import_module(f"services.{service}.tasks")
    # Tracking's ingestion loops would keep running in this process: not needed to serve metrics.
    worker = tasks.worker_settings(background_loops=False) if service == "tracking" else tasks.WorkerSettings
    get_settings = importlib.import_module(f"services.{service}.settings").get_settings
    port = free_port()
    monkeypatch.setenv(f"{service.upper()}_WORKER_METRICS_PORT", str(port))
    get_settings.cache_clear()  # the worker reads its settings when it starts
    ctx: dict[str, Any] = {"redis": redis}
    try:
        await worker.on_startup(ctx)
        assert ctx["metrics_server"] is not None
        async with httpx.AsyncClient() as http:
            resp = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert resp.status_code == 200
        for name in WORKER_SERIES[service]:
            assert f"# TYPE {name} counter" in resp.text, name
    finally:
        await worker.on_shutdown(ctx)
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "metrics_server" not in ctx
    assert _refused(port), "the worker's shutdown closes its metrics port"


async def test_no_port_no_metrics_server(env: Env, redis: Redis) -> None:
    from services.allocation.tasks import WorkerSettings

    worker: Any = WorkerSettings
    ctx: dict[str, Any] = {"redis": redis}
    try:
        await worker.on_startup(ctx)
        assert resources(ctx, Resources).settings.worker_metrics_port == 0
        assert "metrics_server" not in ctx
    finally:
        await worker.on_shutdown(ctx)
