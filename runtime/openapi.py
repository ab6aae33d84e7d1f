"""Documented error responses, all in the one error schema."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from shared.errors import ErrorBody


def _err(description: str, code: str, message: str) -> dict[str, Any]:
    return {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"example": {"error": {"code": code, "message": message, "details": {}}}}},
    }


ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    400: _err(
        "Bad request (a body that is not valid JSON, a malformed message)", "validation_error", "invalid request"
    ),
    401: {
        **_err("Missing or invalid API key", "unauthorized", "invalid or revoked API key"),
        "headers": {
            "WWW-Authenticate": {
                "description": "The scheme that would succeed",
                "schema": {"type": "string", "example": 'Bearer realm="waybill"'},
            }
        },
    },
    402: _err("Insufficient balance", "insufficient_balance", "balance 1000 is less than the price 5000"),
    403: _err("The key may not use this endpoint", "forbidden", "this endpoint needs the admin key"),
    404: _err("Not found (or another shop's)", "not_found", "not found"),
    409: _err("Conflicts with the current state", "conflict", "conflict"),
    413: _err("Body too large", "payload_too_large", "body larger than 2000000 bytes"),
    422: _err("Invalid body or parameters", "validation_error", "invalid request: order_id"),
    429: _err("Rate limited", "rate_limited", "too many requests"),
    503: _err("A dependency is unavailable; retry", "unavailable", "the database is unavailable, retry shortly"),
}


# Appended to every service's description: what an operator needs before the first call from /docs.
API_GUIDE = """
### Using this console
**Authentication.** Press *Authorize* and paste a key as a bearer token (`Authorization: Bearer <key>`; an
`X-API-Key` header also works).
Three kinds of key exist: a **shop key** (`wbk_<key id>_<secret>`, issued when the shop is created, shown
once) acts for its own shop; the **admin key** (operators) creates shops, keys, top-ups and catalogue
entries; the **internal key** is for the platform's own services and names the shop it acts for in an
`X-Shop-Id` header. A missing or revoked key answers 401; a key of the wrong kind answers 403 (or 401 on
shop endpoints, which need to know the shop). `/healthz` and `/readyz` need no key.

**Rate limits.** Shop keys are limited per key (a burst, then a steady rate); over the limit the answer is
429 `rate_limited` with `Retry-After`. What one client address sends without a key already known good (no
key, or a key the service has not confirmed yet) is limited too, with the same answer, before the key is
checked. The admin and internal keys are not limited.

**Idempotency.** Calls that spend money or create things are safe to retry: a purchase, and a refund of a
count of its numbers, take an `Idempotency-Key` header (the same key and body return the same purchase or
refund; the same key with another body answers 409 `idempotency_conflict`); allocation, order creation and
shipping are idempotent on the order.
A repeat returns what the first call created: 200 instead of 201/202, or `created: false` for an allocation.

**Errors.** Every 4xx and 5xx has one shape: `{"error": {"code", "message", "details", "request_id"}}`.
Branch on `code` (stable, snake_case); `message` is for humans; `details` names the offending field or
resource. 503 `unavailable` means a dependency blipped: retry after `Retry-After`. Every answer carries an
`X-Request-ID` header, and an error repeats it as `request_id`: quote it when reporting a problem. A 401
carries `WWW-Authenticate: Bearer`.

**Operation ids** are short verb phrases (`allocate`, `createPurchase`, `listOrders`), unique across the
three services: one generated client can hold all of them. Changes to the API are listed in CHANGELOG.md.

**Money and time.** Amounts are integer cents of CNY (`price_cents: 280000` is ¥2,800.00). Times are
ISO 8601 with a zone.

**Lists.** Every list answers one shape: `{"data": [...], "has_more": bool, "next_cursor": str | null}`.
A paged list takes `limit` and `cursor`: ask for the next page with `cursor` set to `next_cursor` (and the
same filters) until `has_more` is false. The cursor is opaque; one that this list did not hand out answers
422 `invalid_cursor`. Pages are read by key, so rows added meanwhile neither repeat nor skip an item. Lists
that are short by nature (pools, carriers, an order's events, webhook endpoints, alert settings) come whole
in the same shape. Until 0.3.0 the paging of 0.1 still works (`offset`, `after`, `before_id`, marked
deprecated), and a client that sends `Waybill-Api-Version: 0.1` gets a list as its bare array, with
`Deprecation` and `Sunset` headers.
"""


def error_doc(description: str, examples: dict[str, str]) -> dict[str, Any]:
    """A documented error answer with one example per code (the one error shape)."""
    return {
        "model": ErrorBody,
        "description": description,
        "content": {
            "application/json": {
                "examples": {
                    code: {"summary": code, "value": {"error": {"code": code, "message": message, "details": {}}}}
                    for code, message in examples.items()
                }
            }
        },
    }


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: ERROR_RESPONSES[c] for c in codes}


def operation_id(route: APIRoute) -> str:
    """A route's operation id: its function's name in camelCase (``list_orders`` is ``listOrders``), short
    in every generated client. Route functions are named verb first; tests/unit/test_api_convention.py keeps
    the ids unique across the three services."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
