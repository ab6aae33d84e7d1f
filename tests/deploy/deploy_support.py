"""What the deploy tests share: the files under deploy/, the image's roles, the settings' variables, the
kustomization's release and the metrics every service exports."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import dockerfile  # type: ignore[import-not-found]
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pydantic_settings import BaseSettings

from runtime.settings import ServiceSettings
from runtime.uvicorn_options import UvicornOptions
from services.allocation.settings import AllocationSettings
from services.dashboard.settings import DashboardSettings
from services.sandbox.settings import SandboxSettings
from services.shipping.settings import ShippingSettings
from services.tracking.settings import TrackingSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
COMPOSE = DEPLOY / "docker-compose.yml"
KUBERNETES = DEPLOY / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
# The Secret's keys, applied apart (never by the kustomization, which would put the placeholders back).
SECRET_FILE = "05-secret.yaml"
DASHBOARD = DEPLOY / "grafana" / "waybill-dashboard.json"

ROLES = (
    "allocation-api",
    "allocation-worker",
    "shipping-api",
    "shipping-worker",
    "tracking-api",
    "tracking-worker",
    "dashboard",
    "sandbox",
    "migrate",
)
SERVICE_SETTINGS: dict[str, type[ServiceSettings]] = {
    "allocation": AllocationSettings,
    "shipping": ShippingSettings,
    "tracking": TrackingSettings,
}


def entrypoint(
    args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """The image's entrypoint run with ``args`` as a dry run, from ``cwd`` (the image's working directory is
    /app, the source tree), with this virtualenv first on PATH as the image's is."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    run_env = {"PATH": path, **(env or {}), "WAYBILL_ROLE_DRY_RUN": "1"}
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=run_env, cwd=cwd, capture_output=True, text=True)


def role_command(role: str, env: dict[str, str] | None = None) -> list[str]:
    """The command the image's entrypoint runs for ``role`` (its dry run prints it)."""
    out = entrypoint([role], env)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def dockerfile_instructions() -> list[Any]:
    # The official parser (moby/buildkit's, through the dockerfile package): a syntax error fails here.
    return list(dockerfile.parse_file(str(DEPLOY / "Dockerfile")))


def dockerfile_stages() -> dict[str, list[Any]]:
    """Each named stage of deploy/Dockerfile with its instructions, its parent stage's included (FROM <stage>),
    in build order: the last is what `docker build` without --target builds."""
    found: dict[str, list[Any]] = {}
    current: list[Any] = []
    for instruction in dockerfile_instructions():
        if instruction.cmd == "FROM":
            image, _, name = instruction.value
            current = [*found.get(image, []), instruction]
            found[name] = current
        elif current:
            current.append(instruction)
    return found


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kubernetes_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every object of every manifest in deploy/kubernetes (the kustomization is not one), by file name."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path != KUSTOMIZATION:
            docs.extend((path.name, doc) for doc in _documents(path))
    return docs


def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(KUSTOMIZATION.read_text())
    return data


def release_tag() -> str:
    """The image tag of the release: set once, in the kustomization."""
    (image,) = kustomization()["images"]
    return str(image["newTag"])


def kustomize_build(tag: str | None = None) -> list[dict[str, Any]]:
    """What ``kubectl kustomize deploy/kubernetes`` renders, computed here for the two things the kustomization
    does (tests/deploy/test_kustomize.py compares it with kubectl's own rendering where kubectl exists):
    every container's image given the tag, and the migration Job named after it."""
    config = kustomization()
    (image,) = config["images"]
    tag = tag or str(image["newTag"])
    rendered: list[dict[str, Any]] = []
    for resource in config["resources"]:
        for doc in _documents(KUBERNETES / resource):
            doc = copy.deepcopy(doc)
            pod = doc.get("spec", {}).get("template", {}).get("spec", {})
            for container in pod.get("containers", []):
                name = container["image"].rsplit(":", 1)[0]
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{tag}"
            if doc["kind"] == "Job":
                doc["metadata"]["name"] = f"{doc['metadata']['name']}-{tag}"
            rendered.append(doc)
    return rendered


def kubectl_kustomize(directory: Path = KUBERNETES) -> list[dict[str, Any]] | None:
    """kubectl's own rendering of a kustomization (kustomize is built into kubectl), or None without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def matches(selector: str, labels: dict[str, str]) -> bool:
    """A kubectl ``-l`` selector of equality terms (key=value,key2=value2) against an object's labels."""
    terms = [term.split("=", 1) for term in selector.split(",")]
    return all(labels.get(key) == value for key, value in terms)


def compose_file() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _settings_variables(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = {f"{prefix}{field}".upper() for field in cls.model_fields}
    if issubclass(cls, ServiceSettings | DashboardSettings):
        names |= set(cls.shared_env.values())
    return names


def known_variables() -> set[str]:
    """Every environment variable some waybill process reads (services', the dashboard's, the sandbox's, and
    the uvicorn options the image's entrypoint passes)."""
    known = _settings_variables(SandboxSettings) | _settings_variables(DashboardSettings)
    known |= _settings_variables(UvicornOptions)
    for cls in SERVICE_SETTINGS.values():
        known |= _settings_variables(cls)
    return known


def unknown_variables(env: dict[str, Any]) -> set[str]:
    known = known_variables()
    # Nested sandbox fault settings (SANDBOX_FAULTS__ERROR_RATE) belong to the faults field.
    return {k for k in env if k not in known and not k.startswith("SANDBOX_FAULTS__")}


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


@cache
def exported() -> dict[str, set[str]]:
    """Series name -> label names, over every service's /metrics (the series that move in a worker are declared
    in the same modules, so its API process shows them too)."""
    series: dict[str, set[str]] = {}
    # One process per service, side by side: each imports its whole app.
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests/deploy/metrics_dump.py"), service],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            text=True,
        )
        for service in sorted(SERVICE_SETTINGS)
    ]
    for proc in procs:
        stdout, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, proc.args
        dump = json.loads(stdout)
        for family in text_string_to_metric_families(dump["text"]):
            for suffix in _SUFFIXES.get(family.type, ("",)):
                name = family.name + suffix
                labels = series.setdefault(name, set())
                labels |= set(dump["labels"].get(name, ()))
                labels |= {k for s in family.samples if s.name == name for k in s.labels}
    return series
