import json

from shared.errors import ErrorBody, ErrorCode, ErrorDetail

DOCUMENTED = {
    "error": {
        "code": "pool_exhausted",
        "message": "no available ZTO numbers for shop s-1",
        "details": {"carrier": "ZTO", "shop_id": "s-1"},
        "request_id": "3f9c2a7d41b85e060000000000000a1c",
    }
}


def test_error_body_serialises_to_documented_shape() -> None:
    body = ErrorBody.of(
        ErrorCode.POOL_EXHAUSTED,
        "no available ZTO numbers for shop s-1",
        {"carrier": "ZTO", "shop_id": "s-1"},
        request_id="3f9c2a7d41b85e060000000000000a1c",
    )
    assert body.model_dump(mode="json") == DOCUMENTED
    assert json.loads(body.model_dump_json()) == DOCUMENTED
    assert ErrorBody.model_validate_json(json.dumps(DOCUMENTED)) == body


def test_details_default_to_empty_object() -> None:
    a = ErrorBody(error=ErrorDetail(code="not_found", message="no such order"))
    b = ErrorBody.of(ErrorCode.NOT_FOUND, "no such order")
    assert a == b
    assert a.model_dump(mode="json") == {
        "error": {"code": "not_found", "message": "no such order", "details": {}, "request_id": None}
    }
    assert a.error.details is not ErrorDetail(code="x", message="y").details


def test_unknown_codes_still_parse() -> None:
    # Clients built against an older ErrorCode list must not break on a new code.
    body = ErrorBody.model_validate({"error": {"code": "brand_new_code", "message": "m"}})
    assert body.error.code == "brand_new_code"


def test_schema_carries_the_example() -> None:
    schema = ErrorBody.model_json_schema()
    assert schema["examples"] == [DOCUMENTED]
    assert schema["required"] == ["error"]


def test_error_codes_are_the_stable_list() -> None:
    assert [c.value for c in ErrorCode] == [
        "validation_error",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "idempotency_conflict",
        "insufficient_balance",
        "pool_exhausted",
        "invalid_transition",
        "invalid_waybill",
        "waybill_in_use",
        "rate_limited",
        "payload_too_large",
        "unavailable",
        "internal_error",
        "bad_signature",
        "upstream_error",
        "manual_limit_reached",
        "no_usable_numbers",
        "invalid_number_pattern",
        "webhook_url_refused",
        "webhook_limit_reached",
        "webhook_endpoint_disabled",
        "seller_not_verified",
        "invalid_cursor",
        "address_invalid",
        "already_collected",
        "cannot_withdraw",
        "price_overlap",
        "not_enough_unused",
    ]
    assert str(ErrorCode.NOT_FOUND) == "not_found"
