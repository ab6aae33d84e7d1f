"""What `make run` starts: every service, its worker (serving its own metrics) and the sandbox."""

from __future__ import annotations

from devstack.processes import Ports, all_processes


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


def test_every_http_process_runs_through_runtime_serve() -> None:
    """runtime.serve is what applies the connection cap, keep-alive and header limits (tests/unit/runtime/
    test_serve.py): every HTTP process of `make run` is started by it, on loopback."""
    http = [s for s in all_processes(Ports()) if s.health_url]
    assert {s.name for s in http} == {"sandbox", "allocation", "shipping", "tracking", "dashboard"}
    for spec in http:
        assert spec.argv[1:3] == ["-m", "runtime.serve"]
        assert spec.argv[3].endswith(".main:app")
        assert _option(spec.argv, "--host") == "127.0.0.1"
        assert _option(spec.argv, "--timeout-graceful-shutdown") == "5"
