"""deploy/docker-compose.yml against the Compose specification's JSON schema (vendored, with its
licence, by check-jsonschema: no download at test time) and against how `make run` wires processes."""

from __future__ import annotations

import copy
import importlib.resources
import json
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import pytest

from devstack.processes import Ports, service_env
from tests.deploy.deploy_support import (
    ROLES,
    ROOT,
    compose_file,
    dockerfile_stages,
    role_command,
    unknown_variables,
)

COMPOSE = compose_file()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APPS = {name: s for name, s in SERVICES.items() if s.get("command", [None])[0] in ROLES}


def _errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_follows_the_compose_specification() -> None:
    assert _errors(COMPOSE) == []


def test_the_schema_check_rejects_an_unknown_dependency_condition() -> None:
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["allocation"]["depends_on"]["migrate"]["condition"] = "service_done"
    assert _errors(broken)


def test_every_role_of_the_image_runs_once() -> None:
    roles = sorted(s["command"][0] for s in APPS.values())
    assert roles == sorted(ROLES)


def test_environment_is_the_one_make_run_uses_with_compose_host_names() -> None:
    """Every variable devstack sets for `make run` is set here, and each URL reaches the compose
    service whose role listens on that port."""
    env: dict[str, str] = APPS["allocation"]["environment"]
    assert set(service_env(Ports())) <= set(env)
    listening: dict[tuple[str, int], str] = {}
    for name, service in APPS.items():
        argv = role_command(service["command"][0], env)
        if "--port" in argv:
            listening[(name, int(argv[argv.index("--port") + 1]))] = service["command"][0]
    for var, value in env.items():
        if var.endswith("_URL") and value.startswith("http"):
            parts = urlsplit(value)
            assert (parts.hostname, parts.port) in listening, var
    assert unknown_variables(env) == set()
    for service in APPS.values():
        assert service["environment"] == env, "one environment for every process, as make run does"


def test_processes_start_after_migrations_and_their_stores_and_are_health_checked() -> None:
    migrate = SERVICES["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in APPS.items():
        if name in ("migrate", "sandbox", "dashboard"):  # neither the sandbox nor the dashboard has a database
            continue
        needs = {dep: cond["condition"] for dep, cond in service["depends_on"].items()}
        assert needs["migrate"] == "service_completed_successfully", name
        assert needs["postgres"] == needs["redis"] == "service_healthy", name
    for name, service in SERVICES.items():
        for dep, cond in service.get("depends_on", {}).items():
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{name} waits for {dep}, which has no healthcheck"
    for name, service in APPS.items():
        if name != "migrate":
            assert service["healthcheck"]["test"] == ["CMD", "waybill-healthcheck"], name


def test_workers_serve_their_metrics_to_other_containers() -> None:
    """The workers bind their metrics to loopback unless told otherwise; here a Prometheus in another container
    scrapes them, so each is given every interface with its port."""
    env: dict[str, str] = APPS["allocation"]["environment"]
    for service in ("allocation", "shipping", "tracking"):
        assert env[f"{service.upper()}_WORKER_METRICS_HOST"] == "0.0.0.0"
        assert int(env[f"{service.upper()}_WORKER_METRICS_PORT"]) > 0


@pytest.mark.parametrize("name", ["allocation", "shipping", "tracking", "dashboard", "sandbox"])
def test_apis_are_published_on_loopback_at_the_ports_make_run_uses(name: str) -> None:
    port = getattr(Ports(), name)
    assert SERVICES[name]["ports"] == [f"127.0.0.1:{port}:{port}"]


def test_the_dashboard_waits_for_redis_which_holds_its_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.dashboard.settings import DashboardSettings

    dashboard = SERVICES["dashboard"]
    assert dashboard["depends_on"]["redis"]["condition"] == "service_healthy"
    monkeypatch.delenv("DASHBOARD_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", dashboard["environment"]["REDIS_URL"])  # the rest holds ${...} defaults
    assert DashboardSettings().redis_url == "redis://redis:6379/0"


def test_the_sandbox_runs_the_sandbox_target_and_everything_else_the_production_image() -> None:
    """The production image has no sandbox (deploy/Dockerfile): compose builds the sandbox target for it."""
    migrate, sandbox = SERVICES["migrate"], SERVICES["sandbox"]
    assert migrate["build"]["target"] == "production"
    assert sandbox["build"]["target"] == "sandbox"
    for service in (migrate, sandbox):
        assert service["build"]["target"] in dockerfile_stages()
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        assert service["build"]["context"] == ".."
    assert sandbox["image"] != migrate["image"], "two images: one tag cannot name both"
    for name, service in APPS.items():
        if name != "sandbox":
            assert service["image"] == migrate["image"], name
