"""Each app's operations read from its route table, with the key each one demands (from its
dependencies, not from a list kept by hand): a new route is classified, and tested, the day it is added."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from runtime import auth

Access = Literal["admin", "internal", "shop", "any_key", "public"]

# Strongest requirement first: a route depending on several is classified by the strictest.
_ACCESS: list[tuple[Access, set[Callable[..., Any]]]] = [
    ("admin", {auth.require_admin}),
    ("internal", {auth.require_internal, auth.require_internal_shop}),
    ("shop", {auth.require_shop}),
    ("any_key", {auth.get_principal}),
]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    access: Access
    params: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def access_of(route: APIRoute) -> Access:
    calls = set(_calls(route.dependant))
    for access, needs in _ACCESS:
        if calls & needs:
            return access
    return "public"


def operations(app: FastAPI) -> list[Operation]:
    """Every documented operation of the app (FastAPI routes; the docs and schema routes excepted)."""
    found = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path = ctx.path_format or route.path_format
        params = tuple(p.alias for p in route.dependant.path_params)
        for method in sorted(route.methods or ()):
            found.append(Operation(method, path, access_of(route), params))
    return found
