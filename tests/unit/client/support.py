"""What the client's tests share: the three OpenAPI documents (read off the apps, no server), their public
operations (the rule of clients/python/generate.py), the documented example of a schema, and the clients
under test pointed at three fake service URLs."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from waybill_client import AsyncWaybillClient, WaybillClient

ROOT = Path(__file__).resolve().parents[3]
GENERATE = ROOT / "clients" / "python" / "generate.py"
URLS = {
    "allocation": "http://allocation.test",
    "shipping": "http://shipping.test",
    "tracking": "http://tracking.test",
}
KEY = "wbk_k1_secret"


@cache
def generator() -> ModuleType:
    """clients/python/generate.py, loaded by its path (it is a script, not a module of the package)."""
    spec = importlib.util.spec_from_file_location("waybill_client_generate", GENERATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def documents() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = generator().documents()
    return docs


def public_operations() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(service, METHOD, path, operation) of every operation the client must have."""
    is_public = generator().is_public
    return [
        (service, method.upper(), path, op)
        for service, doc in documents().items()
        for path, ops in doc["paths"].items()
        if is_public(path)
        for method, op in ops.items()
    ]


def schema(name: str) -> dict[str, Any]:
    for doc in documents().values():
        found = doc["components"]["schemas"].get(name)
        if found is not None:
            return dict(found)
    raise KeyError(name)


def _resolve(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a (sub)schema may be: through ``$ref`` and ``anyOf``."""
    if "$ref" in node:
        return _resolve(schema(node["$ref"].rsplit("/", 1)[-1]))
    if "anyOf" in node:
        return [s for branch in node["anyOf"] for s in _resolve(branch)]
    return [node]


def _nullable(node: dict[str, Any]) -> bool:
    return any(s.get("type") == "null" for s in _resolve(node))


def _with_nulls(value: Any, node: dict[str, Any]) -> Any:
    """``value`` with the nulls FastAPI drops from documented examples (it writes the document with
    ``exclude_none``) put back: a required nullable field the answers always carry."""
    for option in _resolve(node):
        if isinstance(value, dict) and "properties" in option:
            props = option["properties"]
            out = {k: _with_nulls(v, props[k]) if k in props else v for k, v in value.items()}
            for name in option.get("required", []):
                if name not in out and _nullable(props[name]):
                    out[name] = None
            return out
        if isinstance(value, list) and "items" in option:
            return [_with_nulls(v, option["items"]) for v in value]
    return value


def example(name: str, **changes: Any) -> dict[str, Any]:
    """The first documented example of schema ``name``, as the API answers it (nulls included), with
    ``changes``."""
    found: dict[str, Any] = _with_nulls(schema(name)["examples"][0], schema(name))
    return {**found, **changes}


def page(item_schema: str, items: int, next_cursor: str | None) -> dict[str, Any]:
    """One page of ``items`` copies of the schema's example."""
    return {
        "data": [example(item_schema) for _ in range(items)],
        "has_more": next_cursor is not None,
        "next_cursor": next_cursor,
    }


def error(code: str, message: str = "refused", request_id: str = "req-1", **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details, "request_id": request_id}}


def sync_client(**options: Any) -> WaybillClient:
    """A client of the three fake service URLs, with the shop key."""
    return WaybillClient(
        KEY, allocation_url=URLS["allocation"], shipping_url=URLS["shipping"], tracking_url=URLS["tracking"], **options
    )


def async_client(**options: Any) -> AsyncWaybillClient:
    return AsyncWaybillClient(
        KEY, allocation_url=URLS["allocation"], shipping_url=URLS["shipping"], tracking_url=URLS["tracking"], **options
    )
