"""Marketplace wire format against recorded payloads (answers as the marketplace sends them)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.protocol import Outcome, TopError

SECRET = "sandbox-secret"

# Recorded answers (the sandbox's, which follow TOP's shapes).
OFFLINE_OK = b'{"logistics_offline_send_response": {"shipping": {"is_success": true}, "request_id": "5c2e1b0f9a1d"}}'
FULLINFO = json.dumps(
    {
        "trade_fullinfo_get_response": {
            "trade": {
                "tid": "3000000000123456789",
                "status": "WAIT_BUYER_CONFIRM_GOODS",
                "seller_nick": "沙箱店铺001",
                "buyer_nick": "tb83745",
                "payment": "128.50",
                "receiver_name": "王小明",
                "receiver_mobile": "13712345678",
                "receiver_state": "广东省",
                "receiver_city": "广州市",
                "receiver_district": "天河区",
                "receiver_address": "天河路 385 号",
                "receiver_zip": "510000",
                "weight_g": 2300,
                "orders": {
                    "order": [
                        {"oid": "3000000000123456790", "title": "茶叶", "num": 2, "price": "64.25",
                         "logistics_company": "ZTO", "invoice_no": "712345678901"}
                    ]
                },
            },
            "request_id": "8a9b",
        }
    },
    ensure_ascii=False,
).encode()  # fmt: skip


def envelope(code: int, msg: str, sub_code: str | None = None, sub_msg: str | None = None) -> bytes:
    err: dict[str, object] = {"code": code, "msg": msg, "request_id": "r"}
    if sub_code:
        err["sub_code"] = sub_code
    if sub_msg:
        err["sub_msg"] = sub_msg
    return json.dumps({"error_response": err}, ensure_ascii=False).encode()


def test_sign_md5_and_hmac_match_the_documented_algorithm() -> None:
    params = {"method": "taobao.trade.fullinfo.get", "app_key": "k", "timestamp": "2026-11-28 10:00:00", "v": "2.0"}
    joined = "app_keykmethodtaobao.trade.fullinfo.gettimestamp2026-11-28 10:00:00v2.0"
    md5 = hashlib.md5(f"{SECRET}{joined}{SECRET}".encode()).hexdigest().upper()
    mac = hmac.new(SECRET.encode(), joined.encode(), "md5").hexdigest().upper()
    assert protocol.top_sign(params, SECRET, "md5") == md5
    assert protocol.top_sign(params, SECRET, "hmac") == mac
    # sign itself never takes part
    assert protocol.top_sign({**params, "sign": "X"}, SECRET, "md5") == protocol.top_sign(params, SECRET, "md5")


def test_build_params_carries_everything_and_verifies() -> None:
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    p = protocol.build_params(
        protocol.OFFLINE_SEND, app_key="a", secret=SECRET, sign_method="hmac", session="s", now=now,
        tid="1", out_sid="712345678901", company_code="ZTO",
    )  # fmt: skip
    assert p["timestamp"] == "2026-11-28 10:00:00"  # UTC+8
    assert (p["format"], p["v"], p["session"]) == ("json", "2.0", "s")
    assert protocol.verify_sign(p, SECRET)
    assert not protocol.verify_sign({**p, "out_sid": "712345678902"}, SECRET)
    assert not protocol.verify_sign(p, "other")


def test_message_verification_and_parsing() -> None:
    form = {
        "id": "1000000000001",
        "topic": "taobao_trade_TradeBuyerPay",
        "content": '{"tid":"3000000000123456789","oid":"1","payment":"59.90","buyer_nick":"b","seller_nick":"s"}',
        "pub_time": "2026-11-28 10:00:00",
        "user_id": "22",
        "user_nick": "沙箱店铺001",
        "app_key": "sandbox-app",
        "timestamp": "2026-11-28 10:00:01",
        "sign_method": "hmac",
    }
    form["sign"] = protocol.top_sign(form, SECRET, "hmac")
    assert protocol.verify_sign(form, SECRET)
    message = protocol.parse_message(form)
    assert message.tid == "3000000000123456789"  # a string: tids exceed 2**53
    assert message.user_nick == "沙箱店铺001"
    now = datetime(2026, 11, 28, 2, 5, tzinfo=UTC)
    assert protocol.message_fresh(form, 600, now)
    assert not protocol.message_fresh(form, 60, now)
    with pytest.raises(protocol.BadMessage):
        protocol.parse_message({**form, "content": "not json"})


def test_offline_send_success() -> None:
    assert protocol.offline_send_ok(protocol.parse_response(protocol.OFFLINE_SEND, 200, OFFLINE_OK))


@pytest.mark.parametrize(
    ("sub", "outcome"),
    [
        ("B04", Outcome.ALREADY_SHIPPED),
        ("B60", Outcome.NUMBER_REJECTED),
        ("F04", Outcome.NUMBER_REJECTED),
        ("F05", Outcome.NUMBER_REJECTED),
        ("F01", Outcome.NUMBER_EXPIRED),
        ("B150", Outcome.TRANSIENT),
        ("S01", Outcome.TRANSIENT),
        ("B01", Outcome.FATAL),
        ("B56", Outcome.FATAL),
        ("B57", Outcome.FATAL),
        ("B59", Outcome.FATAL),
    ],
)
def test_offline_send_error_codes(sub: str, outcome: Outcome) -> None:
    raw = envelope(15, "Remote service error", f"isv.logistics-offline-service-error:{sub}", "运单号已被使用")
    with pytest.raises(TopError) as info:
        protocol.parse_response(protocol.OFFLINE_SEND, 200, raw)
    assert info.value.offline_code == sub
    assert info.value.short_code == sub
    assert info.value.outcome is outcome
    assert info.value.message == "运单号已被使用"


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (envelope(7, "App Call Limited", "accesscontrol.limited-by-app-access-count"), Outcome.TRANSIENT),
        (envelope(15, "Remote service error", "isp.top-remote-service-unavailable"), Outcome.TRANSIENT),
        (envelope(15, "Remote service error", "isp.remote-service-timeout"), Outcome.TRANSIENT),
        (envelope(25, "Invalid signature"), Outcome.FATAL),
        (envelope(27, "Invalid session", "invalid-sessionkey"), Outcome.FATAL),
    ],
)
def test_platform_errors(raw: bytes, outcome: Outcome) -> None:
    with pytest.raises(TopError) as info:
        protocol.parse_response(protocol.OFFLINE_SEND, 200, raw)
    assert info.value.outcome is outcome


def test_garbage_and_5xx_are_transient() -> None:
    for status, raw in ((502, b"bad gateway"), (200, b"<html>"), (200, b"[]"), (200, b'{"other_response": {}}')):
        with pytest.raises(TopError) as info:
            protocol.parse_response(protocol.OFFLINE_SEND, status, raw)
        assert info.value.outcome is Outcome.TRANSIENT


def test_fullinfo_parses_receiver_money_and_the_shipped_number() -> None:
    trade = protocol.parse_trade(protocol.parse_response(protocol.FULLINFO, 200, FULLINFO))
    assert trade.tid == "3000000000123456789"
    assert trade.payment_cents == 12850
    assert trade.receiver_state == "广东省"
    assert trade.weight_g == 2300
    assert trade.items == [{"oid": "3000000000123456790", "title": "茶叶", "num": 2, "price_cents": 6425}]
    assert (trade.shipped_number, trade.shipped_company) == ("712345678901", "ZTO")
    assert trade.has_address


def test_trade_not_exist_is_fatal_with_its_sub_code() -> None:
    raw = envelope(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
    with pytest.raises(TopError) as info:
        protocol.parse_response(protocol.FULLINFO, 200, raw)
    assert info.value.sub_code == "isv.trade-not-exist"


def test_yuan_to_cents_is_exact() -> None:
    assert protocol.yuan_to_cents("0.10") == 10
    assert protocol.yuan_to_cents("19.99") == 1999
    assert protocol.yuan_to_cents(None) == 0
