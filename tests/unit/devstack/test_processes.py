"""What `make run` starts: every service, its worker (serving its own metrics) and the sandbox."""

from __future__ import annotations

import pytest

from devstack.processes import Ports, all_processes
from runtime.uvicorn_options import UvicornOptions


def test_make_run_starts_every_role_and_each_worker_serves_metrics_on_its_own_port() -> None:
    ports = Ports(allocation_worker_metrics=19101, shipping_worker_metrics=19102, tracking_worker_metrics=19103)
    specs = {s.name: s for s in all_processes(ports)}
    assert set(specs) == {
        "sandbox",
        "allocation",
        "allocation-worker",
        "shipping",
        "shipping-worker",
        "tracking",
        "tracking-worker",
        "dashboard",
    }
    assert specs["allocation-worker"].env == {"ALLOCATION_WORKER_METRICS_PORT": "19101"}
    assert specs["shipping-worker"].env == {"SHIPPING_WORKER_METRICS_PORT": "19102"}
    assert specs["tracking-worker"].env == {"TRACKING_WORKER_METRICS_PORT": "19103"}
    assert specs["tracking-worker"].argv[-1] == "services.tracking.tasks.WorkerSettings"
    assert all(specs[name].health_url for name in ("sandbox", "allocation", "shipping", "tracking", "dashboard"))


def _option(argv: list[str], flag: str) -> str:
    assert argv.count(flag) == 1, flag
    return argv[argv.index(flag) + 1]


def test_every_http_process_caps_connections_and_times_out_idle_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's --limit-concurrency and --timeout-keep-alive (and h11's header buffer cap) with
    runtime.uvicorn_options' defaults, overridable through WAYBILL_ variables, the same the image's entrypoint
    reads."""
    for var in ("WAYBILL_LIMIT_CONCURRENCY", "WAYBILL_TIMEOUT_KEEP_ALIVE_S", "WAYBILL_H11_MAX_INCOMPLETE_EVENT_SIZE"):
        monkeypatch.delenv(var, raising=False)
    defaults = UvicornOptions()
    http = [s for s in all_processes(Ports()) if s.health_url]
    assert {s.name for s in http} == {"sandbox", "allocation", "shipping", "tracking", "dashboard"}
    for spec in http:
        assert spec.argv[1:3] == ["-m", "uvicorn"]
        assert _option(spec.argv, "--limit-concurrency") == str(defaults.limit_concurrency)
        assert _option(spec.argv, "--timeout-keep-alive") == str(defaults.timeout_keep_alive_s)
        assert _option(spec.argv, "--h11-max-incomplete-event-size") == str(defaults.h11_max_incomplete_event_size)
    monkeypatch.setenv("WAYBILL_LIMIT_CONCURRENCY", "64")
    monkeypatch.setenv("WAYBILL_TIMEOUT_KEEP_ALIVE_S", "2")
    for spec in all_processes(Ports()):
        if spec.health_url:
            assert _option(spec.argv, "--limit-concurrency") == "64"
            assert _option(spec.argv, "--timeout-keep-alive") == "2"
