"""TOP signing vectors computed by hand from the official SDK's algorithm (TaobaoUtils.signTopRequest):
sorted by name, empty values left out, name+value joined; md5 wraps it in the secret, hmac and hmac-sha256
key it with the secret; uppercase hex."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.shipping.channels.taobao.protocol import top_sign, verify_sign

SECRET = "helloworld"
PARAMS = {
    "method": "taobao.logistics.offline.send",
    "app_key": "12345678",
    "session": "test",
    "timestamp": "2026-01-01 12:00:00",
    "v": "2.0",
    "format": "json",
    "tid": "3000000000123456789",
    "out_sid": "712345678901",
    "company_code": "ZTO",
    "memo": "",  # empty: the SDK leaves it out of the signed string
}
# Written out by hand, in name order, without memo (empty) and without sign_method (added per case below).
JOINED = (
    "app_key12345678company_codeZTOformatjsonmethodtaobao.logistics.offline.send"
    "out_sid712345678901sessiontesttid3000000000123456789timestamp2026-01-01 12:00:00v2.0"
)


def _params(method: str) -> dict[str, str]:
    return {**PARAMS, "sign_method": method}


def _joined(method: str) -> str:
    # sign_method sorts between session and tid
    return JOINED.replace("sessiontest", f"sessiontestsign_method{method}")


def test_md5_wraps_the_joined_string_in_the_secret() -> None:
    expected = hashlib.md5(f"{SECRET}{_joined('md5')}{SECRET}".encode()).hexdigest().upper()
    assert top_sign(_params("md5"), SECRET, "md5") == expected


def test_hmac_is_hmac_md5_keyed_with_the_secret() -> None:
    expected = hmac.new(SECRET.encode(), _joined("hmac").encode(), hashlib.md5).hexdigest().upper()
    assert top_sign(_params("hmac"), SECRET, "hmac") == expected


def test_hmac_sha256_is_hmac_sha256_keyed_with_the_secret() -> None:
    expected = hmac.new(SECRET.encode(), _joined("hmac-sha256").encode(), hashlib.sha256).hexdigest().upper()
    assert top_sign(_params("hmac-sha256"), SECRET, "hmac-sha256") == expected
    assert len(expected) == 64


@pytest.mark.parametrize("method", ["md5", "hmac", "hmac-sha256"])
def test_an_empty_value_is_left_out(method: str) -> None:
    without = {k: v for k, v in _params(method).items() if k != "memo"}
    assert top_sign(_params(method), SECRET, method) == top_sign(without, SECRET, method)
    # a non-empty value does take part
    assert top_sign({**_params(method), "memo": "x"}, SECRET, method) != top_sign(without, SECRET, method)


@pytest.mark.parametrize("method", ["md5", "hmac", "hmac-sha256"])
def test_verify_sign_accepts_each_method_and_refuses_a_change(method: str) -> None:
    params = _params(method)
    params["sign"] = top_sign(params, SECRET, method)
    assert verify_sign(params, SECRET)
    assert verify_sign({**params, "sign": params["sign"].lower()}, SECRET)
    assert not verify_sign({**params, "out_sid": "712345678902"}, SECRET)
    assert not verify_sign(params, "other-secret")


def test_verify_sign_refuses_an_unknown_method() -> None:
    params = _params("sha1")
    params["sign"] = top_sign(_params("md5"), SECRET, "md5")
    assert not verify_sign(params, SECRET)
    with pytest.raises(ValueError, match="sha1"):
        top_sign(params, SECRET, "sha1")
