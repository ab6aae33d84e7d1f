"""The Prometheus Operator's objects in deploy/kubernetes (40-servicemonitor, 40-podmonitor, 41-prometheusrule):
against the minimal schema of tests/deploy/schemas (kubernetes-validate knows no CRDs), against the
Services and pods they must scrape, and, for the alerts, against what the services really export: every
expression is parsed as PromQL (promql-parser), and every metric, label and label value it uses must exist."""

from __future__ import annotations

import ast
import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import promql_parser as promql
import pytest

from tests.deploy.deploy_support import ROOT, exported, known_variables, kubernetes_documents

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "prometheus-operator.json").read_text())
DOCS = kubernetes_documents()
OPERATOR = [(f, d) for f, d in DOCS if d["apiVersion"].startswith("monitoring.coreos.com/")]
# Labels Prometheus gives every series of a target it found through a ServiceMonitor or a PodMonitor (the
# service label is the request histogram's own: the ServiceMonitor honours it), and its own series.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container", "endpoint", "service"}
SYNTHETIC = {"up": set[str]()}
# What the operators' issue asks the alerts to cover, by the alerts that cover it.
REQUIRED = {
    "error rate": {"WaybillHighErrorRate"},
    "queue age": {"WaybillTrackingQueueOld"},
    "outbox age": {"WaybillJobsHeldInOutbox"},
    "low stock across shops": {"WaybillStockLow", "WaybillStockExhausted"},
    "provider refusals": {
        "WaybillMarketplaceRefusingConfirmations",
        "WaybillCourierPurchasesFailing",
        "WaybillTrackingProviderRefusingQueries",
        "WaybillTrackingPushesRefused",
    },
}


def _one(kind: str) -> dict[str, Any]:
    (doc,) = (d for _, d in OPERATOR if d["kind"] == kind)
    return doc


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for _, d in DOCS if d["kind"] == kind]


def _errors(doc: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def _alerts() -> list[dict[str, Any]]:
    return [rule for group in _one("PrometheusRule")["spec"]["groups"] for rule in group["rules"]]


# ---- schema -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "doc"), OPERATOR, ids=[f"{f}:{d['kind']}" for f, d in OPERATOR])
def test_each_operator_object_follows_the_schema(name: str, doc: dict[str, Any]) -> None:
    assert _errors(doc) == []


def test_each_kind_is_present_once_and_alone_in_its_file() -> None:
    assert sorted(d["kind"] for _, d in OPERATOR) == ["PodMonitor", "PrometheusRule", "ServiceMonitor"]
    # One document per file: check-jsonschema (make validate-deploy) reads a single document.
    files = [f for f, _ in OPERATOR]
    assert len(files) == len(set(files))


def test_the_schema_rejects_a_misspelled_field_a_bad_duration_and_a_rule_without_alert_or_record() -> None:
    monitor = copy.deepcopy(_one("ServiceMonitor"))
    monitor["spec"]["endpionts"] = monitor["spec"].pop("endpoints")
    assert _errors(monitor)
    rule = copy.deepcopy(_one("PrometheusRule"))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "5 minutes"
    assert _errors(rule)
    rule = copy.deepcopy(_one("PrometheusRule"))
    del rule["spec"]["groups"][0]["rules"][0]["alert"]
    assert _errors(rule)
    pods = copy.deepcopy(_one("PodMonitor"))
    pods["spec"]["podMetricsEndpoints"][0]["prot"] = "metrics"
    assert _errors(pods)


# ---- what is scraped ----------------------------------------------------------------------------


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_the_service_monitor_scrapes_every_service_on_its_http_port() -> None:
    monitor = _one("ServiceMonitor")
    namespace = monitor["spec"]["namespaceSelector"]["matchNames"]
    services = _of_kind("Service")
    assert {s["metadata"]["namespace"] for s in services} == set(namespace)
    selected = [s for s in services if _selected(monitor["spec"]["selector"], s["metadata"]["labels"])]
    assert {s["metadata"]["name"] for s in selected} == {"allocation", "shipping", "tracking", "dashboard"}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["path"] == "/metrics"
        assert endpoint["honorLabels"] is True, "the histogram's own service label, not exported_service"
        for service in selected:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}, service["metadata"]["name"]


