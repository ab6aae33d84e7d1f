"""The Pinduoduo gateway's four methods: each answer, and each refusal with its code."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.sandbox.test_pinduoduo_support import (
    PddHarness,
    by_hand_sign,
    error_of,
    pdd_params,
    running_pdd,
)

COMPANIES = "pdd.logistics.companies.get"
INFO = "pdd.order.information.get"
SEND = "pdd.logistics.online.send"
MALL = "pdd.mall.info.get"
ZTO = "115"


@pytest.fixture
async def pdd() -> AsyncIterator[PddHarness]:
    async with running_pdd() as harness:
        yield harness


async def send(pdd: PddHarness, token: str, sn: str, number: str, logistics_id: str = ZTO) -> dict[str, Any]:
    return await pdd.call(SEND, token, order_sn=sn, logistics_id=logistics_id, tracking_number=number)


def resigned(params: dict[str, str], **changes: str) -> dict[str, str]:
    changed = {k: v for k, v in {**params, **changes}.items() if k != "sign"}
    return {**changed, "sign": by_hand_sign(changed)}


async def test_companies_need_no_token_and_list_the_real_ids(pdd: PddHarness) -> None:
    body = await pdd.call(COMPANIES)
    rows = body["logistics_companies_get_response"]["logistics_companies"]
    by_code = {row["code"]: row for row in rows}
    assert {code: by_code[code]["id"] for code in ("STO", "SF", "YTO", "ZTO", "EMS", "JD", "YUNDA")} == {
        "STO": 1,
        "SF": 44,
        "YTO": 85,
        "ZTO": 115,
        "EMS": 118,
        "JD": 120,
        "YUNDA": 121,
    }
    assert by_code["ZTO"] == {"id": 115, "logistics_company": "中通快递", "code": "ZTO", "available": 1}
    assert by_code["JTSD"]["available"] == 1
    assert by_code["SHHT"]["available"] == 0
    assert body["logistics_companies_get_response"]["request_id"]


async def test_mall_info_answers_the_mall_the_token_belongs_to(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall("我的小店")
    await pdd.mall()
    info = (await pdd.call(MALL, token))["mall_info_get_response"]
    assert (info["mall_id"], info["mall_name"]) == (mall_id, "我的小店")


async def test_order_information_answers_the_order_info(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id, receiver_name="王小明", province="浙江省", city="杭州市", town="西湖区")
    info = (await pdd.call(INFO, token, order_sn=sn))["order_info_get_response"]["order_info"]
    assert info["order_sn"] == sn
    assert (info["order_status"], info["refund_status"], info["confirm_status"]) == (1, 1, 1)
    assert (info["receiver_name"], info["province"], info["city"], info["town"]) == (
        "王小明",
        "浙江省",
        "杭州市",
        "西湖区",
    )
    assert info["address"].startswith("浙江省杭州市西湖区")
    assert info["address"].endswith(info["receiver_address"])
    assert info["receiver_phone"].isdigit()
    assert info["tracking_number"] == ""
    items = info["item_list"]
    assert items
    assert {"goods_name", "goods_count", "goods_price", "sku_id", "goods_id"} <= set(items[0])
    total = sum(item["goods_price"] * item["goods_count"] for item in items)
    assert info["pay_amount"] == pytest.approx(total)
    assert "mall_id" not in info  # not a field of order_info


async def test_an_order_sn_has_the_platforms_shape(pdd: PddHarness) -> None:
    mall_id, _ = await pdd.mall()
    sns = await pdd.orders(mall_id, count=5)
    for sn in sns:
        day, digits = sn.split("-")
        assert len(day) == 6
        assert len(digits) == 15
        assert (day + digits).isdigit()


@pytest.mark.parametrize("order_sn", ["", "123", "231128-12345", "x" * 5000])
async def test_a_malformed_order_sn_is_a_parameter_error(pdd: PddHarness, order_sn: str) -> None:
    _, token = await pdd.mall()
    assert error_of(await pdd.call(INFO, token, order_sn=order_sn)) == 10000


async def test_another_malls_order_is_not_found(pdd: PddHarness) -> None:
    mall_a, _ = await pdd.mall()
    _, token_b = await pdd.mall()
    [sn] = await pdd.orders(mall_a)
    assert error_of(await pdd.call(INFO, token_b, order_sn=sn)) == 50001
    assert error_of(await pdd.call(INFO, token_b, order_sn="231128-000000000000001")) == 50001


async def test_online_send_ships_and_records_the_number(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    body = await send(pdd, token, sn, "731234567890")
    assert body["logistics_online_send_response"]["is_success"] is True
    order = await pdd.order(sn)
    assert (order["order_status"], order["tracking_number"], order["logistics_id"]) == (2, "731234567890", 115)
    assert order["shipping_time"]
    info = (await pdd.call(INFO, token, order_sn=sn))["order_info_get_response"]["order_info"]
    assert info["receiver_phone"].endswith("****")  # masked once shipped


async def test_a_repeat_is_refused_as_already_shipped(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    await send(pdd, token, sn, "731234567890")
    assert error_of(await send(pdd, token, sn, "731234567890")) == 50002
    assert error_of(await send(pdd, token, sn, "731234567891")) == 50002
    assert (await pdd.order(sn))["tracking_number"] == "731234567890"


async def test_a_number_used_on_another_order_is_refused(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    first, second = await pdd.orders(mall_id, count=2)
    await send(pdd, token, first, "731234567890")
    assert error_of(await send(pdd, token, second, "731234567890")) == 50005
    assert (await pdd.order(second))["order_status"] == 1


@pytest.mark.parametrize(
    ("logistics_id", "number"),
    [(ZTO, "YT1234567890123"), ("85", "731234567890"), ("121", "SF1234567890123"), ("44", "12345")],
)
async def test_a_number_off_the_carriers_pattern_is_refused(pdd: PddHarness, logistics_id: str, number: str) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    assert error_of(await send(pdd, token, sn, number, logistics_id)) == 50004


@pytest.mark.parametrize(
    ("logistics_id", "number"),
    [("1", "7712345678901"), ("44", "SF1234567890123"), ("85", "YT1234567890123"), ("118", "EA123456785CN"),
     ("120", "JDX123456789012"), ("121", "4312345678901"), ("384", "JT1234567890123")],
)  # fmt: skip
async def test_each_of_our_carriers_takes_its_numbers(pdd: PddHarness, logistics_id: str, number: str) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    assert (await send(pdd, token, sn, number, logistics_id))["logistics_online_send_response"]["is_success"]


@pytest.mark.parametrize(("logistics_id", "code"), [("999999", 50006), ("2", 50006), ("ZTO", 10000), ("", 10000)])
async def test_an_unknown_or_unavailable_carrier_is_refused(pdd: PddHarness, logistics_id: str, code: int) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    assert error_of(await send(pdd, token, sn, "731234567890", logistics_id)) == code


@pytest.mark.parametrize(
    ("path", "body"),
    [("refund", {"agree": True}), ("refund", {"agree": False}), ("cancel", None)],
)
async def test_a_refunded_or_cancelled_order_cannot_ship(pdd: PddHarness, path: str, body: object) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    response = await pdd.client.post(f"/control/pinduoduo/orders/{sn}/{path}", json=body)
    assert response.status_code == 200, response.text
    assert error_of(await send(pdd, token, sn, "731234567890")) == 50003
    assert (await pdd.order(sn))["order_status"] == 1


async def test_an_unconfirmed_or_cancelled_unconfirmed_order_cannot_ship(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    first, second = await pdd.orders(mall_id, count=2, confirmed=False)
    assert error_of(await send(pdd, token, first, "731234567890")) == 50003
    await pdd.client.post(f"/control/pinduoduo/orders/{second}/cancel")
    assert (await pdd.order(second))["confirm_status"] == 2
    assert error_of(await send(pdd, token, second, "731234567891")) == 50003


@pytest.mark.parametrize("missing", ["order_sn", "logistics_id", "tracking_number"])
async def test_online_send_needs_its_parameters(pdd: PddHarness, missing: str) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    extra = {"order_sn": sn, "logistics_id": ZTO, "tracking_number": "731234567890"}
    del extra[missing]
    body = await pdd.call(SEND, token, **extra)
    assert error_of(body) == 10000
    assert missing in body["error_response"]["error_msg"]


async def test_a_huge_tracking_number_is_a_parameter_error(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    assert error_of(await send(pdd, token, sn, "7" * 100_000)) == 10000


async def test_access_tokens_missing_unknown_and_expired(pdd: PddHarness) -> None:
    mall_id, token = await pdd.mall()
    assert error_of(await pdd.call(MALL)) == 10000
    assert error_of(await pdd.call(MALL, "not-a-token")) == 10019
    renewed = await pdd.client.post(f"/control/pinduoduo/malls/{mall_id}/token")
    new_token = renewed.json()["access_token"]
    assert new_token != token
    assert error_of(await pdd.call(MALL, token)) == 10019
    assert (await pdd.call(MALL, new_token))["mall_info_get_response"]["mall_id"] == mall_id


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"client_id": ""}, 10000),
        ({"client_id": "someone-else"}, 10000),
        ({"timestamp": ""}, 10000),
        ({"timestamp": "yesterday"}, 10000),
        ({"timestamp": str(int(time.time()) - 3600)}, 10000),
        ({"timestamp": "9" * 40}, 10000),
        ({"data_type": "XML"}, 10000),
        ({"version": "V2"}, 10000),
        ({"type": ""}, 10000),
        ({"type": "pdd.nothing.get"}, 10000),
    ],
)
async def test_common_parameters_are_checked_once_signed(pdd: PddHarness, changes: dict[str, str], code: int) -> None:
    body = await pdd.post(resigned(pdd_params(COMPANIES), **changes))
    assert error_of(body) == code
    assert body["error_response"]["sub_code"] == str(code)


async def test_a_missing_sign_is_a_parameter_error_and_checked_before_the_timestamp(pdd: PddHarness) -> None:
    params = pdd_params(COMPANIES)
    del params["sign"]
    assert error_of(await pdd.post(params)) == 10000
    stale_unsigned = {**pdd_params(COMPANIES), "timestamp": "1"}
    assert error_of(await pdd.post(stale_unsigned)) == 20004


async def test_a_json_body_is_read_and_bad_json_is_refused_not_a_500(pdd: PddHarness) -> None:
    params = pdd_params(COMPANIES)
    ok = await pdd.client.post("/pinduoduo/api/router", json=params)
    assert "logistics_companies_get_response" in ok.json()
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        bad = await pdd.client.post("/pinduoduo/api/router", content=raw, headers={"content-type": "application/json"})
        assert bad.status_code == 200
        assert error_of(bad.json()) == 10000


async def test_the_app_call_rate_answers_70031() -> None:
    async with running_pdd(pinduoduo_rate_limit_per_s=2.0) as pdd:
        codes = [error_of(b) if "error_response" in b else 0 for b in [await pdd.call(COMPANIES) for _ in range(4)]]
    assert codes[:2] == [0, 0]
    assert 70031 in codes[2:]


async def test_injected_rate_limit_and_unavailability(pdd: PddHarness) -> None:
    await pdd.faults(rate_limit_rate=1.0)
    assert error_of(await pdd.call(COMPANIES)) == 52101
    await pdd.faults(rate_limit_rate=0.0, error_rate={SEND: 1.0})
    assert "logistics_companies_get_response" in await pdd.call(COMPANIES)
    mall_id, token = await pdd.mall()
    [sn] = await pdd.orders(mall_id)
    assert error_of(await send(pdd, token, sn, "731234567890")) == 52103
    assert (await pdd.order(sn))["order_status"] == 1  # a refused call changes nothing


async def test_injected_latency(pdd: PddHarness) -> None:
    await pdd.faults(latency_ms={"pinduoduo": 200})
    started = time.monotonic()
    await pdd.call(COMPANIES)
    assert time.monotonic() - started >= 0.2
