"""The API convention, enforced on every route of the three services, so a new route cannot drift from it:
short verb-first operation ids unique across the services, every status a route answers on purpose
declared (the 200 replay of an idempotent POST included), the auth, validation and not-found answers
declared where they can happen, errors in the one error schema, and a 401 that names its scheme.
(`tests/fuzz` checks the same declarations against real answers.)"""

from __future__ import annotations

import importlib
import inspect
import re
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

SERVICES = ["allocation", "shipping", "tracking"]
VERBS = {
    "get", "list", "create", "add", "update", "put", "cancel", "disable", "revoke", "register", "release",
    "mark", "allocate", "ship", "resync", "refund", "extend", "top", "introspect", "receive", "apply",
    "acknowledge", "resend", "bind", "unbind", "void", "change",
}  # fmt: skip
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*([A-Z][a-z0-9]*)*$")
# Answers in the sender's own protocol (a marketplace's, a tracking provider's), not in ours.
PROVIDER_CALLBACKS = ("/webhooks/",)
HEALTH = ("/healthz", "/readyz")
STATUS_IN_CODE = re.compile(r"status\.HTTP_(\d{3})_|status_code\s*=\s*(\d{3})")


def _app(service: str) -> FastAPI:
    app: FastAPI = importlib.import_module(f"services.{service}.main").app
    return app


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, through included routers (FastAPI keeps those as included-router
    entries, not as copies of their routes)."""
    out: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append((prefix + route.path_format, route))
        elif hasattr(route, "original_router"):
            out += _api_routes(route.original_router.routes, prefix + route.include_context.prefix)
    return out


def _operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    out = []
    for service in SERVICES:
        for path, ops in _app(service).openapi()["paths"].items():
            for method, op in ops.items():
                out.append((service, method.upper(), path, op))
    return out


OPERATIONS = _operations()
IDS = [f"{s} {m} {p}" for s, m, p, _ in OPERATIONS]


def test_operation_ids_are_unique_across_the_services() -> None:
    counts = Counter(op["operationId"] for *_, op in OPERATIONS)
    assert [i for i, n in counts.items() if n > 1] == []


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_operation_id_is_a_short_verb_phrase(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    op_id = op["operationId"]
    assert OPERATION_ID.match(op_id), f"{op_id}: camelCase"
    if path in HEALTH:
        assert op_id in {f"{service}Liveness", f"{service}Readiness"}
        return
    verb = re.match(r"[a-z]+", op_id)
    assert verb is not None
    assert verb.group() in VERBS, f"{op_id}: starts with a verb ({sorted(VERBS)})"
    assert len(re.findall(r"[A-Z]", op_id)) <= 3, f"{op_id}: short"


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_the_answers_a_route_can_give_are_declared(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    declared = set(op["responses"])
    if path in HEALTH:
        return
    if op.get("security"):
        assert "401" in declared, "a route that needs a key declares 401"
        assert "429" in declared, "a route behind the key's rate limit declares 429"
    if op.get("parameters") or op.get("requestBody"):
        assert "422" in declared, "a route that reads input declares 422"
    if "{" in path and not path.startswith(PROVIDER_CALLBACKS):
        assert "404" in declared, "a route that names a resource declares 404"
    if method in {"POST", "PUT", "PATCH"}:
        assert declared & {"200", "201", "202", "204"}, "a success is declared"


@pytest.mark.parametrize("service", SERVICES)
def test_every_status_a_route_sets_is_declared(service: str) -> None:
    """A route that answers another status than its default (a 200 replay of an idempotent POST, a 204)
    declares it: read off the route function itself."""
    app = _app(service)
    spec = app.openapi()["paths"]
    missing = []
    routes = _api_routes(app.routes)
    assert len(routes) > 10
    for path, route in routes:
        if not route.include_in_schema:
            continue
        source = inspect.getsource(route.endpoint)
        used = {int(a or b) for a, b in STATUS_IN_CODE.findall(source)}
        if route.status_code is not None:
            used.add(route.status_code)
        for method in route.methods or ():
            declared = {int(c) for c in spec[path][method.lower()]["responses"]}
            missing += [f"{method} {path}: {c}" for c in sorted(used - declared)]
    assert missing == []


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_errors_are_in_the_one_error_shape(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    if path.startswith(PROVIDER_CALLBACKS):
        return
    for code, answer in op["responses"].items():
        if int(code) < 400:
            continue
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{code}: {schema}"
        if code == "401":
            assert "WWW-Authenticate" in answer.get("headers", {}), "a 401 names the scheme that would succeed"


# Lists short by nature, answered whole (in the page shape, has_more false): a shop's pools and carriers
# (one per carrier), an order's events and carrier options, its webhook endpoints (at most a few) and its
# alert settings (one per carrier).
WHOLE_LISTS = {
    "listPools", "listCarriers", "listOrderEvents", "listCarrierOptions", "listWebhookEndpoints",
    "getAlertSettings", "listShopPrices",
}  # fmt: skip


def _success_schema(op: dict[str, Any]) -> dict[str, Any]:
    ok = op["responses"].get("200", {}).get("content", {}).get("application/json", {})
    schema: dict[str, Any] = ok.get("schema", {})
    return schema


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_lists_answer_one_page_shape(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    schema = _success_schema(op)
    assert schema.get("type") != "array", "a list answers {data, has_more, next_cursor}, not a bare array"
    ref = schema.get("$ref", "")
    if not ref.startswith("#/components/schemas/Page_"):
        assert op["operationId"] not in WHOLE_LISTS
        return
    page = _app(service).openapi()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(page["properties"]) == {"data", "has_more", "next_cursor"}
    params = {p["name"]: p for p in op.get("parameters", [])}
    if op["operationId"] in WHOLE_LISTS:
        assert "cursor" not in params
        return
    assert method == "GET"
    assert {"limit", "cursor"} <= set(params), "a paged list takes limit and cursor"
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] <= 10_000
    for name in set(params) & {"offset", "after", "before_id"}:
        assert params[name].get("deprecated"), f"{name}: the paging of 0.1, deprecated until 0.3.0"


def test_every_list_kind_is_covered() -> None:
    ids = {op["operationId"] for *_, op in OPERATIONS}
    assert ids >= WHOLE_LISTS
    paged = {op["operationId"] for *_, op in OPERATIONS if "cursor" in {p["name"] for p in op.get("parameters", [])}}
    assert paged >= {
        "listPurchases", "listStockEvents", "listShops", "listOrders", "listShipments", "listBatches",
        "listBatchItems", "listWebhookDeliveries", "listAlerts",
    }  # fmt: skip


def test_the_error_body_carries_the_request_id() -> None:
    schema = _app("allocation").openapi()["components"]["schemas"]["ErrorDetail"]
    assert "request_id" in schema["properties"]
