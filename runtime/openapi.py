"""Documented error responses, all in the one error schema."""

from __future__ import annotations

from typing import Any

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
    401: _err("Missing or invalid API key", "unauthorized", "invalid or revoked API key"),
    402: _err("Insufficient balance", "insufficient_balance", "balance 1000 is less than the price 5000"),
    403: _err("The key may not use this endpoint", "forbidden", "this endpoint needs the admin key"),
    404: _err("Not found (or another shop's)", "not_found", "not found"),
    409: _err("Conflicts with the current state", "conflict", "conflict"),
    413: _err("Body too large", "payload_too_large", "body larger than 2000000 bytes"),
    422: _err("Invalid body or parameters", "validation_error", "invalid request: order_id"),
    429: _err("Rate limited", "rate_limited", "too many requests"),
    503: _err("A dependency is unavailable; retry", "unavailable", "the database is unavailable, retry shortly"),
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: ERROR_RESPONSES[c] for c in codes}
