"""The TOP protocol pieces on their own: call checks in order, parameter reading, field selection, the answer key.

Signs come from the tests' own signer (support.top_params), never the sandbox's.
"""

from __future__ import annotations

import pytest

from services.sandbox.marketplace.protocol import (
    TopError,
    authenticate,
    offline_error,
    required,
    response_key,
    select_fields,
    trade_id,
)
from tests.sandbox.support import APP_KEY, APP_SECRET, top_params, top_sign, top_timestamp

COMPANIES = "taobao.logistics.companies.get"


def check(params: dict[str, str]) -> str:
    return authenticate(params, APP_KEY, APP_SECRET, 600)


def refusal(params: dict[str, str]) -> TopError:
    with pytest.raises(TopError) as caught:
        check(params)
    return caught.value


def resigned(params: dict[str, str], **changes: str) -> dict[str, str]:
    changed = {**params, **changes}
    changed["sign"] = top_sign(changed, APP_SECRET, changed.get("sign_method", "md5"))
    return changed


@pytest.mark.parametrize("sign_method", ["md5", "hmac"])
def test_a_well_signed_call_gives_its_method(sign_method: str) -> None:
    assert check(top_params(COMPANIES, sign_method=sign_method)) == COMPANIES


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"app_key": ""}, 28),
        ({"app_key": "other"}, 29),
        ({"sign_method": "sha1"}, 41),
        ({"sign": ""}, 24),
        ({"sign": "00"}, 25),
    ],
)
def test_app_key_and_signature_are_checked(changes: dict[str, str], code: int) -> None:
    assert refusal({**top_params(COMPANIES), **changes}).code == code


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"timestamp": ""}, 30),
        ({"timestamp": "yesterday"}, 31),
        ({"timestamp": top_timestamp(-601)}, 31),
        ({"v": ""}, 32),
        ({"v": "1.0"}, 34),
        ({"format": "xml"}, 23),
        ({"method": ""}, 21),
        ({"method": "taobao.nothing"}, 22),
    ],
)
def test_timestamp_version_format_and_method_are_checked_once_signed(changes: dict[str, str], code: int) -> None:
    error = refusal(resigned(top_params(COMPANIES), **changes))
    assert error.code == code
    assert error.sub_code is None  # platform errors carry no sub_code, as TOP's do


def test_the_signature_is_checked_before_the_timestamp() -> None:
    stale_and_unsigned = {**top_params(COMPANIES), "timestamp": top_timestamp(-3600)}
    assert refusal(stale_and_unsigned).code == 25


def test_required_parameters_are_stripped_and_named_when_missing() -> None:
    assert required({"fields": " tid,status "}, "fields") == "tid,status"
    with pytest.raises(TopError) as caught:
        required({"fields": "  "}, "fields")
    assert (caught.value.code, caught.value.sub_code, caught.value.sub_msg) == (
        40,
        "isv.missing-parameter:fields",
        "fields is required",
    )


def test_a_trade_id_is_digits() -> None:
    assert trade_id({"tid": " 3000000000000000001 "}) == "3000000000000000001"
    with pytest.raises(TopError) as caught:
        trade_id({"tid": "12a"})
    assert (caught.value.code, caught.value.sub_code) == (41, "isv.invalid-parameter:tid")
    with pytest.raises(TopError) as missing:
        trade_id({})
    assert missing.value.sub_code == "isv.missing-parameter:tid"


def test_select_fields_keeps_the_asked_ones_and_orders_whole() -> None:
    record = {"tid": "1", "status": "X", "orders": {"order": []}, "payment": "1.00"}
    assert select_fields(record, "tid, payment,,nothing") == {"tid": "1", "payment": "1.00"}
    assert select_fields(record, "orders.oid") == {"orders": {"order": []}}


def test_response_key_and_error_bodies() -> None:
    assert response_key("taobao.logistics.offline.send") == "logistics_offline_send_response"
    assert offline_error("B60", "bad").body("r1") == {
        "error_response": {
            "code": 15,
            "msg": "Remote service error",
            "sub_code": "isv.logistics-offline-service-error:B60",
            "sub_msg": "bad",
            "request_id": "r1",
        }
    }
    assert TopError(25, "Invalid signature").body("r2") == {
        "error_response": {"code": 25, "msg": "Invalid signature", "request_id": "r2"}
    }
