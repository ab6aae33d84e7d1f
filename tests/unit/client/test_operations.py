"""The client against the OpenAPI documents: every public operation of the three services has a method of the
same HTTP method and path on both clients (a new route without one fails here), with the operation's
parameters, body and answer model, the retry rule the API guide gives it, and an ``iter_*`` helper when it
is a paged list."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from pydantic import BaseModel
from waybill_client import AsyncWaybillClient, WaybillClient, models
from waybill_client._endpoints import Endpoint, Pager
from waybill_client._operations import Operations
from waybill_client._spec import BODY, IDEMPOTENCY_KEY, Replay, snake_case

from tests.unit.client.support import documents, example, generator, public_operations

OPERATIONS = public_operations()
IDS = [op["operationId"] for *_, op in OPERATIONS]
ENDPOINTS: dict[str, Endpoint[Any, Any]] = {n: v for n, v in vars(Operations).items() if isinstance(v, Endpoint)}
PAGERS: dict[str, Pager[Any, Any]] = {n: v for n, v in vars(Operations).items() if isinstance(v, Pager)}
BY_ID = {e.operation.operation_id: e for e in ENDPOINTS.values()}

# The POSTs the API guide makes safe to repeat: keyed by the caller's Idempotency-Key, or by design (an
# allocation and a shipment by their order, an order by its external_id).
KEYED = {"createPurchase", "refundPurchase"}
BY_DESIGN = {"allocate", "allocateBatch", "createOrder", "shipOrder"}


def test_the_documents_have_public_operations() -> None:
    assert len(OPERATIONS) > 50
    assert {s for s, *_ in OPERATIONS} == {"allocation", "shipping", "tracking"}


def test_every_public_operation_has_a_method_and_no_method_lacks_one() -> None:
    spec = {op["operationId"]: (service, method, path) for service, method, path, op in OPERATIONS}
    client = {i: (e.operation.service, e.operation.method, e.operation.path) for i, e in BY_ID.items()}
    assert sorted(set(spec) - set(client)) == [], "operations without a client method (_operations.py)"
    assert sorted(set(client) - set(spec)) == [], "client methods of no public operation"
    assert {i: c for i, c in client.items() if spec[i] != c} == {}, "method, service or path differs"


def test_the_internal_webhook_and_health_operations_are_left_out() -> None:
    left_out = {
        op["operationId"]
        for doc in documents().values()
        for path, ops in doc["paths"].items()
        if not generator().is_public(path)
        for op in ops.values()
    }
    assert {"introspectKey", "applyTrackingUpdate", "receiveKuaidi100Push", "allocationLiveness"} <= left_out
    assert left_out.isdisjoint(BY_ID)


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_the_method_is_named_after_the_operation_id(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    name = snake_case(op["operationId"])
    assert name in ENDPOINTS, name
    assert ENDPOINTS[name].operation.operation_id == op["operationId"]
    for client in (WaybillClient, AsyncWaybillClient):
        assert getattr(client, name) is ENDPOINTS[name]


def _parameters(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The operation's parameters as the client's signature names them (deprecated ones are left out)."""
    out = {}
    for p in op.get("parameters", []):
        if p.get("deprecated"):
            continue
        name = IDEMPOTENCY_KEY if p["name"] == "Idempotency-Key" else p["name"]
        out[name] = p
    return out


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_the_method_takes_the_operations_parameters(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    signature = BY_ID[op["operationId"]].signature
    params = _parameters(op)
    expected = set(params) | ({BODY} if "requestBody" in op else set())
    assert set(signature.parameters) == expected
    for name, p in params.items():
        required = signature.parameters[name].default is inspect.Parameter.empty
        # A required Idempotency-Key is made by the client when the caller gives none.
        assert required == (bool(p.get("required")) and name != IDEMPOTENCY_KEY), name
    if "requestBody" in op:
        body_required = signature.parameters[BODY].default is inspect.Parameter.empty
        assert body_required == bool(op["requestBody"].get("required")), "body"


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    codes = sorted(c for c in op["responses"] if c.startswith("2"))
    answer = op["responses"][codes[0]]
    return codes[0], answer.get("content", {})


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_the_method_answers_the_operations_model(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    answer = BY_ID[op["operationId"]].operation.answer
    code, content = _success(op)
    if code == "204":
        assert answer is None
        return
    if content.keys() & {"application/pdf", "application/zpl"}:  # a label file, PDF or ZPL
        assert answer is bytes
        return
    ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert answer is getattr(models, re.sub(r"[^A-Za-z0-9]", "", ref))
    assert isinstance(answer, type)
    assert issubclass(answer, BaseModel)
    if "examples" in generator().merged(documents())["components"]["schemas"][ref]:
        answer.model_validate(example(ref))  # the generated model reads what the API documents


@pytest.mark.parametrize(("service", "method", "path", "op"), OPERATIONS, ids=IDS)
def test_only_calls_safe_to_repeat_are_retried(service: str, method: str, path: str, op: dict[str, Any]) -> None:
    replay = BY_ID[op["operationId"]].operation.replay
    if method in {"GET", "PUT", "DELETE"}:
        assert replay is Replay.SAFE
    elif op["operationId"] in KEYED:
        assert replay is Replay.KEYED
    elif op["operationId"] in BY_DESIGN:
        assert replay is Replay.BY_DESIGN
    else:
        assert replay is Replay.NEVER
    takes_key = any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    assert takes_key == (replay is Replay.KEYED)


def test_every_paged_list_has_an_iterator() -> None:
    paged = {e.stub.__name__ for e in ENDPOINTS.values() if "cursor" in e.signature.parameters}
    assert len(paged) >= 9
    assert {f"iter_{name.removeprefix('list_')}": name for name in paged} == {
        name: pager.endpoint.stub.__name__ for name, pager in PAGERS.items()
    }
