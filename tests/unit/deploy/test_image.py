"""The image (deploy/Dockerfile, entrypoint, healthcheck) against the code it packages.

No Docker engine exists here, so the image is checked for coherence: every role's command names a
module and object that exist, the Dockerfile copies every package the project ships, and nothing it
copies is left out of the build context.
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from types import ModuleType
from typing import Any

import dockerfile  # type: ignore[import-not-found]
import pytest
from arq.constants import health_check_key_suffix
from fastapi import FastAPI

from runtime import serve
from runtime.jobs import queue_name
from tests.unit.deploy.deploy_support import DEPLOY, ROLES, ROOT, role_command


def _healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("waybill_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resolve(target: str) -> object:
    module, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("role", [r for r in ROLES if r.endswith("-api") or r in ("dashboard", "sandbox")])
def test_api_roles_serve_an_existing_app_on_their_port_on_every_interface(role: str) -> None:
    ports = {"ALLOCATION_PORT": "9101", "SHIPPING_PORT": "9102", "TRACKING_PORT": "9103", "DASHBOARD_PORT": "9104"}
    argv = role_command(role, ports)
    assert argv[:3] == ["python", "-m", "runtime.serve"]
    assert isinstance(_resolve(argv[3]), FastAPI)
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    expected = {
        "allocation-api": "9101",
        "shipping-api": "9102",
        "tracking-api": "9103",
        "dashboard": "9104",
        "sandbox": "8009",
    }
    assert argv[argv.index("--port") + 1] == expected[role]


def _option(argv: list[str], flag: str) -> str:
    assert argv.count(flag) == 1, flag
    return argv[argv.index(flag) + 1]


@pytest.mark.parametrize("role", [r for r in ROLES if r.endswith("-api") or r in ("dashboard", "sandbox")])
def test_api_roles_are_served_by_runtime_serve_with_the_pods_limits(role: str) -> None:
    """runtime.serve applies the WAYBILL_ limits the pod's environment gives (the config map's values)."""
    env = {"WAYBILL_LIMIT_CONCURRENCY": "77", "WAYBILL_HEADER_TIMEOUT_S": "3", "WAYBILL_GRACEFUL_SHUTDOWN_S": "9"}
    argv = role_command(role, env)
    assert _option(argv, "--timeout-graceful-shutdown") == "9"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        config = serve.config(argv[3:])
    assert config.limit_concurrency == 77
    assert config.http.header_timeout_s == 3  # type: ignore[union-attr]
    assert config.host == "0.0.0.0"
    assert config.timeout_graceful_shutdown == 9


@pytest.mark.parametrize("role", [r for r in ROLES if r.endswith("-worker")])
def test_worker_roles_run_the_services_arq_settings(role: str) -> None:
    argv = role_command(role)
    assert argv[:3] == ["python", "-m", "runtime.arq_worker"]
    settings: Any = _resolve(argv[3])
    assert settings.queue_name == queue_name(role.removesuffix("-worker"))
    assert settings.functions


def test_migrate_role_runs_every_services_migrations() -> None:
    argv = role_command("migrate")
    assert argv[:2] == ["python", "-m"]
    module = importlib.import_module(argv[2])
    assert set(module.SERVICES) == {"allocation", "shipping", "tracking"}
    assert callable(module.migrate_all)


def test_other_arguments_run_as_given() -> None:
    assert role_command("waybill") == ["waybill"]


def _instructions() -> list[Any]:
    # The official parser (moby/buildkit's, through the dockerfile package): a syntax error fails here.
    return list(dockerfile.parse_file(str(DEPLOY / "Dockerfile")))


def test_dockerfile_copies_every_shipped_package_and_the_build_context_keeps_them() -> None:
    copied = {src for i in _instructions() if i.cmd == "COPY" and not i.flags for src in i.value[:-1]}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
        "packages"
    ]
    assert set(packages) <= copied
    assert {"pyproject.toml", "uv.lock", "README.md", "deploy/entrypoint.sh", "deploy/healthcheck.py"} <= copied
    for src in copied:
        assert (ROOT / src).exists(), src
    # The .dockerignore beside the Dockerfile excludes everything, then lets back what is copied.
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    assert copied <= allowed
    runs = " ".join(i.value[0] for i in _instructions() if i.cmd == "RUN")
    assert "uv sync --locked --no-dev" in runs


def test_final_stage_runs_the_roles_as_a_non_root_user_with_a_healthcheck_and_exposes_their_ports() -> None:
    instructions = _instructions()
    final = instructions[max(n for n, i in enumerate(instructions) if i.cmd == "FROM") :]
    by_cmd = {i.cmd: i for i in final}
    installed = {i.value[-1]: i.value[0] for i in final if i.cmd == "COPY" and not i.flags}
    assert installed[f"/usr/local/bin/{by_cmd['ENTRYPOINT'].value[0]}"] == "deploy/entrypoint.sh"
    assert by_cmd["HEALTHCHECK"].value[0] == "CMD"
    assert installed[f"/usr/local/bin/{by_cmd['HEALTHCHECK'].value[1]}"] == "deploy/healthcheck.py"
    assert by_cmd["USER"].value[0].split(":")[0] not in ("0", "root")
    assert by_cmd["CMD"].value[0] in ROLES
    env = dict(zip(by_cmd["ENV"].value[::2], by_cmd["ENV"].value[1::2], strict=True))
    listening = set()
    for role in ROLES:
        argv = role_command(role, {k: v for k, v in env.items() if k.endswith("_PORT")})
        if "--port" in argv:
            listening.add(argv[argv.index("--port") + 1])
    assert set(by_cmd["EXPOSE"].value) == listening


def test_healthcheck_checks_what_the_main_process_is() -> None:
    check_for = _healthcheck().check_for
    api = role_command("tracking-api", {"TRACKING_PORT": "8123"})
    argv = ["/opt/venv/bin/python", *api[1:]]
    assert check_for(argv, {}) == ("http", "http://127.0.0.1:8123/healthz", "")
    assert check_for(["python", "-m", "devstack.migrate"], {}) is None


@pytest.mark.parametrize("service", ["allocation", "shipping", "tracking"])
def test_worker_healthcheck_reads_the_heartbeat_arq_writes_for_that_worker(service: str) -> None:
    check_for = _healthcheck().check_for
    argv = ["/opt/venv/bin/python", *role_command(f"{service}-worker")[1:]]
    settings: Any = _resolve(role_command(f"{service}-worker")[3])
    heartbeat = settings.queue_name + health_check_key_suffix
    shared = {"REDIS_URL": "redis://redis:6379/0"}
    assert check_for(argv, shared) == ("redis", "redis://redis:6379/0", heartbeat)
    own = {**shared, f"{service.upper()}_REDIS_URL": "redis://other:6379/2"}
    assert check_for(argv, own) == ("redis", "redis://other:6379/2", heartbeat)
