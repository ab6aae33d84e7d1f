"""Every integer query or path parameter of the three services is bounded: a number beyond PostgreSQL's
bigint, a float spelling or a negative one answers 422 naming the parameter, before any query runs, and the
largest accepted value does not fail (runtime/params.py). The parameters come from each app's route table, so a
route added tomorrow is walked tomorrow."""

from __future__ import annotations

import enum
import types
import typing
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import annotated_types
import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic.fields import FieldInfo

from tests.route_table import access_of
from tests.support import ADMIN_KEY, INTERNAL_KEY, Env, app_client, bearer

SERVICES = ("allocation", "shipping", "tracking")
# Beyond bigint (and int64), a float spelling of one, bigint's successor, and below zero.
HUGE = ("99999999999999999999", "1e19", str(2**63), "-1")
# Parameters the walk must find: without them it would pass by finding nothing.
EXPECTED = {
    ("shipping", "GET", "/v1/orders", "offset"),
    ("shipping", "GET", "/v1/shipment-batches/{batch_id}", "offset"),
    ("shipping", "GET", "/v1/orders", "limit"),
    ("tracking", "GET", "/v1/alerts", "before_id"),
    ("tracking", "POST", "/v1/alerts/{alert_id}/ack", "alert_id"),
    ("allocation", "GET", "/v1/balance", "limit"),
}


@dataclass(frozen=True)
class IntParam:
    service: str
    method: str
    path: str
    name: str
    where: str  # "query" or "path"
    maximum: int | None

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path} {self.where}:{self.name}"


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return int in typing.get_args(annotation)
    return False


def _maximum(info: FieldInfo) -> int | None:
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Le):
            bound = meta.le
            assert isinstance(bound, int)
            return bound
    return None


def _params(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for field in dependant.query_params:
        yield "query", field
    for field in dependant.path_params:
        yield "path", field
    for sub in dependant.dependencies:
        yield from _params(sub)


def _routes(service: str, app: FastAPI) -> Iterator[tuple[APIRoute, str]]:
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            yield route, ctx.path_format or route.path_format


def _int_params(service: str, app: FastAPI) -> list[IntParam]:
    found = []
    for route, path in _routes(service, app):
        for where, field in _params(route.dependant):
            if _is_int(field.field_info.annotation):
                for method in sorted(route.methods or ()):
                    found.append(IntParam(service, method, path, field.alias, where, _maximum(field.field_info)))
    return found


def _path_value(annotation: Any) -> str:
    """A well-formed value for a path parameter that is not the one under test."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str(next(iter(annotation)).value)
    if annotation is uuid.UUID:
        return str(uuid.uuid4())
    if _is_int(annotation):
        return "1"
    return "walk-1"


def _url(app: FastAPI, param: IntParam, value: str) -> str:
    route = next(r for r, p in _routes(param.service, app) if p == param.path and param.method in (r.methods or ()))
    path = param.path
    for where, field in _params(route.dependant):
        if where == "path":
            filled = value if field.alias == param.name else _path_value(field.field_info.annotation)
            path = path.replace("{" + field.alias + "}", filled)
    return path + (f"?{param.name}={value}" if param.where == "query" else "")


def _headers(app: FastAPI, param: IntParam) -> dict[str, str]:
    route = next(r for r, p in _routes(param.service, app) if p == param.path and param.method in (r.methods or ()))
    access = access_of(route)
    if access in ("admin", "any_key"):
        return bearer(ADMIN_KEY)
    if access in ("internal", "shop"):
        return bearer(INTERNAL_KEY, "s-integer-walk")
    return {}


@pytest.fixture(scope="module")
async def apps(env: Env) -> AsyncIterator[dict[str, tuple[FastAPI, httpx.AsyncClient]]]:
    from services.allocation.main import create_app as allocation_app
    from services.allocation.settings import AllocationSettings
    from services.shipping.main import create_app as shipping_app
    from services.shipping.settings import ShippingSettings
    from services.tracking.main import create_app as tracking_app
    from services.tracking.settings import TrackingSettings

    built = {
        "allocation": allocation_app(AllocationSettings()),
        "shipping": shipping_app(ShippingSettings()),
        "tracking": tracking_app(TrackingSettings()),
    }
    async with (
        app_client(built["allocation"], raise_app_exceptions=False) as allocation,
        app_client(built["shipping"], raise_app_exceptions=False) as shipping,
        app_client(built["tracking"], raise_app_exceptions=False) as tracking,
    ):
        clients = {"allocation": allocation, "shipping": shipping, "tracking": tracking}
        yield {s: (built[s], clients[s]) for s in SERVICES}


async def test_every_integer_parameter_refuses_huge_and_negative_numbers_with_422(
    apps: dict[str, tuple[FastAPI, httpx.AsyncClient]],
) -> None:
    params = [p for s in SERVICES for p in _int_params(s, apps[s][0])]
    assert {(p.service, p.method, p.path, p.name) for p in params} >= EXPECTED
    for param in params:
        assert param.maximum is not None, f"{param} has no upper bound"
        app, client = apps[param.service]
        for value in HUGE:
            resp = await client.request(param.method, _url(app, param, value), headers=_headers(app, param))
            assert resp.status_code == 422, f"{param}={value}: {resp.status_code} {resp.text}"
            error = resp.json()["error"]
            assert error["code"] == "validation_error"
            assert {f["field"] for f in error["details"]["fields"]} == {param.name}, f"{param}={value}: {resp.text}"


async def test_the_largest_accepted_value_reaches_the_database_without_failing(
    apps: dict[str, tuple[FastAPI, httpx.AsyncClient]],
) -> None:
    """The upper bounds are inside what PostgreSQL takes: the biggest allowed value answers, never 500."""
    for service in SERVICES:
        app, client = apps[service]
        for param in _int_params(service, app):
            if param.method != "GET" or param.maximum is None:
                continue
            resp = await client.get(_url(app, param, str(param.maximum)), headers=_headers(app, param))
            assert resp.status_code < 500, f"{param}={param.maximum}: {resp.status_code} {resp.text}"