def test_the_pod_monitor_scrapes_every_worker_on_its_metrics_port_and_nothing_else() -> None:
    monitor = _one("PodMonitor")
    selected = [
        d
        for d in _of_kind("Deployment")
        if _selected(monitor["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
    ]
    assert {d["metadata"]["name"] for d in selected} == {"allocation-worker", "shipping-worker", "tracking-worker"}
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        assert endpoint["path"] == "/metrics"
        for deployment in selected:
            ports = {p["name"] for c in deployment["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
            assert endpoint["port"] in ports, deployment["metadata"]["name"]


def test_operator_objects_live_in_the_namespace_and_carry_the_part_of_label() -> None:
    for _, doc in OPERATOR:
        assert doc["metadata"]["namespace"] == "waybill"
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "waybill"


# ---- the alerts against the code ----------------------------------------------------------------


@cache
def code_strings() -> frozenset[str]:
    """Every string literal of the shipped code: the label values the services can set are among them."""
    found: set[str] = set()
    for package in ("runtime", "services", "shared"):
        for path in (ROOT / package).rglob("*.py"):
            if "sandbox" in path.relative_to(ROOT).parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return frozenset(found)


def _labels_of(name: str | None, series: dict[str, set[str]]) -> set[str]:
    if name is None:
        return TARGET_LABELS
    return SYNTHETIC[name] | TARGET_LABELS if name in SYNTHETIC else series.get(name, set()) | TARGET_LABELS


def output_labels(node: Any, series: dict[str, set[str]]) -> set[str] | None:
    """The labels the series of an expression carry (None for a scalar), as far as the alerts need it."""
    if isinstance(node, promql.VectorSelector):
        return _labels_of(node.name, series)
    if isinstance(node, promql.MatrixSelector):
        return output_labels(node.vector_selector, series)
    if isinstance(node, promql.AggregateExpr):
        inner = output_labels(node.expr, series) or set()
        if node.modifier is None:
            return set()
        if node.modifier.type == promql.AggModifierType.By:
            return set(node.modifier.labels)
        return inner - set(node.modifier.labels)
    if isinstance(node, promql.Call):
        found = [output_labels(a, series) for a in node.args]
        vectors = [f for f in found if f is not None]
        return vectors[0] if vectors else None
    if isinstance(node, promql.BinaryExpr):
        lhs, rhs = output_labels(node.lhs, series), output_labels(node.rhs, series)
        if lhs is None or rhs is None:
            return lhs if rhs is None else rhs
        modifier = node.modifier
        if (
            modifier is not None
            and modifier.matching is not None
            and modifier.card.name == "OneToOne"
            and modifier.matching.type == promql.LabelModifierType.Include
        ):
            return set(modifier.matching.labels)
        return lhs
    if isinstance(node, promql.ParenExpr | promql.UnaryExpr | promql.SubqueryExpr):
        return output_labels(node.expr, series)
    return None


def expression_problems(name: str, expr: str, series: dict[str, set[str]]) -> list[str]:
    try:
        tree = promql.parse(expr)
    except ValueError as exc:
        return [f"{name}: not PromQL: {exc}"]
    found: list[str] = []
    strings = code_strings()

    def visit(node: Any) -> None:
        if isinstance(node, promql.VectorSelector):
            if node.name not in series and node.name not in SYNTHETIC:
                found.append(f"{name}: no service exports {node.name}")
                return
            declared = _labels_of(node.name, series)
            for matcher in node.matchers.matchers:
                if matcher.name not in declared:
                    found.append(f"{name}: {matcher.name} is not a label of {node.name}")
                elif matcher.name == "namespace":
                    if matcher.value != "waybill":
                        found.append(f"{name}: namespace {matcher.value!r} is not waybill's")
                elif matcher.name not in TARGET_LABELS and matcher.op in (promql.MatchOp.Equal, promql.MatchOp.Re):
                    values = matcher.value.split("|") if matcher.op == promql.MatchOp.Re else [matcher.value]
                    for value in values:
                        if re.fullmatch(r"\w+", value) and value not in strings:
                            found.append(f"{name}: no service sets {matcher.name}={value!r} on {node.name}")
        if isinstance(node, promql.AggregateExpr) and node.modifier is not None:
            inner = output_labels(node.expr, series) or set()
            for label in set(node.modifier.labels) - inner:
                found.append(f"{name}: {label} is not a label of what it aggregates")

    promql.walk(tree, visit)
    return found


def rule_problems(rule: dict[str, Any], series: dict[str, set[str]]) -> list[str]:
    name = rule["alert"]
    found = expression_problems(name, rule["expr"], series)
    if found:
        return found
    labels = output_labels(promql.parse(rule["expr"]), series) or set()
    text = " ".join(rule["annotations"].values())
    for label in re.findall(r"\$labels\.(\w+)", text):
        if label not in labels:
            found.append(f"{name}: the annotations use $labels.{label}, which the alert's series do not carry")
    for metric in re.findall(r"\bwaybill_\w+", text):
        if metric not in series:
            found.append(f"{name}: the annotations name {metric}, which no service exports")
    for variable in re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", text):
        if variable not in known_variables():
            found.append(f"{name}: the annotations name {variable}, which no process reads")
    return found


def test_every_alert_uses_only_what_the_services_export() -> None:
    series = exported()
    assert [p for rule in _alerts() for p in rule_problems(rule, series)] == []


def test_a_misspelled_metric_label_or_value_in_an_alert_is_caught() -> None:
    series = exported()
    base = {"alert": "X", "annotations": {"summary": "s"}}
    assert rule_problems({**base, "expr": "max(waybill_tracking_oldest_waitng_seconds) > 1"}, series)
    assert rule_problems({**base, "expr": "sum by (carier) (waybill_pool_available) < 1"}, series)
    assert rule_problems(
        {**base, "expr": 'sum(rate(waybill_tracking_polls_total{outcome="refused_by"}[5m])) > 0'}, series
    )
    assert rule_problems({**base, "expr": "sum(rate(waybill_purchases_total[5m]) > 0"}, series)
    labelled = {**base, "annotations": {"summary": "{{ $labels.carrier }}"}}
    assert rule_problems({**labelled, "expr": "sum(waybill_pool_available) < 1"}, series)
    assert rule_problems({"alert": "X", "annotations": {"summary": "TRACKING_NO_SUCH_S"}, "expr": "up == 0"}, series)
    assert rule_problems({**base, "expr": 'up{namespace="other"} == 0'}, series) != []


def test_the_alerts_cover_what_operators_need_and_each_says_how_bad_and_what_to_do() -> None:
    names = [rule["alert"] for rule in _alerts()]
    assert len(names) == len(set(names))
    for need, alerts in REQUIRED.items():
        assert alerts <= set(names), need
    for rule in _alerts():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


def test_the_error_rate_alert_is_the_5xx_ratio_per_service_from_the_latency_histogram() -> None:
    (rule,) = (r for r in _alerts() if r["alert"] == "WaybillHighErrorRate")
    tree = promql.parse(rule["expr"])
    selectors: list[Any] = []
    promql.walk(tree, lambda n: selectors.append(n) if isinstance(n, promql.VectorSelector) else None)
    assert {s.name for s in selectors} == {"http_request_duration_seconds_count"}
    statuses = [m for s in selectors for m in s.matchers.matchers if m.name == "status"]
    assert [(m.op, m.value) for m in statuses] == [(promql.MatchOp.Re, "5..")]
    assert output_labels(tree, exported()) == {"service"}
    assert "status" in exported()["http_request_duration_seconds_count"]
