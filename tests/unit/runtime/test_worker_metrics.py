"""runtime.worker.serve_worker_metrics: loopback unless configured, and a port already taken is logged, not
fatal."""

from __future__ import annotations

import socket
import urllib.request
from typing import Any

import pytest

from devstack.infra import free_port
from runtime import worker
from runtime.settings import ServiceSettings
from runtime.worker import build_worker_settings, serve_worker_metrics
from services.allocation.models import Outbox
from services.allocation.settings import AllocationSettings


def test_serves_the_registry_on_loopback_only_by_default_and_stops() -> None:
    port = free_port()
    server = serve_worker_metrics("test", port)
    assert server is not None
    try:
        # No key guards /metrics: it is not offered beyond this host unless a deployment asks.
        assert server.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert resp.status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_serves_the_registry_on_every_interface_when_configured() -> None:
    port = free_port()
    server = serve_worker_metrics("test", port, "0.0.0.0")
    assert server is not None
    try:
        assert server.server_address[0] == "0.0.0.0"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert resp.status == 200
            assert b"# TYPE python_info gauge" in resp.read()
    finally:
        server.shutdown()
        server.server_close()


def test_a_taken_port_is_tolerated() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # Another worker of the same host serves there: this one runs on without serving.
        assert serve_worker_metrics("test", port) is None


def test_the_metrics_host_setting_defaults_to_loopback_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLOCATION_WORKER_METRICS_HOST", raising=False)
    assert AllocationSettings().worker_metrics_host == "127.0.0.1"
    monkeypatch.setenv("ALLOCATION_WORKER_METRICS_HOST", "0.0.0.0")
    assert AllocationSettings().worker_metrics_host == "0.0.0.0"


@pytest.mark.parametrize(
    ("configured", "expected"), [({}, "127.0.0.1"), ({"worker_metrics_host": "0.0.0.0"}, "0.0.0.0")]
)
async def test_the_worker_serves_its_metrics_on_the_configured_host(
    configured: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[str, int, str]] = []

    def serve(service: str, port: int, host: str) -> None:
        served.append((service, port, host))

    monkeypatch.setattr(worker, "serve_worker_metrics", serve)
    monkeypatch.setattr(worker, "configure_logging", lambda *args, **kwargs: None)
    settings = ServiceSettings(worker_metrics_port=9101, **configured)  # type: ignore[arg-type]
    worker_settings: Any = build_worker_settings("test", lambda: settings, Outbox, [])
    ctx: dict[str, Any] = {"redis": None}
    await worker_settings.on_startup(ctx)
    await worker_settings.on_shutdown(ctx)
    assert served == [("test", 9101, expected)]
