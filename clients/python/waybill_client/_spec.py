"""What one operation of the API is (service, method, path, answer, whether a retry is safe) and one call of
it (path parameters, query, body, idempotency key): the part of a request both transports share."""

from __future__ import annotations

import enum
import inspect
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

Service = Literal["allocation", "shipping", "tracking"]
SERVICES: tuple[Service, ...] = ("allocation", "shipping", "tracking")
R_co = TypeVar("R_co", covariant=True)

# The parameters of an operation's signature that are not in its path or query.
BODY = "body"
IDEMPOTENCY_KEY = "idempotency_key"


class Replay(enum.Enum):
    """Whether a call may be sent again after a failure without asking the caller."""

    SAFE = "safe"  # GET, PUT, DELETE: idempotent by HTTP
    KEYED = "keyed"  # a POST with an Idempotency-Key (the client makes one when the caller gives none)
    BY_DESIGN = "by_design"  # a POST the API makes idempotent on its own key (the order, the external id)
    NEVER = "never"  # every other POST (and PATCH): a repeat could do it twice

    @classmethod
    def of(cls, method: str) -> Replay:
        return cls.SAFE if method in ("GET", "HEAD", "PUT", "DELETE") else cls.NEVER


@dataclass(frozen=True)
class Operation(Generic[R_co]):
    operation_id: str
    service: Service
    method: str
    path: str  # a template: /v1/orders/{order_id}
    decode: Callable[[httpx.Response], R_co]
    answer: type[Any] | None  # the model (or bytes) the answer is read into; None: no content
    replay: Replay

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name)


@dataclass
class Call:
    """One call of an operation, its arguments sorted into where they go."""

    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # JSON-able; None: no body
    idempotency_key: str | None = None

    def url_path(self, op: Operation[Any]) -> str:
        """The path with its parameters, each quoted as one segment (an id cannot reach another route)."""
        if not self.path:
            return op.path
        return op.path.format_map({k: quote(v, safe="") for k, v in self.path.items()})

    def params(self) -> dict[str, Any]:
        return {k: _query_value(v) for k, v in self.query.items() if v is not None}


def _query_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _json_body(value: Any) -> Any:
    """A request model as JSON: only the fields the caller set (the server applies its own defaults)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return value


def binder(op: Operation[Any], signature: inspect.Signature) -> Callable[..., Call]:
    """Sorts a call's arguments by the names of the operation's signature: the path's parameters, ``body``,
    ``idempotency_key``, and the query (every other name)."""
    names = set(signature.parameters)
    missing = set(op.path_params) - names
    if missing:
        raise TypeError(f"{op.operation_id}: the signature lacks the path parameters {sorted(missing)}")

    def bind(*args: Any, **kwargs: Any) -> Call:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        call = Call()
        for name, value in bound.arguments.items():
            if name in op.path_params:
                call.path[name] = str(value)
            elif name == BODY:
                call.body = _json_body(value)
            elif name == IDEMPOTENCY_KEY:
                call.idempotency_key = value
            else:
                call.query[name] = value
        return call

    return bind


def snake_case(operation_id: str) -> str:
    """``listOrders`` is ``list_orders``: the method of an operation id."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
