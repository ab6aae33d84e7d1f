"""Courier wire format: parsers against recorded answers, and the request digest."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from services.allocation.courier import protocol
from services.allocation.courier.protocol import CourierError, IssueRequest

RECORDED_ISSUE = (
    b'{"success":true,"waybill_apply_new_cols":[{"object_id":"p-1a2b","waybill_codes":'
    b'["78345678901234","78345678901235"],"expire_time":"2027-02-26T00:00:00+08:00"}]}'
)
RECORDED_SUBSCRIPTION = (
    b'{"success":true,"waybill_apply_subscription_cols":[{"cp_code":"ZTO","branch_code":"310000",'
    b'"segment_code":"7834","quantity":998,"allocated_quantity":1000,"cancel_quantity":2,"print_quantity":0}]}'
)


def test_form_is_signed_with_base64_md5_of_payload_and_secret() -> None:
    body = protocol.issue_body("ZTO", "s-1", 90, [IssueRequest("p-1", 10)])
    form = protocol.build_form("TMS_WAYBILL_GET", body, "app", "secret")
    expected = base64.b64encode(hashlib.md5((form["logistics_interface"] + "secret").encode()).digest()).decode()
    assert form["data_digest"] == expected
    assert json.loads(form["logistics_interface"])["trade_order_info_dtos"] == [{"object_id": "p-1", "quantity": 10}]
    assert form["logistic_provider_id"] == "app"


def test_at_most_ten_objects_per_request() -> None:
    with pytest.raises(ValueError, match=r"1\.\.10"):
        protocol.issue_body("ZTO", "s-1", 90, [IssueRequest(f"p-{i}", 1) for i in range(11)])


def test_parses_recorded_issue() -> None:
    [batch] = protocol.parse_issue(protocol.parse_envelope(200, RECORDED_ISSUE))
    assert batch.object_id == "p-1a2b"
    assert batch.numbers == ["78345678901234", "78345678901235"]
    assert batch.expires_at == datetime(2027, 2, 26, tzinfo=timezone(timedelta(hours=8)))


def test_parses_recorded_subscription_counters() -> None:
    [counters] = protocol.parse_subscription(protocol.parse_envelope(200, RECORDED_SUBSCRIPTION))
    assert (counters.quantity, counters.allocated_quantity, counters.cancel_quantity) == (998, 1000, 2)
    assert counters.segment_code == "7834"


@pytest.mark.parametrize(
    ("status", "raw", "code", "retryable"),
    [
        (500, b'{"success":false,"errorCode":"S01","errorMsg":"system busy"}', "S01", True),
        (503, b"courier down", "http_503", True),
        (200, b'{"success":false,"errorCode":"S01","errorMsg":"busy"}', "S01", True),
        (200, b'{"success":false,"errorCode":"S02","errorMsg":"sign check failed"}', "S02", False),
        (200, b'{"success":false,"errorCode":"isv.too-many-objects","errorMsg":"x"}', "isv.too-many-objects", False),
        (200, b"<html>", "bad_response", True),
    ],
)
def test_errors_say_whether_to_retry(status: int, raw: bytes, code: str, retryable: bool) -> None:
    with pytest.raises(CourierError) as caught:
        protocol.parse_envelope(status, raw)
    assert caught.value.code == code
    assert caught.value.retryable is retryable
