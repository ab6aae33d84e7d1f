"""The couriers' electronic waybill gateway: digest, number formats and check digits, idempotency, counters."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.sandbox.support import Harness, courier_form, gs1_valid, s10_valid, top_params

# Our own statement of each carrier's rule (protocols.md "Waybill number rules"), not the sandbox's.
RULES = {
    "SF": r"SF\d{13}|\d{12}",
    "ZTO": r"\d{12}|\d{14}",
    "YTO": r"YT\d{13}",
    "STO": r"\d{12,15}",
    "YUNDA": r"\d{13}|\d{15}",
    "JD": r"JD[XK]\d{12}|JDV[A-Z]\d{11}",
    "JT": r"JT\d{13}",
    "EMS": r"[A-Z]{2}\d{9}[A-Z]{2}|\d{13}",
    "EYB": r"[A-Z]{2}\d{9}[A-Z]{2}|\d{13}",
    "POSTB": r"[A-Z]{2}\d{9}[A-Z]{2}|\d{13}",
    "HTKY": r"\d{12,15}",
    "UC": r"\d{12,13}",
    "TTKDEX": r"\d{12}",
    "ZJS": r"[A-Z0-9]{10,14}",
    "DBKD": r"\d{18}|DPK\d{12}",
}


def failure(response: Any) -> str:
    body = response.json()
    assert body["success"] is False, body
    code: str = body["errorCode"]
    return code


async def test_bad_digest_is_refused(sandbox: Harness) -> None:
    form = courier_form("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s-1"}, secret="wrong")
    response = await sandbox.client.post("/courier/gateway", data=form)
    assert response.status_code == 200
    assert response.json() == {"success": False, "errorCode": "S02", "errorMsg": "sign check failed"}


async def test_tampered_body_is_refused(sandbox: Harness) -> None:
    form = courier_form("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s-1"})
    form["logistics_interface"] = form["logistics_interface"].replace("s-1", "s-2")
    assert failure(await sandbox.client.post("/courier/gateway", data=form)) == "S02"


async def test_unknown_provider_and_message_type_are_refused(sandbox: Harness) -> None:
    form = courier_form("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s-1"})
    assert failure(await sandbox.client.post("/courier/gateway", data={**form, "logistic_provider_id": "x"})) == "S03"
    other = courier_form("TMS_WAYBILL_PRINT", {"cp_code": "ZTO", "seller_id": "s-1"})
    assert failure(await sandbox.client.post("/courier/gateway", data=other)) == "S05"


async def test_every_carrier_issues_numbers_that_follow_its_rule_and_check_digit(sandbox: Harness) -> None:
    for cp_code, rule in RULES.items():
        numbers = await sandbox.issue(cp_code, "s-1", f"rule-{cp_code}", 200)
        assert len(numbers) == 200
        for number in numbers:
            assert re.fullmatch(rule, number, re.ASCII), (cp_code, number)
            if cp_code in {"EMS", "EYB", "POSTB"}:
                assert s10_valid(number), number
                assert number.endswith("CN")
            if cp_code == "DBKD":
                assert len(number) == 18
                assert gs1_valid(number), number


def test_independent_check_digit_helpers_agree_with_published_examples() -> None:
    assert s10_valid("RB123456785GB")
    assert not s10_valid("RB123456784GB")
    assert gs1_valid("095287654321012346")
    assert not gs1_valid("095287654321012345")


async def test_numbers_are_unique_across_ten_thousand_and_every_carrier(sandbox: Harness) -> None:
    seen: list[str] = []
    for i in range(10):
        seen += await sandbox.issue("ZTO", f"s-{i % 3}", f"bulk-{i}", 1000)
    for cp_code in RULES:
        seen += await sandbox.issue(cp_code, "s-9", "mix", 300)
    assert len(seen) == 10_000 + 300 * len(RULES)
    assert len(set(seen)) == len(seen)


async def test_the_same_object_id_returns_the_same_numbers(sandbox: Harness) -> None:
    first = await sandbox.issue("YTO", "s-1", "p-77", 5)
    again = await sandbox.issue("YTO", "s-1", "p-77", 9)  # a different quantity changes nothing
    assert again == first
    other_seller = await sandbox.issue("YTO", "s-2", "p-77", 5)
    assert not set(other_seller) & set(first)
    counters = await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "YTO", "seller_id": "s-1"})
    assert counters.json()["waybill_apply_subscription_cols"][0]["allocated_quantity"] == 5


async def test_a_request_answers_every_object_with_its_expiry(sandbox: Harness) -> None:
    dtos = [{"object_id": f"p-{i}", "quantity": i + 1} for i in range(10)]
    body = {"cp_code": "JT", "seller_id": "s-1", "validity_days": 30, "trade_order_info_dtos": dtos}
    cols = (await sandbox.courier("TMS_WAYBILL_GET", body)).json()["waybill_apply_new_cols"]
    assert [c["object_id"] for c in cols] == [f"p-{i}" for i in range(10)]
    assert [len(c["waybill_codes"]) for c in cols] == list(range(1, 11))
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00\+08:00", c["expire_time"]) for c in cols)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"cp_code": "ZTO", "seller_id": "s", "trade_order_info_dtos": [{"object_id": f"o{i}"} for i in range(11)]},
         "isv.too-many-objects"),
        ({"cp_code": "ZTO", "seller_id": "s", "trade_order_info_dtos": [{"object_id": "o", "quantity": 0}]},
         "isv.invalid-parameter"),
        ({"cp_code": "ZTO", "seller_id": "s", "trade_order_info_dtos": [{"object_id": "o", "quantity": 100_001}]},
         "isv.invalid-parameter"),
        ({"cp_code": "ZTO", "seller_id": "s", "trade_order_info_dtos": []}, "isv.invalid-parameter"),
        ({"cp_code": "NOPE", "seller_id": "s", "trade_order_info_dtos": [{"object_id": "o"}]}, "isv.cp-not-supported"),
        ({"cp_code": "ZTO", "trade_order_info_dtos": [{"object_id": "o"}]}, "isv.invalid-parameter"),
    ],
)  # fmt: skip
async def test_bad_requests_are_refused_and_issue_nothing(sandbox: Harness, body: dict[str, Any], code: str) -> None:
    assert failure(await sandbox.courier("TMS_WAYBILL_GET", body)) == code
    counters = await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s"})
    assert counters.json()["waybill_apply_subscription_cols"][0]["allocated_quantity"] == 0


async def test_counters_follow_issue_cancel_and_collection(sandbox: Harness) -> None:
    numbers = await sandbox.issue("ZTO", "s-1", "p-1", 10)
    key = {"cp_code": "ZTO", "seller_id": "s-1"}
    for number in numbers[:2]:
        discarded = await sandbox.courier("TMS_WAYBILL_DISCARD", {**key, "waybill_code": number})
        assert discarded.json() == {"success": True}

    async def counters() -> tuple[int, int, int, int]:
        col = (await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", key)).json()["waybill_apply_subscription_cols"]
        assert (col[0]["cp_code"], bool(col[0]["branch_code"]), bool(col[0]["segment_code"])) == ("ZTO", True, True)
        return col[0]["allocated_quantity"], col[0]["cancel_quantity"], col[0]["print_quantity"], col[0]["quantity"]

    session = await sandbox.seller()
    [tid] = await sandbox.trades("shop-a")
    params = top_params("taobao.logistics.offline.send", session, tid=tid, out_sid=numbers[5], company_code="ZTO")
    assert "error_response" not in (await sandbox.client.post("/router/rest", data=params)).json()
    # Telling the marketplace is not the courier's pick-up: nothing counts as printed yet.
    assert await counters() == (10, 2, 0, 8)
    await sandbox.collect("zhongtong", numbers[5])
    assert await counters() == (10, 2, 1, 7)


async def test_discard_refuses_unknown_and_collected_numbers(sandbox: Harness) -> None:
    numbers = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    key = {"cp_code": "ZTO", "seller_id": "s-1"}
    missing = await sandbox.courier("TMS_WAYBILL_DISCARD", {**key, "waybill_code": "700000000000"})
    assert failure(missing) == "waybill.not-exist"
    wrong_seller = await sandbox.courier("TMS_WAYBILL_DISCARD", {**key, "seller_id": "s-2", "waybill_code": numbers[0]})
    assert failure(wrong_seller) == "waybill.not-exist"
    await sandbox.collect("zhongtong", numbers[0])
    collected = await sandbox.courier("TMS_WAYBILL_DISCARD", {**key, "waybill_code": numbers[0]})
    assert failure(collected) == "waybill.already-collected"
    twice = [await sandbox.courier("TMS_WAYBILL_DISCARD", {**key, "waybill_code": numbers[1]}) for _ in range(2)]
    assert [r.json() for r in twice] == [{"success": True}, {"success": True}]


async def test_query_by_object_returns_the_original_issue(sandbox: Harness) -> None:
    numbers = await sandbox.issue("SF", "s-1", "p-9", 3)
    key = {"cp_code": "SF", "seller_id": "s-1"}
    found = (await sandbox.courier("TMS_WAYBILL_QUERY_BY_OBJECT", {**key, "object_id": "p-9"})).json()
    assert found["success"] is True
    assert found["waybill_apply_new_cols"][0]["waybill_codes"] == numbers
    missing = await sandbox.courier("TMS_WAYBILL_QUERY_BY_OBJECT", {**key, "object_id": "p-10"})
    assert failure(missing) == "object.not-exist"


async def test_courier_down_then_back(sandbox: Harness) -> None:
    # Long enough that a loaded machine cannot outlast it; "0 seconds" brings the couriers back.
    response = await sandbox.client.post("/control/courier/down", json={"seconds": 60})
    assert response.status_code == 200
    statuses = set()
    for _ in range(20):
        answer = await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s"})
        statuses.add(answer.status_code)
    assert statuses == {502, 503}
    assert (await sandbox.client.post("/control/courier/down", json={"seconds": 0})).status_code == 200
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        answer = await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s"})
        if answer.status_code == 200:
            break
    assert answer.status_code == 200
    assert answer.json()["success"] is True


async def test_transient_courier_error_is_http_500_s01(sandbox: Harness) -> None:
    await sandbox.faults(error_rate={"TMS_WAYBILL_GET": 1.0})
    body = {"cp_code": "ZTO", "seller_id": "s", "trade_order_info_dtos": [{"object_id": "o", "quantity": 1}]}
    response = await sandbox.courier("TMS_WAYBILL_GET", body)
    assert response.status_code == 500
    assert response.json() == {"success": False, "errorCode": "S01", "errorMsg": "system busy"}
    other = await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s"})
    assert other.status_code == 200


RECIPIENT = {
    "name": "李四",
    "phone": "13900000000",
    "address": {"province": "江苏省", "city": "南京市", "district": "鼓楼区", "detail": "中山路 1 号"},
}


async def test_update_records_the_new_receiver_until_the_courier_collects(sandbox: Harness) -> None:
    [number] = await sandbox.issue("ZTO", "s-1", "p-1", 1)
    key = {"cp_code": "ZTO", "seller_id": "s-1", "waybill_code": number}
    updated = await sandbox.courier("TMS_WAYBILL_UPDATE", {**key, "recipient": RECIPIENT})
    assert updated.json()["success"] is True  # with the new destination's routing (test_courier_routing)
    view = (await sandbox.client.get(f"/control/courier/numbers/{number}")).json()
    assert view["recipient"] == RECIPIENT
    await sandbox.collect("zhongtong", number)
    moved = {**RECIPIENT, "name": "王五"}
    late = await sandbox.courier("TMS_WAYBILL_UPDATE", {**key, "recipient": moved})
    assert failure(late) == "waybill.already-collected"
    assert (await sandbox.client.get(f"/control/courier/numbers/{number}")).json()["recipient"] == RECIPIENT


async def test_update_refuses_unknown_cancelled_and_malformed(sandbox: Harness) -> None:
    numbers = await sandbox.issue("ZTO", "s-1", "p-1", 2)
    key = {"cp_code": "ZTO", "seller_id": "s-1"}
    missing = await sandbox.courier(
        "TMS_WAYBILL_UPDATE", {**key, "waybill_code": "700000000000", "recipient": RECIPIENT}
    )
    assert failure(missing) == "waybill.not-exist"
    other = {**key, "seller_id": "s-2", "waybill_code": numbers[0], "recipient": RECIPIENT}
    assert failure(await sandbox.courier("TMS_WAYBILL_UPDATE", other)) == "waybill.not-exist"
    for recipient in (None, {**RECIPIENT, "phone": ""}, {**RECIPIENT, "address": {"province": "江苏省"}}):
        bad = await sandbox.courier("TMS_WAYBILL_UPDATE", {**key, "waybill_code": numbers[0], "recipient": recipient})
        assert failure(bad) == "isv.invalid-parameter"
    await sandbox.courier("TMS_WAYBILL_DISCARD", {**key, "waybill_code": numbers[1]})
    cancelled = await sandbox.courier("TMS_WAYBILL_UPDATE", {**key, "waybill_code": numbers[1], "recipient": RECIPIENT})
    assert failure(cancelled) == "waybill.already-discarded"


async def test_update_is_a_courier_endpoint_faults_can_strike(sandbox: Harness) -> None:
    [number] = await sandbox.issue("ZTO", "s-1", "p-1", 1)
    await sandbox.faults(error_rate={"TMS_WAYBILL_UPDATE": 1.0})
    body = {"cp_code": "ZTO", "seller_id": "s-1", "waybill_code": number, "recipient": RECIPIENT}
    response = await sandbox.courier("TMS_WAYBILL_UPDATE", body)
    assert (response.status_code, response.json()["errorCode"]) == (500, "S01")
