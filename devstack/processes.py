"""What `make run` starts: each service's API and worker, the dashboard, and the sandbox."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None


@dataclass(frozen=True)
class Ports:
    allocation: int = int(os.environ.get("ALLOCATION_PORT", "8001"))
    shipping: int = int(os.environ.get("SHIPPING_PORT", "8002"))
    tracking: int = int(os.environ.get("TRACKING_PORT", "8003"))
    sandbox: int = int(os.environ.get("SANDBOX_PORT", "8009"))
    dashboard: int = int(os.environ.get("DASHBOARD_PORT", "8004"))
    # Each worker's /metrics (arq has no HTTP server of its own); 0 turns one off.
    allocation_worker_metrics: int = int(os.environ.get("ALLOCATION_WORKER_METRICS_PORT", "9101"))
    shipping_worker_metrics: int = int(os.environ.get("SHIPPING_WORKER_METRICS_PORT", "9102"))
    tracking_worker_metrics: int = int(os.environ.get("TRACKING_WORKER_METRICS_PORT", "9103"))


def _uvicorn(module: str, port: int) -> list[str]:
    # uvicorn through runtime.serve: the connection cap, keep-alive, header deadline and size cap come from
    # WAYBILL_ variables (runtime.uvicorn_options), which the process inherits.
    return [
        sys.executable, "-m", "runtime.serve", module,
        "--host", "127.0.0.1", "--port", str(port),
        "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip


def _arq(module: str) -> list[str]:
    return [sys.executable, "-m", "runtime.arq_worker", module]


def _worker(service: str, metrics_port: int) -> ProcessSpec:
    return ProcessSpec(
        f"{service}-worker",
        _arq(f"services.{service}.tasks.WorkerSettings"),
        env={f"{service.upper()}_WORKER_METRICS_PORT": str(metrics_port)},
    )


def service_env(ports: Ports) -> dict[str, str]:
    """URLs each process needs to find the others."""
    base = "http://127.0.0.1"
    sandbox = f"{base}:{ports.sandbox}"
    return {
        "ALLOCATION_PORT": str(ports.allocation),
        "SHIPPING_PORT": str(ports.shipping),
        "TRACKING_PORT": str(ports.tracking),
        "SANDBOX_PORT": str(ports.sandbox),
        "DASHBOARD_PORT": str(ports.dashboard),
        "ALLOCATION_COURIER_URL": f"{sandbox}/courier",
        "ALLOCATION_SHIPPING_URL": f"{base}:{ports.shipping}",
        "SHIPPING_ALLOCATION_URL": f"{base}:{ports.allocation}",
        "SHIPPING_TRACKING_URL": f"{base}:{ports.tracking}",
        "SHIPPING_MARKETPLACE_URL": f"{sandbox}/router/rest",
        "SHIPPING_PINDUODUO_URL": f"{sandbox}/pinduoduo/api/router",
        "TRACKING_ALLOCATION_URL": f"{base}:{ports.allocation}",
        "TRACKING_SHIPPING_URL": f"{base}:{ports.shipping}",
        "TRACKING_PROVIDER_URL": f"{sandbox}/kuaidi100",
        "TRACKING_PUBLIC_URL": f"{base}:{ports.tracking}",
        "SANDBOX_MARKETPLACE_WEBHOOK_URL": f"{base}:{ports.shipping}/webhooks/marketplace",
        "SANDBOX_PINDUODUO_MESSAGE_URL": f"{base}:{ports.shipping}/webhooks/pinduoduo",
        "DASHBOARD_ALLOCATION_URL": f"{base}:{ports.allocation}",
        "DASHBOARD_SHIPPING_URL": f"{base}:{ports.shipping}",
        "DASHBOARD_TRACKING_URL": f"{base}:{ports.tracking}",
    }


def all_processes(ports: Ports) -> list[ProcessSpec]:
    def health(port: int) -> str:
        return f"http://127.0.0.1:{port}/healthz"

    return [
        ProcessSpec("sandbox", _uvicorn("services.sandbox.main:app", ports.sandbox), health_url=health(ports.sandbox)),
        ProcessSpec(
            "allocation",
            _uvicorn("services.allocation.main:app", ports.allocation),
            health_url=health(ports.allocation),
        ),
        _worker("allocation", ports.allocation_worker_metrics),
        ProcessSpec(
            "shipping",
            _uvicorn("services.shipping.main:app", ports.shipping),
            health_url=health(ports.shipping),
        ),
        _worker("shipping", ports.shipping_worker_metrics),
        ProcessSpec(
            "tracking",
            _uvicorn("services.tracking.main:app", ports.tracking),
            health_url=health(ports.tracking),
        ),
        _worker("tracking", ports.tracking_worker_metrics),
        ProcessSpec(
            "dashboard",
            _uvicorn("services.dashboard.main:app", ports.dashboard),
            health_url=health(ports.dashboard),
        ),
    ]
