"""deploy/grafana/waybill-dashboard.json against what the services really expose on /metrics.

Each service's API is started in a fresh process (metrics_dump.py) and scraped; every metric name
and label the dashboard's queries use must be exported by one of them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.deploy.deploy_support import DASHBOARD, exported

# Metric names the dashboard uses that no process exports yet, tolerated only while listed here. Empty:
# shipping's and tracking's metrics modules are in, so every name is checked. (The series that move in a
# worker are declared in the same modules; each worker serves them on <SERVICE>_WORKER_METRICS_PORT.)
PENDING: set[str] = set()
# What issue 7 asks the dashboard to show, by the series that show it.
REQUIRED = {
    "waybill_allocations_total",  # allocation rate
    "waybill_pool_available",  # pool stock per carrier
    "waybill_purchases_total",
    "waybill_shipments_total",
    "waybill_marketplace_confirmations_total",  # by outcome
    "waybill_tracking_pushes_ingested_total",
    "waybill_tracking_pushes_processed_total",
    "waybill_tracking_queue_depth",
    "waybill_tracking_alerts_open",
    "http_request_duration_seconds_bucket",  # latency p50/p99 per route
}

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
_CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def references(expr: str) -> tuple[set[str], set[str]]:
    """The metric names and the label names a PromQL expression uses."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors, [$__rate_interval]
    labels: set[str] = set()
    for matchers in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    for _, names in _CLAUSE.findall(expr):
        labels |= {n.strip() for n in names.split(",") if n.strip()}
    expr = _CLAUSE.sub(" ", expr)
    expr = re.sub(r"\$\w+", " ", expr)  # Grafana variables
    names = {
        m.group(1)
        for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", expr)
        if m.group(1) not in _KEYWORDS and not re.fullmatch(r"[eE]\d*|Inf|NaN", m.group(1))
    }
    return names, labels


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, expression, legend) for every panel target and every query variable."""
    found: list[tuple[str, str, str]] = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"], target.get("legendFormat", "")))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            metric, label = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", var["definition"]).groups()  # type: ignore[union-attr]
            found.append((f"${var['name']}", f"sum by ({label}) ({metric})", ""))
    return found


def problems(dashboard: dict[str, Any], series: dict[str, set[str]], pending: set[str]) -> list[str]:
    found: list[str] = []
    for where, expr, legend in dashboard_queries(dashboard):
        names, labels = references(expr)
        known = {n for n in names if n in series}
        for name in names - known - pending:
            found.append(f"{where}: no service exports {name}")
        if known and names <= set(series):
            declared = set().union(*(series[n] for n in known))
            for label in (labels | set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))) - declared:
                found.append(f"{where}: {label} is not a label of {sorted(known)}")
    return found


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def test_reference_extraction_finds_metrics_and_labels_but_not_functions_or_variables() -> None:
    names, labels = references(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{service=~"$service",'
        ' status!="200"}[$__rate_interval]))) / on (route) max(waybill_pool_available offset 5m) > 1e3'
    )
    assert names == {"http_request_duration_seconds_bucket", "waybill_pool_available"}
    assert labels == {"le", "route", "service", "status"}


def test_every_metric_and_label_the_dashboard_uses_is_exported(dashboard: dict[str, Any]) -> None:
    assert problems(dashboard, exported(), PENDING) == []


def test_a_misspelled_metric_or_label_is_caught(dashboard: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(dashboard))
    targets = [t for p in broken["panels"] for t in p.get("targets", []) if "waybill_pool_available" in t["expr"]]
    targets[0]["expr"] = targets[0]["expr"].replace("waybill_pool_available", "waybill_pool_availabel")
    assert any("waybill_pool_availabel" in p for p in problems(broken, exported(), PENDING))
    targets[0]["expr"] = 'max by (carier) (waybill_pool_available{carrier=~"$carrier"})'
    assert any("carier is not a label" in p for p in problems(broken, exported(), PENDING))


def test_the_dashboard_shows_what_issue_7_asks_and_pending_names_are_all_used(dashboard: dict[str, Any]) -> None:
    used: set[str] = set()
    for _, expr, _ in dashboard_queries(dashboard):
        used |= references(expr)[0]
    assert used >= REQUIRED
    assert used >= PENDING, "a pending name the dashboard no longer uses: drop it from PENDING"
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for words in ("allocations", "stock", "purchases", "shipments", "confirmations", "pushes", "queue depth"):
        assert words in titles
    assert "p50" in titles
    assert "p99" in titles


def test_panels_use_the_dashboards_datasource_variable(dashboard: dict[str, Any]) -> None:
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]
