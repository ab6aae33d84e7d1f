"""deploy/kubernetes against the Kubernetes JSON schemas (kubernetes-validate bundles them, so this
runs offline) and against the code: roles, probes, ports, variables and the placeholder secrets."""

from __future__ import annotations

import copy
import secrets
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from pydantic import ValidationError

from devstack.processes import Ports, service_env
from services.dashboard.settings import DashboardSettings
from tests.deploy.deploy_support import (
    ROLES,
    SECRET_FILE,
    SERVICE_SETTINGS,
    kubernetes_documents,
    role_command,
    unknown_variables,
)

# The Prometheus Operator's kinds (40-/41- files) are CRDs, which kubernetes-validate does not know:
# test_monitoring.py checks them against their own schema.
ALL_DOCS = kubernetes_documents()
DOCS = [(f, d) for f, d in ALL_DOCS if not d["apiVersion"].startswith("monitoring.coreos.com/")]
# The oldest Kubernetes still commonly run, and the newest schemas the validator bundles.
VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in DOCS if d["kind"] == kind}


def _config_env() -> dict[str, str]:
    (config,) = _kind("ConfigMap").values()
    (secret,) = _kind("Secret").values()
    return {**config["data"], **secret["stringData"]}


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in DOCS])
def test_every_manifest_is_valid_for_its_kind_strictly(name: str, doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_rejects_a_misspelled_field() -> None:
    deployment = copy.deepcopy(_kind("Deployment")["allocation"])
    container = _pod_spec(deployment)["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_each_service_and_worker_pool_has_a_deployment_autoscaler_and_disruption_budget() -> None:
    expected = {r.removesuffix("-api") for r in ROLES if r not in ("sandbox", "migrate")}
    deployments = _kind("Deployment")
    assert set(deployments) == expected
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in _kind("HorizontalPodAutoscaler").values()}
    assert hpas == expected
    # The autoscaler owns the replica count; one in the manifest would be reset on every apply.
    assert all("replicas" not in d["spec"] for d in deployments.values())
    for pdb in _kind("PodDisruptionBudget").values():
        selected = [d for d in deployments.values() if _selects(pdb["spec"]["selector"]["matchLabels"], d)]
        assert len(selected) == 1, pdb["metadata"]["name"]
    assert {p["metadata"]["name"] for p in _kind("PodDisruptionBudget").values()} == expected


def _selects(match: dict[str, str], workload: dict[str, Any]) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in match.items())


def test_every_container_runs_a_role_of_the_image_with_requests_and_limits() -> None:
    workloads = [*_kind("Deployment").values(), *_kind("Job").values()]
    for workload in workloads:
        spec = _pod_spec(workload)
        assert spec.get("enableServiceLinks") is False or workload["kind"] == "Job"
        assert workload["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            assert "command" not in container, "args only: the image's entrypoint maps the role"
            assert container["args"][0] in ROLES
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) == {"cpu", "memory"}
            env_from = {next(iter(e.values()))["name"] for e in container["envFrom"]}
            assert env_from == {"waybill-config", "waybill-secrets"}


def test_apis_are_probed_on_healthz_and_readyz_and_reachable_through_their_service() -> None:
    services = _kind("Service")
    config = _config_env()
    for name, deployment in _kind("Deployment").items():
        (container,) = _pod_spec(deployment)["containers"]
        role = container["args"][0]
        if role.endswith("-worker"):
            assert "readinessProbe" not in container
            continue
        argv = role_command(role, config)
        port = int(argv[argv.index("--port") + 1])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": port}, "the container port is the one uvicorn listens on"
        # The dashboard's /readyz asks the three services: one down must not empty its Service.
        ready = "/healthz" if role == "dashboard" else "/readyz"
        for probe, path in (("readinessProbe", ready), ("livenessProbe", "/healthz")):
            assert container[probe]["httpGet"]["path"] == path
            assert container[probe]["httpGet"]["port"] == "http"
        assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        service = services[name]
        assert _selects(service["spec"]["selector"], deployment)
        assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]


def test_workers_serve_their_metrics_on_the_annotated_port() -> None:
    """Each worker pod sets its service's WORKER_METRICS_PORT and is scraped there (runtime.worker)."""
    workers = {n: d for n, d in _kind("Deployment").items() if n.endswith("-worker")}
    assert len(workers) == len(SERVICE_SETTINGS)
    for name, deployment in workers.items():
        (container,) = _pod_spec(deployment)["containers"]
        service = name.removesuffix("-worker")
        env = {e["name"]: e["value"] for e in container["env"]}
        port = int(env[f"{service.upper()}_WORKER_METRICS_PORT"])
        assert port > 0
        # The worker binds loopback by default; Prometheus scrapes the pod from outside.
        assert env[f"{service.upper()}_WORKER_METRICS_HOST"] == "0.0.0.0"
        assert unknown_variables(env) == set()
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": port}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(port),
            "prometheus.io/path": "/metrics",
        }


