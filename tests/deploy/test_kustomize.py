"""deploy/kubernetes/kustomization.yaml: it lists every manifest (but the Secret), sets the image tag in one place,
and names the migration Job after the release. kubectl (with its built-in kustomize) renders it where installed;
elsewhere the rendering computed by deploy_support stands in, and is compared with kubectl's where both exist."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.deploy_support import (
    KUBERNETES,
    KUSTOMIZATION,
    SECRET_FILE,
    kubectl_kustomize,
    kubernetes_documents,
    kustomization,
    kustomize_build,
    release_tag,
)

# A Job's name is also its pods' job-name label value: a DNS label of at most 63 characters.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
JOB_BASE = "waybill-migrate"


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    return containers


def test_it_is_a_kustomization_with_only_the_fields_used_here() -> None:
    config = kustomization()
    assert config["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert config["kind"] == "Kustomization"
    assert set(config) == {"apiVersion", "kind", "resources", "images", "replacements"}


def test_every_manifest_but_the_secret_is_listed_and_every_listed_one_exists() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    for resource in listed:
        assert (KUBERNETES / resource).is_file(), resource
    manifests = {p.name for p in KUBERNETES.iterdir() if p.suffix in (".yaml", ".yml") and p != KUSTOMIZATION}
    # Listed, every release would put the Secret's placeholders back over the real values.
    assert set(listed) == manifests - {SECRET_FILE}
    assert {d["kind"] for f, d in kubernetes_documents() if f in listed} >= {"Namespace", "ConfigMap", "Job"}
    assert "Secret" not in {d["kind"] for f, d in kubernetes_documents() if f in listed}


def test_the_image_tag_is_set_in_the_kustomization_and_nowhere_else() -> None:
    (image,) = kustomization()["images"]
    assert set(image) == {"name", "newTag"}
    assert ":" not in image["name"], "the Job's name reads the tag after the image's one ':'"
    images = {c["image"] for _, d in kubernetes_documents() for c in _containers(d)}
    assert images == {f"{image['name']}:VERSION"}, "every manifest names the image; only the kustomization tags it"
    tag = release_tag()
    assert DNS_LABEL.match(tag), f"the tag {tag!r} also names the migration Job: lowercase, digits, '.', '-'"
    assert len(f"{JOB_BASE}-{tag}") <= 63


def test_the_migration_job_is_named_after_the_release() -> None:
    (replacement,) = kustomization()["replacements"]
    source, (target,) = replacement["source"], replacement["targets"]
    assert (source["kind"], source["name"]) == ("Job", JOB_BASE)
    assert source["fieldPath"] == "spec.template.spec.containers.[name=migrate].image"
    assert source["options"] == {"delimiter": ":", "index": 1}
    assert target["select"] == {"kind": "Job", "name": JOB_BASE}
    assert target["fieldPaths"] == ["metadata.name"]
    # Index 2 of "waybill-migrate" split on '-' is past its end: kustomize appends "-<tag>".
    assert target["options"] == {"delimiter": "-", "index": len(JOB_BASE.split("-"))}
    (job,) = (d for _, d in kubernetes_documents() if d["kind"] == "Job")
    assert job["metadata"]["name"] == JOB_BASE
    assert [c["name"] for c in _containers(job)] == ["migrate"]
    for tag in (release_tag(), "1.4.2", "3f2a9c1"):
        (rendered,) = (d for d in kustomize_build(tag) if d["kind"] == "Job")
        assert rendered["metadata"]["name"] == f"{JOB_BASE}-{tag}"
        assert {c["image"].rsplit(":", 1)[1] for c in _containers(rendered)} == {tag}


def test_the_rendered_release_is_valid_kubernetes() -> None:
    for doc in kustomize_build():
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # test_monitoring.py
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
        assert DNS_LABEL.match(doc["metadata"]["name"]), doc["metadata"]["name"]


def _canonical(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(d, sort_keys=True) for d in docs)


def test_kubectl_renders_the_same_release(tmp_path: Path) -> None:
    rendered = kubectl_kustomize()
    if rendered is None:
        pytest.skip("kubectl is not installed: the rendering above stands in for it")
    assert _canonical(rendered) == _canonical(kustomize_build())
    # A new tag, set in the one place, renames the Job and retags every container.
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUBERNETES, copy)
    config = kustomization()
    config["images"][0]["newTag"] = "2.0.1"
    (copy / "kustomization.yaml").write_text(yaml.safe_dump(config))
    again = kubectl_kustomize(copy)
    assert again is not None
    assert _canonical(again) == _canonical(kustomize_build("2.0.1"))
