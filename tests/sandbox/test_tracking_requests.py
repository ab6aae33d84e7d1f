"""The provider's requests read on their own: each refusal of a subscription or a query, and what passes.

Query signs come from the tests' own md5 (support.md5_upper), never the sandbox's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.sandbox.tracking_provider.requests import (
    Query,
    Refusal,
    Subscription,
    check_customer,
    read_query,
    read_subscription,
)
from tests.sandbox.support import K100_KEY, md5_upper

GOOD: dict[str, Any] = {
    "company": "yuantong",
    "number": " YT1234567890123 ",
    "key": K100_KEY,
    "parameters": {"callbackurl": "https://us/callback", "salt": "s", "resultv2": 4},
}


def refused(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(Refusal) as caught:
        call(*args)
    return caught.value.code, caught.value.message


def test_a_good_subscription_is_read_with_its_number_stripped() -> None:
    assert read_subscription("json", json.dumps(GOOD), K100_KEY) == Subscription(
        "yuantong", "YT1234567890123", "https://us/callback", "s", "4"
    )


def test_salt_and_resultv2_have_defaults() -> None:
    param = {**GOOD, "parameters": {"callbackurl": "http://us/cb"}}
    subscription = read_subscription("json", json.dumps(param), K100_KEY)
    assert (subscription.salt, subscription.resultv2) == ("", "0")


@pytest.mark.parametrize(
    ("schema", "param", "code"),
    [
        ("xml", json.dumps(GOOD), "700"),
        ("json", "not json", "700"),
        ("json", "[1, 2]", "700"),
        ("json", json.dumps({**GOOD, "key": "other"}), "700"),
        ("json", json.dumps({**GOOD, "number": "  "}), "700"),
        ("json", json.dumps({**GOOD, "company": ""}), "700"),
        ("json", json.dumps({**GOOD, "parameters": {"callbackurl": "ftp://x"}}), "700"),
        ("json", json.dumps({**GOOD, "parameters": {"callbackurl": "http://x", "salt": 1}}), "700"),
        ("json", json.dumps({**GOOD, "company": "dhl"}), "701"),
        ("json", json.dumps({**GOOD, "company": "nobody"}), "702"),
        ("json", json.dumps({**GOOD, "number": "ZT1"}), "700"),
    ],
)
def test_bad_subscriptions_are_refused(schema: str, param: str, code: str) -> None:
    assert refused(read_subscription, schema, param, K100_KEY)[0] == code


def test_a_query_needs_the_customer_and_its_sign() -> None:
    assert check_customer("me", "me") == "me"
    assert refused(check_customer, None, "me")[0] == "400"
    raw = json.dumps({"com": "yuantong", "num": "YT1"})
    assert read_query(raw, md5_upper(raw + K100_KEY + "me").lower(), K100_KEY, "me") == Query("yuantong", "YT1")
    assert refused(read_query, raw, "00", K100_KEY, "me") == ("400", "验证签名失败 (sign check failed)")
    assert refused(read_query, raw, None, K100_KEY, "me")[0] == "400"
    partial = json.dumps({"com": "yuantong"})
    assert refused(read_query, partial, md5_upper(partial + K100_KEY + "me"), K100_KEY, "me")[1].startswith("参数错误")
