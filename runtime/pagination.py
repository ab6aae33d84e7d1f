"""Cursor pagination, written once: the query parameters every list takes, the opaque cursor, and the
keyset condition a repository adds to its query.

A page is read by key, not by offset: ``WHERE (k1, k2) < (:v1, :v2) ORDER BY k1 DESC, k2 DESC LIMIT n+1``,
so a page costs the same deep in a list as at its start and rows added meanwhile neither repeat nor skip
an item. The cursor is the key of the page's last row, JSON in URL-safe base64: opaque to clients, and
harmless when edited (it only moves where a list of the caller's own rows starts; a malformed one is 422
``invalid_cursor``).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from fastapi import Query
from sqlalchemy import ColumnElement, tuple_
from starlette.types import Message, Send

from runtime.errors import AppError
from shared.errors import ErrorCode
from shared.pages import Page

M = TypeVar("M")
T = TypeVar("T")
MAX_CURSOR_CHARS = 512


class InvalidCursor(AppError):
    status_code = 422
    code = ErrorCode.INVALID_CURSOR

    def __init__(self) -> None:
        super().__init__("cursor is not one this list handed out: start again without it")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None = None


def page_params(default: int = 100, maximum: int = 1000) -> Callable[..., PageRequest]:
    """The dependency of a list route: ``limit`` (1..maximum) and ``cursor`` (the previous page's
    ``next_cursor``)."""

    # Defaults, not Annotated: the annotations are strings (``from __future__ import annotations``) and
    # could not name this function's ``maximum``.
    def params(
        limit: int = Query(default, ge=1, le=maximum, description="Items per page"),
        cursor: str | None = Query(
            None, max_length=MAX_CURSOR_CHARS, description="The `next_cursor` of the previous page"
        ),
    ) -> PageRequest:
        return PageRequest(limit, cursor)

    return params


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([str(v) if isinstance(v, uuid.UUID) else v for v in values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, types: Sequence[type]) -> tuple[Any, ...]:
    """The key a cursor holds, each part read as the type of its column; InvalidCursor otherwise."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(values, list) or len(values) != len(types):
        raise InvalidCursor()
    return tuple(_read(value, kind) for value, kind in zip(values, types, strict=True))


def _read(value: Any, kind: type) -> Any:
    try:
        if kind is datetime and isinstance(value, str):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment
        elif kind is uuid.UUID and isinstance(value, str):
            return uuid.UUID(value)
        elif (kind is int and type(value) is int) or (kind is str and isinstance(value, str)):
            return value
    except ValueError:
        pass
    raise InvalidCursor()


@dataclass(frozen=True)
class Keyset:
    """The columns a list is ordered by, the last one unique (the primary key), and the direction."""

    columns: Sequence[Any]
    descending: bool = True

    def order_by(self) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def after(self, page: PageRequest) -> list[ColumnElement[bool]]:
        """The condition for the rows after the cursor (none on the first page)."""
        if page.cursor is None:
            return []
        key = decode_cursor(page.cursor, [c.type.python_type for c in self.columns])
        row, at = tuple_(*self.columns), tuple_(*key)
        return [row < at if self.descending else row > at]

    def cursor_of(self, row: Any) -> str:
        return encode_cursor([_plain(getattr(row, c.key)) for c in self.columns])


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Slice(Generic[M]):
    """The rows of one page as a repository read them (it reads ``limit + 1`` to know whether more follow)."""

    rows: list[M]
    next_cursor: str | None

    @classmethod
    def of(cls, rows: Sequence[M], page: PageRequest, keyset: Keyset) -> Slice[M]:
        kept = list(rows[: page.limit])
        more = len(rows) > page.limit
        return cls(kept, keyset.cursor_of(kept[-1]) if more and kept else None)

    def page(self, out: Callable[[M], T]) -> Page[T]:
        items = [out(r) for r in self.rows]
        return Page[T](data=items, has_more=self.next_cursor is not None, next_cursor=self.next_cursor)


# One release of overlap for clients of 0.1, whose lists were bare JSON arrays: a request that sends
# ``Waybill-Api-Version: 0.1`` gets a list's ``data`` alone, with RFC 9745/8594 headers saying the shape goes
# away. Removed in 0.3.0 (CHANGELOG.md).
LEGACY_HEADER = b"waybill-api-version"
LEGACY_VERSION = b"0.1"
LEGACY_SUNSET = b"Mon, 01 Mar 2027 00:00:00 GMT"
_PAGE_KEYS = {"data", "has_more", "next_cursor"}


def legacy_lists(send: Send) -> Send:
    """``send`` for a 0.1 client: a JSON page answered as its bare array; anything else untouched."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
            if message["status"] == 200 and kind.startswith(b"application/json"):
                start = message  # held until the body is whole
                return
            await send(message)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        decoded = orjson.loads(body) if body else None
        headers: list[tuple[bytes, bytes]] = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        if isinstance(decoded, dict) and decoded.keys() == _PAGE_KEYS:
            body = orjson.dumps(decoded["data"])
            headers += [(b"deprecation", b"true"), (b"sunset", LEGACY_SUNSET)]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return wrapped
