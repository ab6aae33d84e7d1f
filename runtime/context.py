"""Per-request context carried through logs and outgoing calls."""

from __future__ import annotations

import itertools
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


# A random per-process prefix and a counter: unique across processes for log correlation, without
# a system call for randomness on every request.
_PREFIX = uuid.uuid4().hex[:16]
_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_counter):016x}"


def current_request_id() -> str | None:
    return request_id_var.get()
