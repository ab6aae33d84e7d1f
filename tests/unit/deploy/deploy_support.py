"""What the deploy tests share: the files under deploy/, the image's roles, the settings' variables."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings

from runtime.settings import ServiceSettings
from runtime.uvicorn_options import UvicornOptions
from services.allocation.settings import AllocationSettings
from services.dashboard.settings import DashboardSettings
from services.sandbox.settings import SandboxSettings
from services.shipping.settings import ShippingSettings
from services.tracking.settings import TrackingSettings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
COMPOSE = DEPLOY / "docker-compose.yml"
KUBERNETES = DEPLOY / "kubernetes"
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


def role_command(role: str, env: dict[str, str] | None = None) -> list[str]:
    """The command the image's entrypoint runs for ``role`` (its dry run prints it)."""
    run_env = {"PATH": os.environ["PATH"], **(env or {}), "WAYBILL_ROLE_DRY_RUN": "1"}
    out = subprocess.run(["sh", str(ENTRYPOINT), role], env=run_env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def kubernetes_documents() -> list[tuple[str, dict[str, Any]]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


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
