"""The Pinduoduo gateway sign and the message sign, against vectors spelled out by hand.

Gateway: secret + name+value of every parameter but sign, sorted, + secret; MD5, uppercase hex; empty values
are signed (their name alone), as both SDKs do. Message: MD5(secret + timestamp + body + secret).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from services.sandbox.pinduoduo.signing import gateway_sign, gateway_verify, message_sign
from tests.sandbox.test_pinduoduo_support import PddHarness, by_hand_sign, error_of, pdd_params, running_pdd

SECRET = "testSecret"
PARAMS = {
    "type": "pdd.order.information.get",
    "client_id": "testClient",
    "access_token": "tok",
    "timestamp": "1480411125",
    "data_type": "JSON",
    "order_sn": "231128-012345678901234",
    "remark": "",
}
# Sorted: access_token client_id data_type order_sn remark(empty, kept) timestamp type.
JOINED = (
    "access_tokentokclient_idtestClientdata_typeJSONorder_sn231128-012345678901234remark"
    "timestamp1480411125typepdd.order.information.get"
)
PINNED = hashlib.md5((SECRET + JOINED + SECRET).encode()).hexdigest().upper()


@pytest.fixture
async def pdd() -> AsyncIterator[PddHarness]:
    async with running_pdd() as harness:
        yield harness


def test_the_gateway_sign_is_the_hand_computed_one() -> None:
    assert gateway_sign(PARAMS, SECRET) == PINNED
    assert gateway_sign({**PARAMS, "sign": "X"}, SECRET) == PINNED
    assert by_hand_sign(PARAMS, SECRET) == PINNED


def test_an_empty_value_is_signed_by_its_name() -> None:
    without = {k: v for k, v in PARAMS.items() if k != "remark"}
    assert gateway_sign(without, SECRET) != PINNED


def test_verify_is_exact_and_never_raises_on_garbage() -> None:
    assert gateway_verify(PARAMS, SECRET, PINNED)
    assert not gateway_verify(PARAMS, SECRET, PINNED.lower())
    assert not gateway_verify(PARAMS, SECRET, "签名")


def test_the_message_sign_is_md5_of_secret_timestamp_body_secret() -> None:
    body = b'{"id":1,"commandType":"Common"}'
    expected = hashlib.md5(b"s" + b"1700000000" + body + b"s").hexdigest().upper()
    assert message_sign("s", "1700000000", body) == expected


async def test_the_gateway_accepts_an_empty_parameter_signed_by_hand(pdd: PddHarness) -> None:
    body = await pdd.call("pdd.logistics.companies.get", remark="")
    assert "logistics_companies_get_response" in body, body


async def test_a_wrong_secret_is_refused_with_20004(pdd: PddHarness) -> None:
    body = await pdd.post(pdd_params("pdd.logistics.companies.get", secret="other"))
    assert error_of(body) == 20004
    assert body["error_response"]["sub_code"] == "20004"
    assert body["error_response"]["request_id"]


async def test_a_parameter_changed_after_signing_is_refused(pdd: PddHarness) -> None:
    params = pdd_params("pdd.logistics.companies.get", remark="a")
    body = await pdd.post({**params, "remark": "b"})
    assert error_of(body) == 20004
