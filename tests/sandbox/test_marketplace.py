"""The marketplace gateway: signatures, trades, offline send's sub_codes, carriers, order messages."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from tests.sandbox.support import (
    APP_SECRET,
    Harness,
    running,
    top_params,
    top_sign,
    top_timestamp,
    wait_for,
)

FULLINFO = "taobao.trade.fullinfo.get"
SEND = "taobao.logistics.offline.send"
COMPANIES = "taobao.logistics.companies.get"
FIELDS = (
    "tid,status,seller_nick,buyer_nick,payment,created,pay_time,receiver_name,receiver_mobile,receiver_state,"
    "receiver_city,receiver_district,receiver_address,receiver_zip,orders,weight_g"
)


def error(body: dict[str, Any]) -> dict[str, Any]:
    assert "error_response" in body, body
    found: dict[str, Any] = body["error_response"]
    return found


def sub(body: dict[str, Any]) -> str:
    code: str = error(body)["sub_code"]
    return code


def offline(xx: str) -> str:
    return f"isv.logistics-offline-service-error:{xx}"


async def send(sb: Harness, session: str, tid: str, out_sid: str, company: str = "ZTO") -> dict[str, Any]:
    return await sb.top(SEND, session, tid=tid, out_sid=out_sid, company_code=company)


# -- signatures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sign_method", ["md5", "hmac"])
async def test_correct_signature_is_accepted(sandbox: Harness, sign_method: str) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    body = await sandbox.top(FULLINFO, session, sign_method=sign_method, tid=tid, fields="tid,status")
    assert body["trade_fullinfo_get_response"]["trade"] == {"tid": tid, "status": "WAIT_SELLER_SEND_GOODS"}


async def test_signature_matches_a_hand_computed_example(sandbox: Harness) -> None:
    # Pinned by hand: md5("sandbox-secret" + "app_keysandbox-app...v2.0" + "sandbox-secret").
    params = {
        "app_key": "sandbox-app",
        "format": "json",
        "method": COMPANIES,
        "sign_method": "md5",
        "timestamp": "2026-11-28 10:00:00",
        "v": "2.0",
    }
    joined = "app_keysandbox-appformatjsonmethodtaobao.logistics.companies.getsign_methodmd5"
    joined += "timestamp2026-11-28 10:00:00v2.0"

    assert (
        top_sign(params, APP_SECRET, "md5")
        == hashlib.md5(f"{APP_SECRET}{joined}{APP_SECRET}".encode()).hexdigest().upper()
    )


@pytest.mark.parametrize("sign_method", ["md5", "hmac"])
async def test_tampered_parameter_is_refused(sandbox: Harness, sign_method: str) -> None:
    session = await sandbox.seller()
    [tid, other] = await sandbox.trades("shop-a", 2)
    params = top_params(FULLINFO, session, sign_method=sign_method, tid=tid, fields="tid")
    params["tid"] = other
    body = (await sandbox.client.post("/router/rest", data=params)).json()
    assert error(body)["code"] == 25
    assert error(body)["msg"] == "Invalid signature"


@pytest.mark.parametrize("sign_method", ["md5", "hmac"])
async def test_wrong_secret_is_refused(sandbox: Harness, sign_method: str) -> None:
    body = await sandbox.top(COMPANIES, secret="not-the-secret", sign_method=sign_method)
    assert error(body)["code"] == 25


async def test_wrong_app_key_is_refused(sandbox: Harness) -> None:
    body = await sandbox.top(COMPANIES, app_key="someone-else")
    assert error(body)["code"] == 29
    assert error(body)["msg"] == "Invalid app Key"


@pytest.mark.parametrize("offset_s", [-11 * 60, 11 * 60])
async def test_stale_timestamp_is_refused(sandbox: Harness, offset_s: int) -> None:
    body = await sandbox.top(COMPANIES, timestamp=top_timestamp(offset_s))
    assert error(body)["code"] == 31


@pytest.mark.parametrize("offset_s", [-9 * 60, 9 * 60])
async def test_timestamp_within_ten_minutes_is_accepted(sandbox: Harness, offset_s: int) -> None:
    body = await sandbox.top(COMPANIES, timestamp=top_timestamp(offset_s))
    assert "logistics_companies_get_response" in body


async def test_query_parameters_are_signed_too(sandbox: Harness) -> None:
    params = top_params(COMPANIES)
    response = await sandbox.client.get("/router/rest", params=params)
    assert "logistics_companies_get_response" in response.json()


async def test_session_is_required_and_checked(sandbox: Harness) -> None:
    await sandbox.seller()
    assert error(await sandbox.top(FULLINFO, tid="1", fields="tid"))["code"] == 26
    assert error(await sandbox.top(FULLINFO, "no-such-session", tid="1", fields="tid"))["code"] == 27


async def test_user_seller_get_names_the_session_s_seller(sandbox: Harness) -> None:
    a, b = await sandbox.seller("shop-a"), await sandbox.seller("shop-b")
    for session, nick in ((a, "shop-a"), (b, "shop-b")):
        body = await sandbox.top("taobao.user.seller.get", session, fields="nick,user_id")
        user = body["user_seller_get_response"]["user"]
        assert user["nick"] == nick
        assert set(user) == {"nick", "user_id"}
    assert error(await sandbox.top("taobao.user.seller.get", "6100forged", fields="nick"))["code"] == 27
    assert error(await sandbox.top("taobao.user.seller.get", a))["code"] == 40


async def test_unknown_method_and_missing_fields(sandbox: Harness) -> None:
    session = await sandbox.seller()
    assert error(await sandbox.top("taobao.nothing.here", session))["code"] == 22
    assert error(await sandbox.top(FULLINFO, session, tid="123"))["code"] == 40


# -- trades -----------------------------------------------------------------------------------------------


async def test_trades_are_realistic_and_cover_every_province(sandbox: Harness) -> None:
    session = await sandbox.seller()
    tids = await sandbox.trades("shop-a", 600)
    assert len(set(tids)) == 600
    provinces = set()
    for tid in tids[:600]:
        trade = (await sandbox.top(FULLINFO, session, tid=tid, fields=FIELDS))["trade_fullinfo_get_response"]["trade"]
        assert re.fullmatch(r"\d{19}", trade["tid"])
        assert re.fullmatch(r"1[3-9]\d{9}", trade["receiver_mobile"])
        assert re.fullmatch(r"\d+\.\d{2}", trade["payment"])
        assert re.fullmatch(r"\d{6}", trade["receiver_zip"])
        assert 100 <= trade["weight_g"] <= 20_000
        assert trade["receiver_name"]
        assert trade["receiver_district"]
        assert trade["receiver_address"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", trade["pay_time"])
        lines = trade["orders"]["order"]
        assert lines
        assert all(line["title"] and line["num"] >= 1 for line in lines)
        cents = sum(int(line["price"].replace(".", "")) * line["num"] for line in lines)
        assert cents == int(trade["payment"].replace(".", ""))
        provinces.add(trade["receiver_state"])
    assert len(provinces) == 31


async def test_unknown_or_foreign_trade_does_not_exist(sandbox: Harness) -> None:
    session = await sandbox.seller("shop-a")
    await sandbox.seller("shop-b")
    [foreign] = await sandbox.trades("shop-b")
    assert sub(await sandbox.top(FULLINFO, session, tid="1234567890123456789", fields="tid")) == "isv.trade-not-exist"
    assert sub(await sandbox.top(FULLINFO, session, tid=foreign, fields="tid")) == "isv.trade-not-exist"


async def test_carriers_list_their_number_patterns(sandbox: Harness) -> None:
    body = await sandbox.top(COMPANIES)
    rows = body["logistics_companies_get_response"]["logistic_companies"]["logistics_company"]
    by_code = {row["code"]: row for row in rows}
    expected = {"YTO", "ZTO", "STO", "YUNDA", "SF", "EMS", "EYB", "POSTB", "HTKY", "JD", "UC", "TTKDEX", "ZJS"}
    assert expected | {"DBKD", "JT"} == set(by_code)
    samples: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "SF": (("SF1234567890123", "123456789012"), ("SF12345", "1234567890123")),
        "ZTO": (("781234567890", "78123456789012"), ("7812345678901",)),
        "YTO": (("YT1234567890123",), ("YT123", "1234567890123")),
        "JD": (("JDX123456789012", "JDVA12345678901"), ("JDA123456789012",)),
        "JT": (("JT1234567890123",), ("JT12", "J1234567890123")),
        "EMS": (("EA123456785CN", "1234567890123"), ("EA12345678CN",)),
        "DBKD": (("095287654321012346", "DPK123456789012"), ("DPK12",)),
    }
    for code, (goods, bads) in samples.items():
        pattern = by_code[code]["reg_mail_no"]
        assert all(re.fullmatch(pattern, good) for good in goods), code
        assert not any(re.fullmatch(pattern, bad) for bad in bads), code


# -- offline send -----------------------------------------------------------------------------------------


async def test_offline_send_ships_and_a_second_send_is_b04_here_and_b60_elsewhere(sandbox: Harness) -> None:
    session = await sandbox.seller()
    [tid, other] = await sandbox.trades("shop-a", 2)
    [number] = await sandbox.issue("ZTO", "s-1", "p-1", 1)
    body = await send(sandbox, session, tid, number)
    assert body["logistics_offline_send_response"]["shipping"] == {"is_success": True}
    trade = (await sandbox.client.get(f"/control/marketplace/trades/{tid}")).json()
    assert trade["status"] == "WAIT_BUYER_CONFIRM_GOODS"
    assert trade["shipping"]["out_sid"] == number
    assert trade["shipping"]["company_code"] == "ZTO"

    assert sub(await send(sandbox, session, tid, number)) == offline("B04")
    assert sub(await send(sandbox, session, other, number)) == offline("B60")


async def test_number_used_by_another_seller_is_f05(sandbox: Harness) -> None:
    session_a = await sandbox.seller("shop-a")
    session_b = await sandbox.seller("shop-b")
    [tid_a] = await sandbox.trades("shop-a")
    [tid_b] = await sandbox.trades("shop-b")
    assert "error_response" not in await send(sandbox, session_a, tid_a, "781234567890")
    assert sub(await send(sandbox, session_b, tid_b, "781234567890")) == offline("F05")


async def test_discarded_number_is_f04(sandbox: Harness) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    [number] = await sandbox.issue("YTO", "s-1", "p-1", 1)
    discard = await sandbox.courier(
        "TMS_WAYBILL_DISCARD", {"cp_code": "YTO", "seller_id": "s-1", "waybill_code": number}
    )
    assert discard.json() == {"success": True}
    assert sub(await send(sandbox, session, tid, number, "YTO")) == offline("F04")


async def test_unknown_trade_is_b01(sandbox: Harness) -> None:
    session = await sandbox.seller("shop-a")
    await sandbox.seller("shop-b")
    [foreign] = await sandbox.trades("shop-b")
    assert sub(await send(sandbox, session, "1234567890123456789", "781234567890")) == offline("B01")
    assert sub(await send(sandbox, session, foreign, "781234567890")) == offline("B01")


@pytest.mark.parametrize("out_sid", ["12345", "YT1234567890123", "7812345678901"])
async def test_number_off_the_carrier_pattern_is_b60(sandbox: Harness, out_sid: str) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    assert sub(await send(sandbox, session, tid, out_sid, "ZTO")) == offline("B60")


async def test_number_issued_by_another_carrier_is_b60(sandbox: Harness) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    [number] = await sandbox.issue("STO", "s-1", "p-1", 1)  # 13 digits: fits HTKY's pattern too
    assert sub(await send(sandbox, session, tid, number, "HTKY")) == offline("B60")


async def test_expired_number_is_f01_and_a_typed_in_number_is_accepted(sandbox: Harness) -> None:
    session = await sandbox.seller()
    [tid, other] = await sandbox.trades("shop-a", 2)
    [number] = await sandbox.issue("SF", "s-1", "p-1", 1, validity_days=30)
    expired = await sandbox.client.post("/control/courier/expire", json={"waybill_codes": [number]})
    assert expired.json()["expired"] == 1
    assert sub(await send(sandbox, session, tid, number, "SF")) == offline("F01")
    # Bought elsewhere: the sandbox never issued it, but it fits SF's pattern.
    assert "error_response" not in await send(sandbox, session, other, "SF9999999999999", "SF")


@pytest.mark.parametrize(
    ("company", "out_sid", "xx"),
    [("NOPE", "781234567890", "B56"), ("DHL", "781234567890", "B57"), ("ZTO", "", "B59"), ("ZTO", "   ", "B59")],
)
async def test_carrier_and_empty_number_errors(sandbox: Harness, company: str, out_sid: str, xx: str) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    assert sub(await send(sandbox, session, tid, out_sid, company)) == offline(xx)


@pytest.mark.parametrize("action", ["block", "close"])
async def test_blocked_or_closed_trade_is_b04(sandbox: Harness, action: str) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    assert (await sandbox.client.post(f"/control/marketplace/trades/{tid}/{action}")).status_code == 200
    body = await send(sandbox, session, tid, "781234567890")
    assert sub(body) == offline("B04")
    if action == "block":
        assert "PAID_FORBID_CONSIGN" in error(body)["sub_msg"]


async def test_unpaid_trade_is_b04(sandbox: Harness) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a", paid=False)
    assert sub(await send(sandbox, session, tid, "781234567890")) == offline("B04")


async def test_transient_faults_answer_b150_and_s01_and_ship_nothing(sandbox: Harness) -> None:
    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    await sandbox.faults(error_rate={"taobao.logistics.offline.send": 1.0})
    seen = {sub(await send(sandbox, session, tid, "781234567890")) for _ in range(30)}
    assert seen == {offline("B150"), offline("S01")}
    await sandbox.faults(error_rate={})
    assert "error_response" not in await send(sandbox, session, tid, "781234567890")


async def test_rate_limit_fault_answers_code_7(sandbox: Harness) -> None:
    await sandbox.faults(marketplace_rate_limit_rate=1.0)
    body = error(await sandbox.top(COMPANIES))
    assert body["code"] == 7
    assert body["sub_code"] == "accesscontrol.limited-by-app-access-count"


# -- order messages ---------------------------------------------------------------------------------------


async def test_paid_trade_message_is_pushed_signed_and_without_address(sandbox: Harness) -> None:
    await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    await wait_for(lambda: len(sandbox.receiver.messages) == 1, what="message")
    message = sandbox.receiver.messages[0]
    assert sandbox.receiver.message_sign_ok == [True]
    assert message["topic"] == "taobao_trade_TradeBuyerPay"
    assert message["sign_method"] == "hmac"
    assert message["app_key"] == "sandbox-app"
    assert set(message) == {
        "id", "topic", "content", "pub_time", "user_id", "user_nick", "app_key", "timestamp", "sign_method", "sign",
    }  # fmt: skip
    content = json.loads(message["content"])
    assert content["tid"] == tid
    assert content["type"] == "fixed"
    assert content["seller_nick"] == "shop-a"
    assert set(content) == {"tid", "oid", "payment", "buyer_nick", "seller_nick", "type"}
    assert message["user_nick"] == "shop-a"


async def test_messages_are_redelivered_until_2xx() -> None:
    async with running(message_redelivery_s=[0.02, 0.05]) as sb:
        sb.receiver.fail_messages = 3
        await sb.seller()
        await sb.trades("shop-a")
        await wait_for(lambda: len(sb.receiver.messages) == 4, what="4 attempts")
        stats = (await sb.client.get("/control/marketplace/messages/stats")).json()
        assert stats["delivered"] == 1
        assert stats["pending"] == 0
        assert stats["attempts"] == 4
        assert stats["failed_attempts"] == 3
        assert len({m["id"] for m in sb.receiver.messages}) == 1


async def test_messages_of_a_trade_arrive_in_order_even_when_the_first_fails() -> None:
    async with running(message_redelivery_s=[0.1]) as sb:
        sb.receiver.fail_messages = 1
        await sb.seller()
        [tid] = await sb.trades("shop-a")
        await sb.client.post(f"/control/marketplace/trades/{tid}/address", json={"address": "新地址 1 号"})
        await sb.client.post(f"/control/marketplace/trades/{tid}/close")
        await wait_for(lambda: len(sb.receiver.messages) == 4, what="messages")
        topics = [m["topic"] for m in sb.receiver.messages]
        assert topics == [
            "taobao_trade_TradeBuyerPay",
            "taobao_trade_TradeBuyerPay",
            "taobao_trade_TradeLogisticsAddressChanged",
            "taobao_trade_TradeClose",
        ]
        trade = (await sb.client.get(f"/control/marketplace/trades/{tid}")).json()
        assert trade["status"] == "TRADE_CLOSED"
        assert trade["receiver_address"] == "新地址 1 号"


async def test_thousands_of_messages_flow(sandbox: Harness) -> None:
    await sandbox.seller()
    tids = await sandbox.trades("shop-a", 3000)
    await wait_for(lambda: len(sandbox.receiver.messages) == 3000, within=30, what="3000 messages")
    assert len({m["id"] for m in sandbox.receiver.messages}) == 3000
    assert {json.loads(m["content"])["tid"] for m in sandbox.receiver.messages} == set(tids)
    assert all(sandbox.receiver.message_sign_ok)


async def test_duplicate_message_fault_delivers_twice(sandbox: Harness) -> None:
    await sandbox.faults(message_duplicate_rate=1.0)
    await sandbox.seller()
    await sandbox.trades("shop-a")
    await wait_for(lambda: len(sandbox.receiver.messages) == 2, what="duplicate")
    assert sandbox.receiver.messages[0]["id"] == sandbox.receiver.messages[1]["id"]
