"""Pinduoduo's wire format: signing by hand, answers as the platform shapes them, error classification,
and the order-message frame."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.shipping.channels.base import ChannelName, MessageKind, OrderState, Refusal
from services.shipping.channels.pinduoduo import carriers, errors, protocol
from services.shipping.channels.pinduoduo.messages import message_sign
from services.shipping.channels.pinduoduo.protocol import BadMessage, BadSignature, PddError

SECRET = "pdd-secret"
CLIENT_ID = "pdd-client"
NOW = datetime(2026, 1, 1, 4, 0, 0, tzinfo=UTC)


def test_sign_is_md5_of_the_sorted_pairs_wrapped_in_the_secret() -> None:
    params = {
        "type": "pdd.logistics.online.send",
        "client_id": CLIENT_ID,
        "timestamp": "1767240000",
        "data_type": "JSON",
        "version": "V1",
        "access_token": "tok",
        "order_sn": "231128-012345678901234",
        "logistics_id": "115",
        "tracking_number": "73100000000001",
        "feature": "",  # empty values are signed too: the official SDK signs every entry of the map
    }
    joined = (
        "access_tokentokclient_idpdd-clientdata_typeJSONfeaturelogistics_id115order_sn231128-012345678901234"
        "timestamp1767240000tracking_number73100000000001typepdd.logistics.online.sendversionV1"
    )
    expected = hashlib.md5(f"{SECRET}{joined}{SECRET}".encode()).hexdigest().upper()
    assert protocol.sign(params, SECRET) == expected
    assert protocol.sign({**params, "sign": "X"}, SECRET) == expected  # sign never takes part
    without_feature = {k: v for k, v in params.items() if k != "feature"}
    assert protocol.sign(without_feature, SECRET) != expected


def test_build_params_carries_the_common_parameters_and_signs_them() -> None:
    p = protocol.build_params(
        protocol.ONLINE_SEND, CLIENT_ID, SECRET, "tok", NOW, order_sn="231128-1", logistics_id=115, feature=None
    )
    assert p["type"] == protocol.ONLINE_SEND
    assert p["client_id"] == CLIENT_ID
    assert p["timestamp"] == str(int(NOW.timestamp()))
    assert (p["data_type"], p["version"], p["access_token"]) == ("JSON", "V1", "tok")
    assert p["logistics_id"] == "115"
    assert "feature" not in p  # None never enters the map, as in the SDK
    assert p["sign"] == protocol.sign({k: v for k, v in p.items() if k != "sign"}, SECRET)
    no_token = protocol.build_params(protocol.COMPANIES, CLIENT_ID, SECRET, None, NOW)
    assert "access_token" not in no_token


def envelope(code: object, msg: str = "refused", sub_code: str | None = None) -> bytes:
    err: dict[str, object] = {"error_code": code, "error_msg": msg, "request_id": "1617687389112"}
    if sub_code is not None:
        err["sub_code"], err["sub_msg"] = sub_code, msg
    return json.dumps({"error_response": err}).encode()


ORDER = {
    "order_info_get_response": {
        "order_info": {
            "order_sn": "231128-012345678901234",
            "order_status": 1,
            "refund_status": 1,
            "confirm_status": 1,
            "receiver_name": "王小明",
            "receiver_phone": "13712345678",
            "province": "广东省",
            "city": "广州市",
            "town": "天河区",
            "receiver_address": "天河路 385 号",
            "address": "广东省广州市天河区天河路 385 号",
            "pay_amount": "128.50",
            "item_list": [
                {"goods_id": 101, "sku_id": 202, "goods_name": "茶叶", "goods_count": 2, "goods_price": "64.25"}
            ],
            "tracking_number": "",
            "logistics_id": 0,
            "created_time": "2023-11-28 10:00:00",
        }
    }
}


def order_answer(**fields: object) -> bytes:
    body = json.loads(json.dumps(ORDER))
    body["order_info_get_response"]["order_info"].update(fields)
    return json.dumps(body).encode()


def read_order(raw: bytes):
    return protocol.parse_order(protocol.parse_response(protocol.ORDER_INFO, 200, raw))


def test_an_order_awaiting_shipment_parses_whole() -> None:
    o = read_order(order_answer())
    assert o.external_id == "231128-012345678901234"
    assert o.state is OrderState.AWAITING_SHIPMENT
    assert (o.receiver_name, o.receiver_phone) == ("王小明", "13712345678")
    assert (o.receiver_state, o.receiver_city, o.receiver_district) == ("广东省", "广州市", "天河区")
    assert o.receiver_address == "天河路 385 号"
    assert o.payment_cents == 12850
    assert o.items == [{"goods_id": "101", "sku_id": "202", "title": "茶叶", "num": 2, "price_cents": 6425}]
    assert o.shipped_number is None
    assert o.has_address


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"refund_status": 2}, OrderState.OTHER),  # after-sales in progress: not now
        ({"refund_status": 3}, OrderState.OTHER),
        ({"refund_status": 4}, OrderState.CLOSED),
        ({"confirm_status": 2}, OrderState.CLOSED),  # cancelled
        ({"confirm_status": 0}, OrderState.OTHER),  # not yet 成交
        ({"order_status": 2}, OrderState.SHIPPED),
        ({"order_status": 3}, OrderState.SHIPPED),
        ({"order_status": 9}, OrderState.OTHER),
        ({"order_status": "1", "refund_status": "1"}, OrderState.AWAITING_SHIPMENT),
    ],
)
def test_state_comes_from_order_and_refund_status(fields: dict[str, object], state: OrderState) -> None:
    assert read_order(order_answer(**fields)).state is state


def test_a_shipped_order_gives_its_number_and_our_carrier() -> None:
    o = read_order(order_answer(order_status=2, tracking_number="73100000000001", logistics_id=115))
    assert (o.shipped_number, o.shipped_carrier) == ("73100000000001", "ZTO")
    unknown = read_order(order_answer(order_status=2, tracking_number="X1", logistics_id=99999))
    assert (unknown.shipped_number, unknown.shipped_carrier) == ("X1", None)


def test_missing_and_hostile_fields_are_tolerated() -> None:
    raw = json.dumps(
        {
            "order_info_get_response": {
                "order_info": {
                    "order_sn": "231128-1",
                    "pay_amount": "1e999999",
                    "item_list": [{"goods_count": True, "goods_price": "abc"}, "junk"],
                    "receiver_name": {"x": 1},
                }
            }
        }
    )
    o = read_order(raw.encode())
    assert o.state is OrderState.OTHER
    assert o.payment_cents == 0
    assert o.items == [{"goods_id": "", "sku_id": "", "title": "", "num": 1, "price_cents": 0}]
    assert o.receiver_name == ""
    assert not o.has_address


def test_yuan_to_cents_is_exact() -> None:
    assert protocol.yuan_to_cents("0.10") == 10
    assert protocol.yuan_to_cents("19.99") == 1999
    assert protocol.yuan_to_cents(3) == 300
    assert protocol.yuan_to_cents("-1") == 0
    assert protocol.yuan_to_cents("NaN") == 0
    assert protocol.yuan_to_cents("1e999999999") == 0
    assert protocol.yuan_to_cents("10000000001") == 0  # above ten billion yuan


def test_no_order_info_is_an_unreadable_answer() -> None:
    with pytest.raises(PddError) as e:
        read_order(b'{"order_info_get_response": {}}')
    assert e.value.refusal is Refusal.RETRY


def test_mall_info_gives_the_mall_id_as_text() -> None:
    body = protocol.parse_response(
        protocol.MALL_INFO, 200, b'{"mall_info_get_response": {"mall_id": 171504183, "mall_name": "\xe5\xba\x97"}}'
    )
    assert protocol.parse_mall_id(body) == "171504183"
    for bad in ({}, {"mall_id": True}, {"mall_id": "abc"}, {"mall_id": None}):
        with pytest.raises(PddError):
            protocol.parse_mall_id(bad)


def test_companies_list_keeps_available_companies_by_id() -> None:
    raw = json.dumps(
        {
            "logistics_companies_get_response": {
                "logistics_companies": [
                    {"id": 115, "logistics_company": "中通快递", "code": "ZTO", "available": 1},
                    {"id": 85, "logistics_company": "圆通快递", "code": "YTO", "available": 1},
                    {"id": 116, "logistics_company": "全峰快递", "code": "QF", "available": 0},
                    {"id": "x", "code": "BAD"},
                    "junk",
                ]
            }
        }
    ).encode()
    assert protocol.parse_companies(protocol.parse_response(protocol.COMPANIES, 200, raw)) == {115: "ZTO", 85: "YTO"}
    with pytest.raises(PddError):
        protocol.parse_companies({})


def test_online_send_success() -> None:
    body = protocol.parse_response(
        protocol.ONLINE_SEND, 200, b'{"logistics_online_send_response": {"is_success": true}}'
    )
    assert protocol.online_send_ok(body)
    assert not protocol.online_send_ok({"is_success": "true"})


@pytest.mark.parametrize("raw", [b"<html>", b"[1]", b'{"other_response": {}}', b"[" * 100000])
def test_garbage_is_a_network_error(raw: bytes) -> None:
    with pytest.raises(PddError) as e:
        protocol.parse_response(protocol.ONLINE_SEND, 200, raw)
    assert (e.value.code, e.value.refusal) == ("network", Refusal.RETRY)


def test_a_5xx_is_a_network_error_even_with_an_envelope() -> None:
    with pytest.raises(PddError) as e:
        protocol.parse_response(protocol.ONLINE_SEND, 502, envelope(errors.ORDER_ALREADY_SHIPPED))
    assert e.value.refusal is Refusal.RETRY


@pytest.mark.parametrize(
    ("code", "refusal", "session"),
    [
        (errors.ACCESS_TOKEN_EXPIRED, Refusal.PERMANENT, True),
        (errors.ACCESS_TOKEN_INVALID, Refusal.PERMANENT, True),
        (errors.PARAMETER_INVALID, Refusal.PERMANENT, False),
        (errors.SIGN_INVALID, Refusal.PERMANENT, False),
        (errors.RATE_LIMITED_API, Refusal.RETRY, False),
        (errors.API_UNAVAILABLE, Refusal.RETRY, False),
        (errors.SERVICE_UNAVAILABLE, Refusal.RETRY, False),
        (errors.RATE_LIMITED, Refusal.RETRY, False),
        (errors.ORDER_NOT_FOUND, Refusal.ORDER_CLOSED, False),
        (errors.ORDER_ALREADY_SHIPPED, Refusal.ALREADY_SHIPPED, False),
        (errors.ORDER_CANNOT_SHIP, Refusal.ORDER_CLOSED, False),
        (errors.TRACKING_NUMBER_INVALID, Refusal.NUMBER_REJECTED, False),
        (errors.TRACKING_NUMBER_USED, Refusal.NUMBER_REJECTED, False),
        (errors.LOGISTICS_COMPANY_UNKNOWN, Refusal.PERMANENT, False),
        (12345, Refusal.PERMANENT, False),  # unnamed, in the SDK's caller range
        (50999, Refusal.PERMANENT, False),  # unnamed, in the SDK's business range
        (60000, Refusal.RETRY, False),  # unnamed, outside both: the platform's
        ("oops", Refusal.PERMANENT, False),
    ],
)
def test_each_error_code_has_its_refusal(code: object, refusal: Refusal, session: bool) -> None:
    with pytest.raises(PddError) as e:
        protocol.parse_response(protocol.ONLINE_SEND, 200, envelope(code))
    assert (e.value.refusal, e.value.session_invalid) == (refusal, session)


def test_the_table_covers_every_named_code() -> None:
    named = {v for k, v in vars(errors).items() if k.isupper() and isinstance(v, int) and k != "NETWORK"}
    assert named == set(errors.ERROR_REFUSALS)


def test_error_code_as_digits_and_business_detail_in_sub_code() -> None:
    with pytest.raises(PddError) as e:
        protocol.parse_response(protocol.ONLINE_SEND, 200, envelope("10019"))
    assert e.value.code == 10019
    assert e.value.session_invalid
    with pytest.raises(PddError) as e:
        protocol.parse_response(protocol.ONLINE_SEND, 200, envelope(10000, "单号已使用", "50005"))
    assert (e.value.refusal, e.value.short_code, e.value.message) == (Refusal.NUMBER_REJECTED, "50005", "单号已使用")


def test_carrier_table_is_both_ways_and_complete() -> None:
    for code in ("YTO", "ZTO", "STO", "YUNDA", "SF", "EMS", "JD", "JT"):
        carrier = carriers.ours(code)
        assert carrier is not None
        assert carriers.CARRIER_OF_ID[carriers.LOGISTICS_IDS[carrier]] is carrier
    assert carriers.ours("jtsd") is carriers.ours("JT")
    assert carriers.LOGISTICS_IDS[carriers.ours("ZTO")] == 115  # type: ignore[index]
    assert carriers.ours("NOPE") is None


# --- order messages ----------------------------------------------------------------------------------


def frame(kind: str = "pdd_trade_TradeConfirmed", mall_id: int = 171504183, **content: object) -> bytes:
    inner = {"mall_id": mall_id, "tid": "231128-012345678901234", **content}
    return json.dumps(
        {
            "id": 9007199254740993,
            "commandType": "Common",
            "time": 1767240000000,
            "sendTime": 1767240000123,
            "message": {"type": kind, "mallID": mall_id, "content": json.dumps(inner)},
        },
        ensure_ascii=False,
    ).encode()


def headers_for(body: bytes, stamp: int | None = None, client_id: str = CLIENT_ID) -> dict[str, str]:
    ts = str(int(NOW.timestamp()) if stamp is None else stamp)
    sign = hashlib.md5(SECRET.encode() + ts.encode() + body + SECRET.encode()).hexdigest().upper()
    return {"X-Pdd-Client-Id": client_id, "X-Pdd-Timestamp": ts, "X-Pdd-Sign": sign}


def verify(body: bytes, headers: dict[str, str]):
    return protocol.verify_message(headers, body, CLIENT_ID, SECRET, 300, NOW)


def test_a_well_signed_message_is_parsed() -> None:
    body = frame()
    m = verify(body, headers_for(body))
    assert (m.channel, m.id, m.topic, m.kind) == (
        ChannelName.PINDUODUO,
        "9007199254740993",
        "pdd_trade_TradeConfirmed",
        MessageKind.PAID,
    )
    assert (m.seller_id, m.external_id) == ("171504183", "231128-012345678901234")
    assert m.content["mall_id"] == 171504183
    # header names are case-insensitive
    assert verify(body, {k.lower(): v for k, v in headers_for(body).items()}).id == m.id
    assert message_sign(SECRET, headers_for(body)["X-Pdd-Timestamp"], body) == headers_for(body)["X-Pdd-Sign"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("pdd_trade_TradeConfirmed", MessageKind.PAID),
        ("pdd_trade_TradeLogisticsAddressChanged", MessageKind.ADDRESS_CHANGED),
        ("pdd_refund_RefundCreated", MessageKind.CLOSED),
        ("pdd_refund_RefundAgreeAgreement", MessageKind.CLOSED),
        ("pdd_trade_TradeSellerShip", MessageKind.OTHER),
        ("pdd_trade_TradeSuccess", MessageKind.OTHER),
    ],
)
def test_each_type_has_its_kind(kind: str, expected: MessageKind) -> None:
    body = frame(kind)
    assert verify(body, headers_for(body)).kind is expected


def test_a_bad_or_missing_sign_is_refused() -> None:
    body = frame()
    h = headers_for(body)
    with pytest.raises(BadSignature):
        verify(body, {**h, "X-Pdd-Sign": "0" * 32})
    with pytest.raises(BadSignature):
        verify(body + b" ", h)  # the body is signed byte for byte
    with pytest.raises(BadSignature):
        verify(body, {k: v for k, v in h.items() if k != "X-Pdd-Sign"})
    with pytest.raises(BadSignature):
        verify(body, {**h, "X-Pdd-Sign": "签名ï"})
    with pytest.raises(BadSignature):
        protocol.verify_message(h, body, CLIENT_ID, "other-secret", 300, NOW)


def test_another_client_id_is_refused() -> None:
    body = frame()
    with pytest.raises(BadSignature):
        verify(body, headers_for(body, client_id="someone-else"))
    with pytest.raises(BadSignature):
        verify(body, {k: v for k, v in headers_for(body).items() if k != "X-Pdd-Client-Id"})


def test_a_stale_or_malformed_timestamp_is_refused() -> None:
    body = frame()
    now = int(NOW.timestamp())
    assert verify(body, headers_for(body, now - 300)).id  # at the edge of the window: fine
    for stamp in (now - 301, now + 301):
        with pytest.raises(BadSignature):
            verify(body, headers_for(body, stamp))
    for bad in ("", "abc", "1" * 40, "-5"):
        with pytest.raises(BadSignature):
            verify(body, {**headers_for(body), "X-Pdd-Timestamp": bad})


def _signed_garbage(body: bytes) -> None:
    with pytest.raises(BadMessage):
        verify(body, headers_for(body))


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b"\xff\xfe",
        b"[" * 100000,
        b'{"id": "x", "message": {"type": "t", "mallID": 1, "content": "{}"}}',
        b'{"id": true, "message": {"type": "t", "mallID": 1, "content": "{}"}}',
        b'{"id": 1}',
        b'{"id": 1, "message": {"mallID": 1, "content": "{}"}}',
        b'{"id": 1, "message": {"type": "t", "mallID": "1", "content": "{}"}}',
        b'{"id": 1, "message": {"type": "t", "mallID": 1, "content": {"tid": "1"}}}',
        b'{"id": 1, "message": {"type": "t", "mallID": 1, "content": "not json"}}',
        b'{"id": 1, "message": {"type": "t", "mallID": 1, "content": "[1]"}}',
        b'{"id": 1, "message": {"type": "t", "mallID": 1, "content": "{\\"tid\\": [1]}"}}',
    ],
)
def test_malformed_frames_and_content_are_bad_messages(body: bytes) -> None:
    _signed_garbage(body)


def test_content_for_another_mall_is_a_bad_message() -> None:
    body = json.dumps(
        {
            "id": 1,
            "message": {
                "type": "pdd_trade_TradeConfirmed",
                "mallID": 1,
                "content": json.dumps({"mall_id": 2, "tid": "x"}),
            },
        }
    ).encode()
    _signed_garbage(body)


def test_a_message_without_tid_has_no_order() -> None:
    body = json.dumps({"id": 5, "message": {"type": "pdd_trade_TradeSuccess", "mallID": 7, "content": "{}"}}).encode()
    m = verify(body, headers_for(body))
    assert (m.external_id, m.seller_id, m.kind) == (None, "7", MessageKind.OTHER)


def test_last_ship_time_is_the_ship_by_deadline_in_beijing_time() -> None:
    o = read_order(order_answer(last_ship_time="2023-11-30 10:00:00"))
    assert o.ship_by == datetime(2023, 11, 30, 2, 0, tzinfo=UTC)
    assert o.ship_by is not None
    assert o.ship_by.utcoffset() == timedelta(hours=8)
    for unreadable in ("", "2023-11-30", "soon", None, 17):
        assert read_order(order_answer(last_ship_time=unreadable)).ship_by is None
    assert read_order(order_answer()).ship_by is None


def test_shipped_numbers_are_the_tracking_number_then_every_extra_one_once() -> None:
    o = read_order(
        order_answer(
            order_status=2,
            tracking_number="73100000000001",
            logistics_id=115,
            extra_delivery_list=[
                {"logistics_id": 115, "tracking_number": "73100000000002"},
                {"logistics_id": 115, "tracking_number": "73100000000001"},
                "junk",
                {"tracking_number": ""},
            ],
            gift_delivery_list=[{"logistics_id": 115, "tracking_number": "73100000000009"}],
        )
    )
    assert o.shipped_number == "73100000000001"
    assert o.shipped_numbers == ("73100000000001", "73100000000002", "73100000000009")
    assert read_order(order_answer()).shipped_numbers == ()
    assert read_order(order_answer(extra_delivery_list={"x": 1})).shipped_numbers == ()


def test_extra_track_list_and_its_answer() -> None:
    assert json.loads(protocol.extra_track_list(115, ["A1", "A2"])) == [
        {"shipping_id": 115, "tracking_number": "A1"},
        {"shipping_id": 115, "tracking_number": "A2"},
    ]
    raw = b'{"upload_extra_logistics_response": {"success": true, "request_id": "1"}}'
    assert protocol.upload_extra_ok(protocol.parse_response(protocol.UPLOAD_EXTRA, 200, raw))
    assert not protocol.upload_extra_ok({"success": "true"})
