"""The one error body every service returns: ``{"error": {"code", "message", "details"}}``.

Clients branch on ``code`` (stable, snake_case, listed in ``ErrorCode``); ``message`` is for humans and may
change wording at any time; ``details`` carries machine-readable context such as the offending field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class ErrorCode(StrEnum):
    """Stable error codes; renaming one breaks clients, so only ever add."""

    VALIDATION_ERROR = "validation_error"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    POOL_EXHAUSTED = "pool_exhausted"
    INVALID_TRANSITION = "invalid_transition"
    INVALID_WAYBILL = "invalid_waybill"
    WAYBILL_IN_USE = "waybill_in_use"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"
    BAD_SIGNATURE = "bad_signature"
    UPSTREAM_ERROR = "upstream_error"
    # A shop holds the most typed (manual, unverified) numbers not yet shipped that it may.
    MANUAL_LIMIT_REACHED = "manual_limit_reached"
    # An extension asked for a purchase none of whose numbers can still be used.
    NO_USABLE_NUMBERS = "no_usable_numbers"
    # A carrier number pattern the linear-time (RE2) engine refuses (a look-around, a back-reference, bad syntax).
    INVALID_NUMBER_PATTERN = "invalid_number_pattern"
    # A webhook URL that is not https, or names (or resolves to) a loopback, private or other non-public address.
    WEBHOOK_URL_REFUSED = "webhook_url_refused"
    # A shop holds the most active webhook endpoints it may.
    WEBHOOK_LIMIT_REACHED = "webhook_limit_reached"
    # A delivery of a disabled webhook endpoint cannot be resent.
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    # A seller nick the marketplace session does not belong to (or a session the marketplace does not know).
    SELLER_NOT_VERIFIED = "seller_not_verified"
    # A list's `cursor` that is not one this list handed out (cut, edited, or from another list).
    INVALID_CURSOR = "invalid_cursor"
    # An order held because its receiver's address failed the intake checks: fix the address, then ship it.
    ADDRESS_INVALID = "address_invalid"
    # The courier has collected the parcel: its label can no longer be voided, nor its address changed.
    ALREADY_COLLECTED = "already_collected"
    # The marketplace cannot take a confirmation back: change the numbers instead (POST .../change-numbers).
    CANNOT_WITHDRAW = "cannot_withdraw"
    # A shop price whose period overlaps another of the same shop and package (revoke that one first).
    PRICE_OVERLAP = "price_overlap"
    # A partial refund of more numbers than the purchase has unused.
    NOT_ENOUGH_UNUSED = "not_enough_unused"


_DETAIL_EXAMPLE: JsonDict = {
    "code": "pool_exhausted",
    "message": "no available ZTO numbers for shop s-1",
    "details": {"carrier": "ZTO", "shop_id": "s-1"},
    "request_id": "3f9c2a7d41b85e060000000000000a1c",
}
_EXAMPLE: JsonDict = {"error": _DETAIL_EXAMPLE}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [_DETAIL_EXAMPLE]})

    # A plain str rather than ErrorCode so a client built against an older list still parses newer codes.
    code: str = Field(description="Stable machine-readable code, see ErrorCode", examples=["pool_exhausted"])
    message: str = Field(description="Human-readable explanation; do not parse")
    details: dict[str, Any] = Field(default_factory=dict, description="Machine-readable context")
    request_id: str | None = Field(
        None, description="The request's id (also its X-Request-ID header): quote it when asking about the request"
    )


class ErrorBody(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [_EXAMPLE]})

    error: ErrorDetail

    @classmethod
    def of(
        cls,
        code: ErrorCode | str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
    ) -> ErrorBody:
        """Shorthand: ``ErrorBody.of(ErrorCode.NOT_FOUND, "no such order").model_dump(mode="json")``."""
        return cls(error=ErrorDetail(code=str(code), message=message, details=details or {}, request_id=request_id))
