"""The sandbox's TOP sign against vectors written out by hand from the official SDK's algorithm.

``TopUtils.signTopRequest`` (top-sdk-java): names sorted, ``name + value`` for each parameter whose name and
value are both non-empty, ``sign`` left out; md5 = MD5(secret + s + secret), hmac = HMAC-MD5(secret, s),
hmac-sha256 = HMAC-SHA256(secret, s); uppercase hex. The strings below are spelled out by hand and hashed with
hashlib here, never with the sandbox's own function, and the digests are pinned as well.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from services.sandbox.marketplace.protocol import TopError, authenticate, top_sign, top_verify
from tests.sandbox.support import APP_KEY, APP_SECRET, Harness

SECRET = "helloworld"
# One empty value (fields), and a Chinese value: the sign covers UTF-8 bytes.
PARAMS = {
    "method": "taobao.trade.fullinfo.get",
    "app_key": "12345678",
    "session": "test",
    "timestamp": "2016-01-01 12:00:00",
    "format": "json",
    "v": "2.0",
    "tid": "3000000000000000001",
    "fields": "",
    "buyer_nick": "沙箱买家",
}
# Sorted by name (tid before timestamp), fields (empty) left out: app_key buyer_nick format method session
# sign_method tid timestamp v.
JOINED = {
    method: (
        "app_key12345678buyer_nick沙箱买家formatjsonmethodtaobao.trade.fullinfo.getsessiontest"
        f"sign_method{method}tid3000000000000000001timestamp2016-01-01 12:00:00v2.0"
    )
    for method in ("md5", "hmac", "hmac-sha256")
}


def by_hand(method: str) -> str:
    data = JOINED[method].encode("utf-8")
    key = SECRET.encode("utf-8")
    if method == "md5":
        return hashlib.md5(key + data + key).hexdigest().upper()
    digestmod = hashlib.md5 if method == "hmac" else hashlib.sha256
    return hmac.new(key, data, digestmod).hexdigest().upper()


PINNED = {
    "md5": "FE266CB53C3425EFF363CA7F362A8911",
    "hmac": "64BF9782B206BC6C98D63DD7897BEBC9",
    "hmac-sha256": "FA90C30C3EE0E6CA6BEA704CA6CDE4C5B4E629A0ADB4447B9EDB32C3C0427D51",
}


@pytest.mark.parametrize("method", ["md5", "hmac", "hmac-sha256"])
def test_the_hand_computed_vector_is_the_pinned_one(method: str) -> None:
    assert by_hand(method) == PINNED[method]


@pytest.mark.parametrize("method", ["md5", "hmac", "hmac-sha256"])
def test_the_sandbox_signs_like_the_sdk(method: str) -> None:
    params = {**PARAMS, "sign_method": method}
    assert top_sign(params, SECRET, method) == PINNED[method]
    # The sign parameter itself is never part of what is signed.
    assert top_sign({**params, "sign": "ANYTHING"}, SECRET, method) == PINNED[method]


def test_an_empty_value_is_not_signed_but_a_present_one_is() -> None:
    params = {**PARAMS, "sign_method": "md5"}
    without = {k: v for k, v in params.items() if k != "fields"}
    assert top_sign(without, SECRET, "md5") == top_sign(params, SECRET, "md5")
    assert top_sign({**params, "fields": "tid"}, SECRET, "md5") != PINNED["md5"]


def test_hmac_sha256_is_uppercase_hex_of_sha256_length() -> None:
    sign = top_sign({**PARAMS, "sign_method": "hmac-sha256"}, SECRET, "hmac-sha256")
    assert len(sign) == 64
    assert sign == sign.upper()


def test_verify_accepts_the_vector_in_either_case_and_refuses_another() -> None:
    params = {**PARAMS, "sign_method": "hmac"}
    assert top_verify(params, SECRET, "hmac", PINNED["hmac"].lower())
    assert not top_verify(params, SECRET, "hmac", PINNED["md5"])
    assert not top_verify(params, SECRET, "hmac", "签名")  # non-ASCII garbage is refused, not an error


def test_an_unknown_sign_method_cannot_sign() -> None:
    with pytest.raises(ValueError, match="sign_method"):
        top_sign(PARAMS, SECRET, "sha1")


def _now_top() -> str:
    return datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")


def _call(method: str) -> dict[str, str]:
    """A gateway call with an empty parameter, signed here by hand the way the SDK does."""
    stamp = _now_top()
    params = {
        "method": "taobao.logistics.companies.get",
        "app_key": APP_KEY,
        "sign_method": method,
        "timestamp": stamp,
        "format": "json",
        "v": "2.0",
        "fields": "",
    }
    joined = (
        f"app_key{APP_KEY}formatjsonmethodtaobao.logistics.companies.getsign_method{method}timestamp{stamp}v2.0"
    ).encode()
    key = APP_SECRET.encode()
    if method == "md5":
        sign = hashlib.md5(key + joined + key).hexdigest().upper()
    else:
        sign = hmac.new(key, joined, hashlib.md5 if method == "hmac" else hashlib.sha256).hexdigest().upper()
    return {**params, "sign": sign}


@pytest.mark.parametrize("method", ["md5", "hmac", "hmac-sha256"])
def test_the_gateway_accepts_a_call_signed_like_the_sdk(method: str) -> None:
    assert authenticate(_call(method), APP_KEY, APP_SECRET, 600) == "taobao.logistics.companies.get"


def test_the_gateway_refuses_a_sign_that_covered_the_empty_parameter() -> None:
    call = _call("md5")
    stamp = call["timestamp"]
    joined = (
        f"app_key{APP_KEY}fieldsformatjsonmethodtaobao.logistics.companies.getsign_methodmd5timestamp{stamp}v2.0"
    ).encode()
    key = APP_SECRET.encode()
    call["sign"] = hashlib.md5(key + joined + key).hexdigest().upper()
    with pytest.raises(TopError) as caught:
        authenticate(call, APP_KEY, APP_SECRET, 600)
    assert caught.value.code == 25


async def test_the_http_gateway_answers_an_hmac_sha256_call(sandbox: Harness) -> None:
    response = await sandbox.client.post("/router/rest", data=_call("hmac-sha256"))
    body = response.json()
    assert "logistics_companies_get_response" in body, body
