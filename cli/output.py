"""How the CLI prints: tables whose ids are never cut, money in yuan, times in the profile's zone, and the
API's JSON under `--json`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Generic, ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text
from waybill_client import PageLike

from cli.config import DEFAULT_TIMEZONE

P = ParamSpec("P")
T = TypeVar("T")
console = Console()
err = Console(stderr=True)

# The zone times are shown in: the command line's --tz when given, else the profile's (set when the
# command loads its profile).
_zone: dict[str, ZoneInfo | None] = {"override": None, "profile": None}


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai or UTC)") from exc


def override_timezone(name: str | None) -> None:
    _zone["override"] = zone_of(name) if name else None
    _zone["profile"] = None


def use_timezone(name: str) -> None:
    _zone["profile"] = zone_of(name)


def timezone() -> ZoneInfo:
    return _zone["override"] or _zone["profile"] or ZoneInfo(DEFAULT_TIMEZONE)


def when(value: datetime | None) -> str:
    """A time in the zone in force, to the second (the zone is the profile's: not repeated on every cell)."""
    if value is None:
        return ""
    return value.astimezone(timezone()).strftime("%Y-%m-%d %H:%M:%S")


# --- money: the API counts in fen (cents); people read yuan ------------------------------------------


def yuan(cents: int | float | None) -> str:
    """¥ with two decimals and thousands separators, rounded half up (a per-number price can be a fraction
    of a fen)."""
    if cents is None:
        return ""
    amount = (Decimal(str(cents)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"-¥{-amount:,.2f}" if amount < 0 else f"¥{amount:,.2f}"


def to_cents(amount: str, *, zero: bool = False) -> int:
    """Yuan as typed ("1000.5", "¥1,000.50") to integer cents, exactly: never through a float. ValueError
    when it is not a positive amount (or zero, when ``zero``) with at most two decimals."""
    text = amount.strip().removeprefix("¥").replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    cents = value * 100
    if not cents.is_finite() or cents != cents.to_integral_value() or cents < 0 or (cents == 0 and not zero):
        raise ValueError(f"amount must be positive with at most 2 decimals: {amount!r}")
    return int(cents)


# --- JSON: the API's own answers -----------------------------------------------------------------------


def plain(data: Any) -> Any:
    """An answer (a model, a list of them) as the API's JSON."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, Mapping):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [plain(v) for v in data]
    return data


_answer: dict[str, Any] = {"last": None, "status": None}


def keep_answer(body: Any, status: int | None = None) -> None:
    """The JSON of the latest answer, and its HTTP status (the client records each one)."""
    _answer["last"] = body
    _answer["status"] = status


def answer_status() -> int | None:
    """The HTTP status of the latest answer: what a model does not say (a bind that renewed answers 200, not
    201)."""
    status: int | None = _answer["status"]
    return status


def emit_json(data: Any) -> None:
    """``data`` as JSON on stdout: the API's own answer when ``data`` is the model read from the latest one
    (its times as the API wrote them, and fields newer than this client), else the model's JSON."""
    if isinstance(data, Listing):
        data = data.answer
    raw = _answer["last"]
    out = plain(data)
    if isinstance(data, BaseModel) and raw is not None:
        try:
            if type(data).model_validate(raw) == data:
                out = raw
        except ValueError:  # pydantic's ValidationError: another answer than this one
            pass
    # print(), not rich: never wrapped at the terminal's width or read as markup.
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))


def whole(items: Iterable[Any]) -> dict[str, Any]:
    """A list read whole, in the shape of one page (what `--json` prints for it)."""
    return {"data": [plain(i) for i in items], "has_more": False, "next_cursor": None}


@dataclass(frozen=True)
class Listing(Generic[T]):
    """What a list command shows: one page as the API answered it, or (``--all``) every item of the list."""

    data: Sequence[T]
    has_more: bool
    next_cursor: str | None
    answer: Any  # what --json prints: the page, or the whole list in the shape of one


def read_list(
    every: bool,
    pages: Callable[P, Iterator[T]],
    page: Callable[P, PageLike[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Listing[T]:
    """One page (``page``, the ``list_*`` operation), or every page (``pages``, its ``iter_*``: the client
    follows the cursors; ``cursor``, when given, is where it starts)."""
    if every:
        found = list(pages(*args, **kwargs))
        return Listing(found, False, None, whole(found))
    one = page(*args, **kwargs)
    return Listing(one.data, one.has_more, one.next_cursor, one)


# --- tables --------------------------------------------------------------------------------------------


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, BaseModel | dict | list):
        return json.dumps(plain(value), ensure_ascii=False)
    return str(value)


# Free text: folded over lines when the table is narrow. Every other column (ids, numbers, money, times,
# states) keeps its whole width: the table grows past the terminal rather than cut an id.
TEXT_COLUMNS = frozenset(
    {"message", "description", "reasons", "receiver", "error", "note", "last_error", "url", "packages", "events"}
    | {"flags", "history", "reference", "name", "buyer_nick", "area_name"}
)
TEXT_MIN_WIDTH = 16
UNBOUNDED = 10_000  # a width to measure the table's least width at


def row_of(item: Any) -> dict[str, Any]:
    return dict(item)


def table(title: str, items: Sequence[Any], columns: Sequence[str]) -> None:
    """A table of ``items`` (models or dicts) by ``columns``."""
    # Text, never markup: the API's values (a message, an address) may hold brackets.
    rows = [[Text(cell(row_of(item).get(c))) for c in columns] for item in items]
    t = Table(title=Text(title))
    for i, column in enumerate(columns):
        width = max([len(column), *(r[i].cell_len for r in rows)])
        if column in TEXT_COLUMNS:
            width = min(width, TEXT_MIN_WIDTH)
            t.add_column(column, overflow="fold", min_width=width)
        else:
            t.add_column(column, no_wrap=True, min_width=width)
    for r in rows:
        t.add_row(*r)
    least = console.measure(t, options=console.options.update_width(UNBOUNDED)).minimum
    if least > console.width:
        # Wider than the terminal: printed whole (the terminal wraps the lines) rather than cut an id.
        width = console.width
        console.width = least
        try:
            console.print(t, crop=False)
        finally:
            console.width = width
    else:
        console.print(t)


def fields(data: Mapping[str, Any] | BaseModel, *, money: Iterable[str] = ()) -> None:
    """One object as a two-column table (key, value); ``money``: the fields in cents, shown in yuan."""
    values = row_of(data)
    cents = set(money)
    t = Table(show_header=False)
    t.add_column("field", no_wrap=True)
    t.add_column("value", overflow="fold")
    for k, v in values.items():
        if k in cents:
            t.add_row(k.removesuffix("_cents"), yuan(v))
        else:
            t.add_row(k, Text(cell(v)))
    console.print(t)


def bold(value: object) -> tuple[str, str]:
    return str(value), "bold"


def say(*parts: str | tuple[str, str]) -> None:
    """A line of text with ``bold(...)`` parts. Never read as markup: the API's values may hold brackets."""
    console.print(Text.assemble(*parts), soft_wrap=True, highlight=False)


def line(text: str) -> None:
    """A line printed as it is: never wrapped or read as markup (a cursor or a key is copied from it)."""
    console.print(text, soft_wrap=True, markup=False, highlight=False)


def next_page(has_more: bool, cursor: str | None) -> None:
    """Say how to see the next page of a list shown one page at a time."""
    if has_more and cursor:
        line(f"next page: the same command with --cursor {cursor}")
