"""Schemathesis against each service's OpenAPI schema, over real HTTP to the running apps: no answer
is a 500, and every answer conforms to the schema (documented status, content type, body, headers).
Requests carry a real key: the shop's for shop routes, the admin or internal key where the route
demands it (read from the route's dependencies)."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import FuzzWorld
from tests.route_table import Access, operations
from tests.support import ADMIN_KEY, INTERNAL_KEY

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
# What issue 8 asks: no 500, every answer as documented, and no operation that works without its key.
# (Schemathesis's opinions on how strictly inputs should be refused, and on OPTIONS/Allow, are left out.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
]
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _app(service: str) -> FastAPI:
    if service == "allocation":
        from services.allocation.main import create_app as allocation_app

        return allocation_app()
    if service == "shipping":
        from services.shipping.main import create_app as shipping_app

        return shipping_app()
    from services.tracking.main import create_app as tracking_app

    return tracking_app()


def _load(service: str) -> tuple[BaseSchema, dict[tuple[str, str], Access]]:
    app = _app(service)
    access = {(op.method, op.path): op.access for op in operations(app)}
    return schemathesis.openapi.from_dict(app.openapi()), access


ALLOCATION, ALLOCATION_ACCESS = _load("allocation")
SHIPPING, SHIPPING_ACCESS = _load("shipping")
TRACKING, TRACKING_ACCESS = _load("tracking")


def _headers(world: FuzzWorld, access: Access) -> dict[str, str]:
    if access == "admin":
        return {"Authorization": f"Bearer {ADMIN_KEY}", "X-Shop-Id": world.shop_id}
    if access == "internal":
        return {"Authorization": f"Bearer {INTERNAL_KEY}", "X-Shop-Id": world.shop_id}
    return {"Authorization": f"Bearer {world.shop_key}"}


def _run(case: Any, world: FuzzWorld, service: str, table: dict[tuple[str, str], Access]) -> None:
    access = table.get((case.method.upper(), case.path), "shop")
    case.call_and_validate(base_url=world.url(service), headers=_headers(world, access), checks=CHECKS, timeout=30)


@ALLOCATION.parametrize()
@FUZZ_SETTINGS
def test_allocation_schema(case: Any, fuzz_world: FuzzWorld) -> None:
    _run(case, fuzz_world, "allocation", ALLOCATION_ACCESS)


@SHIPPING.parametrize()
@FUZZ_SETTINGS
def test_shipping_schema(case: Any, fuzz_world: FuzzWorld) -> None:
    _run(case, fuzz_world, "shipping", SHIPPING_ACCESS)


@TRACKING.parametrize()
@FUZZ_SETTINGS
def test_tracking_schema(case: Any, fuzz_world: FuzzWorld) -> None:
    _run(case, fuzz_world, "tracking", TRACKING_ACCESS)
