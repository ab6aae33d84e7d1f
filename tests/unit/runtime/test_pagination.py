"""Cursor pagination: a cursor carries a row's key and nothing else is accepted in its place; a page knows
whether more follow; a 0.1 client's list is answered as its bare array, once, with the deprecation said."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Uuid, select
from sqlalchemy.dialects import postgresql

from runtime.pagination import (
    InvalidCursor,
    Keyset,
    PageRequest,
    Slice,
    decode_cursor,
    encode_cursor,
    legacy_lists,
)

WHEN = datetime(2026, 11, 28, 9, 59, 57, 123456, tzinfo=UTC)
ROWS = Table(
    "rows",
    MetaData(),
    Column("created_at", DateTime(timezone=True)),
    Column("id", String, primary_key=True),
    Column("n", Integer),
    Column("u", Uuid),
)


def _raw(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()


def test_a_cursor_gives_back_the_key_it_was_made_of() -> None:
    key = (WHEN, "ord_1", 7, uuid.UUID(int=5))
    cursor = encode_cursor([WHEN.isoformat(), "ord_1", 7, uuid.UUID(int=5)])
    assert "=" not in cursor
    assert decode_cursor(cursor, [datetime, str, int, uuid.UUID]) == key


@pytest.mark.parametrize(
    "cursor",
    [
        "abc!",  # not base64
        _raw({"k": 1}),  # not a list
        _raw(["ord_1"]),  # too short for two columns
        _raw(["2026-11-28T09:59:57+00:00", "a", "b"]),  # too long
        _raw(["2026-11-28T09:59:57", "a"]),  # a time without its zone
        _raw(["yesterday", "a"]),
        _raw(["2026-11-28T09:59:57+00:00", 5]),  # a number where an id goes
    ],
)
def test_anything_else_is_an_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(cursor, [datetime, str])
    assert caught.value.status_code == 422
    assert caught.value.code == "invalid_cursor"


@pytest.mark.parametrize(("value", "kind"), [(True, int), ("7", int), (7, str), ("not-a-uuid", uuid.UUID)])
def test_each_part_must_have_its_column_type(value: Any, kind: type) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(_raw([value]), [kind])


def _sql(keyset: Keyset, page: PageRequest) -> str:
    stmt = select(ROWS).where(*keyset.after(page)).order_by(*keyset.order_by())
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def test_the_keyset_condition_follows_the_direction() -> None:
    newest = Keyset([ROWS.c.created_at, ROWS.c.id])
    oldest = Keyset([ROWS.c.created_at, ROWS.c.id], descending=False)
    first = PageRequest(10)
    assert "WHERE" not in _sql(newest, first)
    cursor = PageRequest(10, encode_cursor([WHEN.isoformat(), "ord_1"]))
    assert "(rows.created_at, rows.id) < (" in _sql(newest, cursor)
    assert "ORDER BY rows.created_at DESC, rows.id DESC" in _sql(newest, cursor)
    assert "(rows.created_at, rows.id) > (" in _sql(oldest, cursor)
    assert "ORDER BY rows.created_at ASC, rows.id ASC" in _sql(oldest, cursor)


class Row:
    def __init__(self, i: int) -> None:
        self.created_at = WHEN - timedelta(seconds=i)
        self.id = f"ord_{i}"


def test_a_slice_knows_whether_more_follow() -> None:
    keyset = Keyset([ROWS.c.created_at, ROWS.c.id])
    page = PageRequest(3)
    # The repository reads limit + 1: a fourth row means more follow, and the cursor is the third's key.
    more = Slice.of([Row(i) for i in range(4)], page, keyset)
    assert [r.id for r in more.rows] == ["ord_0", "ord_1", "ord_2"]
    assert more.next_cursor is not None
    assert decode_cursor(more.next_cursor, [datetime, str]) == (WHEN - timedelta(seconds=2), "ord_2")
    last = Slice.of([Row(i) for i in range(3)], page, keyset)
    assert last.next_cursor is None
    shaped = more.page(lambda r: r.id)
    assert shaped.model_dump() == {
        "data": ["ord_0", "ord_1", "ord_2"],
        "has_more": True,
        "next_cursor": more.next_cursor,
    }
    assert Slice.of([], page, keyset).page(lambda r: r).model_dump() == {
        "data": [],
        "has_more": False,
        "next_cursor": None,
    }


async def _answer(status: int, kind: bytes, chunks: list[bytes]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    wrapped = legacy_lists(send)
    await wrapped({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})
    for i, chunk in enumerate(chunks):
        await wrapped({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})
    return sent


async def test_a_01_client_gets_the_bare_array_and_the_sunset() -> None:
    body = orjson.dumps({"data": [{"id": 1}, {"id": 2}], "has_more": True, "next_cursor": "x"})
    start, answer = await _answer(200, b"application/json", [body[:10], body[10:]])
    assert orjson.loads(answer["body"]) == [{"id": 1}, {"id": 2}]
    headers = dict(start["headers"])
    assert headers[b"deprecation"] == b"true"
    assert headers[b"sunset"].endswith(b"GMT")
    assert headers[b"content-length"] == str(len(answer["body"])).encode()


@pytest.mark.parametrize(
    ("status", "kind", "body"),
    [
        (200, b"application/json", b'{"id": "ord_1", "status": "paid"}'),  # not a list
        (404, b"application/json", b'{"error": {"code": "not_found"}}'),
        (200, b"application/pdf", b"%PDF-1.4"),
    ],
)
async def test_everything_else_goes_through_untouched(status: int, kind: bytes, body: bytes) -> None:
    sent = await _answer(status, kind, [body])
    assert sent[-1]["body"] == body
    assert b"deprecation" not in dict(sent[0]["headers"])
