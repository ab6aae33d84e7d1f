"""The courier gateway's envelope read on its own, and the fault key a call is looked up by.

Digests come from the tests' own signer (support.courier_form), never the sandbox's.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from starlette.datastructures import FormData

from services.sandbox.couriers import CourierError, read_message
from services.sandbox.faults import endpoint_or_group
from services.sandbox.settings import SandboxSettings
from tests.sandbox.support import COURIER_KEY, COURIER_SECRET, courier_form

SETTINGS = SandboxSettings()
BODY = {"cp_code": "ZTO", "seller_id": "s"}


def read(form: dict[str, str], msg_type: str = "TMS_WAYBILL_GET") -> dict[str, Any]:
    return read_message(FormData(list(form.items())), msg_type, SETTINGS)


def refusal(form: dict[str, str], msg_type: str = "TMS_WAYBILL_GET") -> str:
    with pytest.raises(CourierError) as caught:
        read(form, msg_type)
    return caught.value.code


def test_a_signed_envelope_gives_its_body() -> None:
    assert read(courier_form("TMS_WAYBILL_GET", BODY)) == BODY


def test_envelope_checks_come_in_order() -> None:
    good = courier_form("TMS_WAYBILL_GET", BODY)
    assert refusal({k: v for k, v in good.items() if k != "data_digest"}) == "S04"
    assert refusal({**good, "logistic_provider_id": "other", "data_digest": "x"}) == "S03"
    assert refusal({**good, "data_digest": "x"}) == "S02"
    assert refusal(good, msg_type="TMS_NOTHING") == "S05"


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_the_body_must_be_a_json_object(text: str) -> None:
    digest = base64.b64encode(hashlib.md5((text + COURIER_SECRET).encode()).digest()).decode()
    form = {"logistic_provider_id": COURIER_KEY, "logistics_interface": text, "data_digest": digest}
    assert refusal(form) == "isv.invalid-parameter"


@pytest.mark.parametrize(
    ("name", "group", "key"),
    [
        ("TMS_WAYBILL_GET", "courier", "TMS_WAYBILL_GET"),
        ("TMS_NOTHING", "courier", "courier"),
        ("", "courier", "courier"),
        ("taobao.logistics.offline.send", "marketplace", "taobao.logistics.offline.send"),
        ("TMS_WAYBILL_GET", "marketplace", "marketplace"),
    ],
)
def test_a_call_is_faulted_by_its_endpoint_or_else_its_group(name: str, group: str, key: str) -> None:
    assert endpoint_or_group(name, group) == key