def test_urls_between_services_name_existing_services_and_ports() -> None:
    services = {n: s["spec"]["ports"][0]["port"] for n, s in _kind("Service").items()}
    internal = {k: v for k, v in _config_env().items() if k.endswith("_URL") and ".svc" in v}
    calls = {
        "SHIPPING_ALLOCATION_URL",
        "SHIPPING_TRACKING_URL",
        "TRACKING_ALLOCATION_URL",
        "TRACKING_SHIPPING_URL",
        "ALLOCATION_SHIPPING_URL",
    }
    assert calls <= set(internal)
    for var, url in internal.items():
        parts = urlsplit(url)
        name, namespace = (parts.hostname or "").split(".")[:2]
        assert namespace == "waybill", var
        assert services[name] == parts.port, var


def test_config_and_secret_name_only_variables_the_services_read() -> None:
    assert unknown_variables(_config_env()) == set()


def test_config_sets_every_variable_make_run_wires_between_processes() -> None:
    """A process added to `make run` with its URLs and port (as the dashboard was) needs them here too;
    only the sandbox, which is not deployed, is left out."""
    wired = {k for k in service_env(Ports()) if not k.startswith("SANDBOX_")}
    assert wired <= set(_config_env())


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_the_placeholder_secrets_are_refused_in_production_and_real_ones_accepted(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _config_env()
    assert env["WAYBILL_ENVIRONMENT"] == "production"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings_cls = SERVICE_SETTINGS[service]
    with pytest.raises(ValidationError, match="real secret") as refused:
        settings_cls()
    # Every placeholder the process reads is named: the Secret's CHANGE-ME and the ConfigMap's your-... values.
    placeholders = {k for k, v in env.items() if v == "CHANGE-ME" or v.startswith("your-")}
    read = {k for k in placeholders if k.startswith(("WAYBILL_", f"{service.upper()}_"))}
    assert read >= {"WAYBILL_ADMIN_KEY", "WAYBILL_INTERNAL_KEY"}
    for key in read:
        assert key in str(refused.value)
    for key in placeholders:
        monkeypatch.setenv(key, secrets.token_urlsafe(32))
    assert settings_cls().environment == "production"


def test_the_placeholder_dashboard_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _config_env().items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match="real secret"):
        DashboardSettings()
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", secrets.token_urlsafe(32))
    assert DashboardSettings().cookie_secure is True


def test_the_migration_job_runs_once_and_does_not_restart_in_place() -> None:
    (job,) = _kind("Job").values()
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert _pod_spec(job)["containers"][0]["args"] == ["migrate"]


def test_the_secret_is_alone_in_its_file_apart_from_the_namespace_and_config() -> None:
    files = {f for f, d in ALL_DOCS if d["kind"] == "Secret"}
    assert files == {SECRET_FILE}
    assert [d["kind"] for f, d in ALL_DOCS if f == SECRET_FILE] == ["Secret"]
    assert {d["kind"] for f, d in ALL_DOCS if f == "00-namespace-config.yaml"} == {"Namespace", "ConfigMap"}


def test_core_manifests_and_the_operators_kinds_are_in_the_files_make_validate_deploy_gives_each_validator() -> None:
    """make validate-deploy runs kubernetes-validate on deploy/kubernetes/[0-3]*.yaml and the CRD schema on 4*.yaml."""
    for name, doc in ALL_DOCS:
        operator = doc["apiVersion"].startswith("monitoring.coreos.com/")
        assert name.startswith("4") == operator, name
        assert operator or name[0] in "0123", name


def test_the_dashboard_reads_its_session_redis_from_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign-in sessions live in Redis: the dashboard's pods get REDIS_URL, and its settings read it."""
    (dashboard,) = (d for d in _kind("Deployment").values() if d["metadata"]["name"] == "dashboard")
    sources = {ref.get("secretRef", {}).get("name") for ref in _pod_spec(dashboard)["containers"][0]["envFrom"]}
    (secret,) = _kind("Secret").values()
    assert secret["metadata"]["name"] in sources
    env = _config_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", secrets.token_urlsafe(32))
    assert DashboardSettings().redis_url == secret["stringData"]["REDIS_URL"]
