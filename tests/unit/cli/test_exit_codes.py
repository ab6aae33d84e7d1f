"""The exit code of each of the client's typed errors, and of the statuses without a class of their own."""

from __future__ import annotations

import pytest
from waybill_client import (
    AuthError,
    Conflict,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
    WaybillError,
)

from cli.api import ExitCode, error_body, exit_code_of


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError(422, "validation_error", "m"), ExitCode.USAGE),
        (ValidationError(400, "invalid_cursor", "m"), ExitCode.USAGE),
        (AuthError(401, "unauthorized", "m"), ExitCode.AUTH),
        (AuthError(403, "forbidden", "m"), ExitCode.AUTH),
        (NotFound(404, "not_found", "m"), ExitCode.NOT_FOUND),
        (Conflict(409, "invalid_transition", "m"), ExitCode.CONFLICT),
        (WaybillError(402, "insufficient_balance", "m"), ExitCode.CONFLICT),
        (WaybillError(413, "payload_too_large", "m"), ExitCode.USAGE),  # the input refused
        (RateLimited(429, "rate_limited", "m"), ExitCode.SERVER),
        (ServerError(500, "internal_error", "m"), ExitCode.SERVER),
        (ServerError(503, "unavailable", "m"), ExitCode.SERVER),
        (WaybillError(302, "http_302", "m"), ExitCode.SERVER),  # a proxy's redirect: not the user's doing
        (NetworkError(0, "network_error", "m"), ExitCode.NETWORK),
    ],
    ids=lambda v: f"{type(v).__name__}-{v.status}" if isinstance(v, WaybillError) else str(v),
)
def test_each_error_class_has_its_exit_code(error: WaybillError, code: ExitCode) -> None:
    assert exit_code_of(error) is code


def test_the_json_error_keeps_the_codes_scripts_know() -> None:
    body = error_body(NetworkError(0, "network_error", "shipping did not answer"))
    assert body["error"]["code"] == "unreachable"
    assert body["error"]["status"] == 0
    shown = error_body(Conflict(409, "conflict", "m", {"seller_nick": "x"}, "rid-1"))
    assert shown == {
        "error": {
            "code": "conflict",
            "message": "m",
            "details": {"seller_nick": "x"},
            "request_id": "rid-1",
            "status": 409,
        }
    }
