"""The courier's routing of numbers to their destinations, as pure functions: the TMS_WAYBILL_ROUTE body (many
waybills per message) and its answer read into what a label prints.

The answer comes from outside and ends up printed large on labels and inside ZPL, so none of its strings is
trusted: a value is kept only when, after NFKC, it is short and made of letters, digits, spaces and a few
separators (no control characters, no ZPL ``^``/``~``, no markup); anything else drops the value, never cut or
patched to fit (a shortened or altered sort code would send the parcel to the wrong place).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.allocation.courier.protocol import CourierError

MAX_WAYBILLS_PER_REQUEST = 100
SORT_CODE_MAX = 32
PACKAGE_CENTER_MAX = 40
TEXT_MAX = 200
# Separators real sort codes and centre names use ("571-A12 03", "721-A010-J9 47", "金华362", "杭州(萧山)").
_SEPARATORS = frozenset(" -_/.#()·")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Destination:
    """Where a number goes: the receiver's place, no person (routing needs no name or phone)."""

    number: str
    province: str
    city: str
    district: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Routing:
    sort_code: str | None
    package_center: str | None


@dataclass(frozen=True)
class RouteRefusal:
    """The courier's refusal of one waybill (its code and words, cleaned)."""

    code: str
    message: str


def route_body(carrier: str, seller_id: str, waybills: Sequence[Destination]) -> dict[str, Any]:
    if not 1 <= len(waybills) <= MAX_WAYBILLS_PER_REQUEST:
        raise ValueError(f"1..{MAX_WAYBILLS_PER_REQUEST} waybills per request, got {len(waybills)}")
    return {
        "cp_code": carrier,
        "seller_id": seller_id,
        "waybills": [
            {
                "waybill_code": w.number,
                "address": {"province": w.province, "city": w.city, "district": w.district, "detail": w.detail},
            }
            for w in waybills
        ],
    }


def clean(value: Any, limit: int, *, strict: bool = True) -> str | None:
    """``value`` as printable text (runs of whitespace as one space), or None when it is not a string, is empty
    or longer than ``limit``, or (``strict``: what a label prints) holds any other character at all; not strict
    (a refusal's words), such characters become spaces."""
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    if strict and not all(_allowed(ch) for ch in text):
        return None
    kept = _SPACES.sub(" ", "".join(ch if _allowed(ch) else " " for ch in text)).strip()
    if not kept or len(kept) > limit:
        return None
    return kept


def _allowed(ch: str) -> bool:
    if ch in _SEPARATORS:
        return True
    # Letters and digits of any script (Chinese centre names), nothing else: no symbols, marks or controls.
    return unicodedata.category(ch)[0] in "LN"


def _name(value: Any) -> Any:
    # ``sortation`` / ``consolidation`` are objects with a name; a bare string is read as the name.
    return value.get("name") if isinstance(value, dict) else value


def parse_routing(info: Any) -> Routing:
    """``routingInfo`` read into the label's fields: the sort code is ``routeCode`` (三段码), else the sortation
    name (大头笔); the package centre is ``consolidation.name`` (集包地)."""
    if not isinstance(info, dict):
        return Routing(None, None)
    sort_code = clean(info.get("routeCode"), SORT_CODE_MAX) or clean(_name(info.get("sortation")), SORT_CODE_MAX)
    return Routing(sort_code, clean(_name(info.get("consolidation")), PACKAGE_CENTER_MAX))


def _bad_answer(message: str) -> CourierError:
    return CourierError("bad_response", message, retryable=True)


def parse_routes(body: dict[str, Any], asked: Sequence[str]) -> dict[str, Routing | RouteRefusal]:
    """Each asked number's routing or refusal, from ``waybill_route_cols``. Cols for numbers not asked are
    ignored; an asked number the courier left out has no entry."""
    cols = body.get("waybill_route_cols")
    if not isinstance(cols, list):
        raise _bad_answer("courier answered without waybill_route_cols")
    wanted = set(asked)
    out: dict[str, Routing | RouteRefusal] = {}
    for col in cols:
        if not isinstance(col, dict) or not isinstance(col.get("waybill_code"), str):
            continue
        number = col["waybill_code"].strip().upper()
        if number not in wanted or number in out:
            continue
        if col.get("success") is True:
            out[number] = parse_routing(col.get("routingInfo"))
        else:
            code = clean(col.get("errorCode"), 64, strict=False) or "unknown"
            out[number] = RouteRefusal(code, clean(col.get("errorMsg"), TEXT_MAX, strict=False) or "refused")
    return out
