"""Every service's OpenAPI is the operators' console: each operation has a summary, a description, a tag,
request and response examples, and its error responses documented in the one error schema."""

from __future__ import annotations

import importlib
import typing
from typing import Any

import pytest

SERVICES = ["allocation", "shipping", "tracking"]
JSON = "application/json"


def _spec(service: str) -> dict[str, Any]:
    app = importlib.import_module(f"services.{service}.main").app
    spec: dict[str, Any] = app.openapi()
    return spec


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    # An optional body (`Model | None`) is anyOf [the model, null]: its example is the model's.
    refs = [s for s in schema.get("anyOf", []) if "$ref" in s]
    if len(refs) == 1:
        schema = refs[0]
    ref = schema.get("$ref")
    if ref:
        found: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return found
    return schema


def _has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = _resolve(spec, media.get("schema", {}))
    if "example" in schema or "examples" in schema:
        return True
    if schema.get("type") == "array":  # a list of documented models
        item = _resolve(spec, schema.get("items", {}))
        return "example" in item or "examples" in item
    return False


# The provider's push endpoint answers in the provider's own protocol (Kuaidi100 reads
# {"result", "returnCode", "message"} and repeats the push on anything else), so its refusals cannot
# use our error shape; there the documented protocol body, with an example, is what counts.
PROVIDER_PROTOCOL_PATHS = {"/webhooks/tracking/kuaidi100"}


def _in_error_schema(path: str, media: dict[str, Any]) -> bool:
    if media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] == "ErrorBody":
        return True
    return path in PROVIDER_PROTOCOL_PATHS and "example" in media


def _operations(service: str) -> list[tuple[str, str, dict[str, Any]]]:
    spec = _spec(service)
    return [
        (path, method, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_documented(service: str) -> None:
    spec = _spec(service)
    problems: list[str] = []
    for path, method, op in _operations(service):
        where = f"{method.upper()} {path}"
        for field in ("summary", "description", "tags"):
            if not op.get(field):
                problems.append(f"{where}: no {field}")
        body = op.get("requestBody", {}).get("content", {})
        if JSON in body and not _has_example(spec, body[JSON]):
            problems.append(f"{where}: request body without an example")
        for code, resp in op.get("responses", {}).items():
            content = resp.get("content", {})
            if (
                code.startswith("2")
                and JSON in content
                and content[JSON].get("schema")
                and not _has_example(spec, content[JSON])
            ):
                problems.append(f"{where}: {code} response without an example")
            if code[0] in "45" and JSON in content and not _in_error_schema(path, content[JSON]):
                problems.append(f"{where}: {code} not in the error schema")
        # Liveness takes no key and no input and touches no dependency: it answers 200 or not at all.
        if path != "/healthz" and not any(code[0] in "45" for code in op.get("responses", {})):
            problems.append(f"{where}: no documented error response")
    assert not problems, "\n".join(problems)


def _example_models(service: str) -> list[tuple[str, Any]]:
    """Every pydantic model the service's OpenAPI names that carries examples, by schema name."""
    from pydantic import BaseModel

    app = importlib.import_module(f"services.{service}.main").app
    found: dict[str, Any] = {}

    def visit(tp: Any) -> None:
        for arg in getattr(tp, "__args__", ()) or ():
            visit(arg)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp.__name__ not in found:
            found[tp.__name__] = tp
            for f in tp.model_fields.values():
                visit(f.annotation)

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router: its routes are inside
                walk(route.original_router.routes)
            elif getattr(route, "endpoint", None) is not None:
                for hint in typing.get_type_hints(route.endpoint).values():
                    visit(hint)

    walk(app.routes)
    return sorted((name, model) for name, model in found.items() if (model.model_config.get("json_schema_extra") or {}))


@pytest.mark.parametrize("service", SERVICES)
def test_examples_are_valid(service: str) -> None:
    """An example the model itself would reject misleads whoever copies it from /docs."""
    from pydantic import ValidationError

    problems: list[str] = []
    models = _example_models(service)
    assert models, "no documented models found"
    for name, model in models:
        # The examples as /docs shows them (a page's are built from its item model's).
        for example in model.model_json_schema().get("examples", []):
            try:
                model.model_validate(example)
            except ValidationError as exc:
                problems.append(f"{name}: {exc}")
    assert not problems, "\n".join(problems)
