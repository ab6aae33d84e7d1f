"""The tracking provider: subscriptions, simulated journeys, signed pushes, repeats, polling and its limit."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from tests.sandbox.support import (
    K100_KEY,
    RECEIVER,
    Harness,
    md5_upper,
    running,
    top_params,
    wait_for,
)

FAST = 3e5  # simulated seconds per real second: a two-day journey in well under a second
DAY = 86_400


def finished(sb: Harness, number: str) -> bool:
    return any(p["lastResult"]["nu"] == number and p["status"] != "polling" for p in sb.receiver.good_pushes())


def pushes_of(sb: Harness, number: str) -> list[dict[str, Any]]:
    return [p for p in sb.receiver.good_pushes() if p["lastResult"]["nu"] == number]


async def force_kind(sb: Harness, kinds: dict[str, str]) -> None:
    response = await sb.client.put("/control/tracking/kinds", json={"kinds": kinds})
    assert response.status_code == 200, response.text


async def truth(sb: Harness, number: str) -> dict[str, Any]:
    [view] = (await sb.client.get("/control/tracking/parcels", params={"number": number})).json()
    found: dict[str, Any] = view
    return found


async def query(sb: Harness, com: str, num: str, *, key: str = K100_KEY, customer: str = K100_KEY) -> dict[str, Any]:
    param = json.dumps({"com": com, "num": num, "resultv2": "1"})
    form = {"customer": customer, "param": param, "sign": md5_upper(param + key + customer)}
    response = await sb.client.post("/kuaidi100/poll/query.do", data=form)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# -- subscribing ------------------------------------------------------------------------------------------


async def test_subscribe_then_duplicate_is_501(sandbox: Harness) -> None:
    assert await sandbox.subscribe("zhongtong", "781234567890") == {
        "result": True,
        "returnCode": "200",
        "message": "提交成功",
    }
    again = await sandbox.subscribe("zhongtong", "781234567890")
    assert again["result"] is False
    assert again["returnCode"] == "501"


@pytest.mark.parametrize(
    "param",
    [
        "not json",
        json.dumps({"company": "zhongtong", "number": "781234567890", "key": "wrong-key",
                    "parameters": {"callbackurl": f"{RECEIVER}/callback"}}),
        json.dumps({"company": "zhongtong", "number": "781234567890", "key": K100_KEY, "parameters": {}}),
        json.dumps({"company": "zhongtong", "key": K100_KEY, "parameters": {"callbackurl": f"{RECEIVER}/callback"}}),
        json.dumps({"company": "zhongtong", "number": "12", "key": K100_KEY,
                    "parameters": {"callbackurl": f"{RECEIVER}/callback"}}),
    ],
)  # fmt: skip
async def test_bad_subscriptions_are_700(sandbox: Harness, param: str) -> None:
    response = await sandbox.client.post("/kuaidi100/poll", data={"schema": "json", "param": param})
    assert response.json()["returnCode"] == "700"
    assert response.json()["result"] is False


async def test_unknown_company_is_702_and_unserved_is_701(sandbox: Harness) -> None:
    assert (await sandbox.subscribe("nosuchcarrier", "781234567890"))["returnCode"] == "702"
    assert (await sandbox.subscribe("dhl", "1234567890"))["returnCode"] == "701"
    await sandbox.faults(tracking_refuse_rate=1.0)
    assert (await sandbox.subscribe("zhongtong", "781234567890"))["returnCode"] == "701"


# -- journeys and pushes ----------------------------------------------------------------------------------


async def test_a_full_journey_is_pushed_signed_and_follows_the_state_codes() -> None:
    async with running(time_acceleration=FAST) as sb:
        number = "781234567890"
        await force_kind(sb, {number: "normal"})
        assert (await sb.subscribe("zhongtong", number))["returnCode"] == "200"
        await wait_for(lambda: finished(sb, number), what="final push")
        assert all(p["sign_ok"] for p in sb.receiver.pushes)  # our own MD5(param + salt) agrees every time
        pushes = pushes_of(sb, number)
        assert len(pushes) >= 5
        history: list[dict[str, str]] = []
        for push in pushes:
            last = push["lastResult"]
            assert (last["message"], last["status"], last["com"], last["nu"]) == ("ok", "200", "zhongtong", number)
            data = last["data"]
            # Full history, newest first, and each push extends the one before.
            assert [d["time"] for d in data] == sorted((d["time"] for d in data), reverse=True)
            assert data[len(data) - len(history) :] == history
            history = data
            for event in data:
                assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", event["time"])
                assert re.fullmatch(r"\d{12}", event["areaCode"])
                assert "," in event["areaName"]
                assert event["context"].startswith("【")
        codes = [d["statusCode"] for d in reversed(history)]
        assert codes[0] == "103"
        assert "1002" in codes
        assert "1001" in codes
        assert "5" in codes
        assert codes[-1] in {"301", "303", "304"}
        states = [p["lastResult"]["state"] for p in pushes]
        order = ["1", "0", "5", "3"]
        assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)
        assert states[0] == "1"
        assert states[-1] == "3"
        assert pushes[-1]["status"] == "shutdown"
        assert pushes[-1]["lastResult"]["ischeck"] == "1"
        assert all(p["status"] == "polling" and p["lastResult"]["ischeck"] == "0" for p in pushes[:-1])
        view = await truth(sb, number)
        assert view["finished"] is True
        assert view["all_pushed"] is True
        assert view["pushes"]["acked"] == len(pushes)
        assert view["pushes"]["acked_distinct"] == len({json.dumps(p, sort_keys=True) for p in pushes})  # each once


async def test_refused_parcel_goes_back_and_is_signed_by_the_sender() -> None:
    async with running(time_acceleration=FAST) as sb:
        await force_kind(sb, {"YT1234567890123": "refused"})
        await sb.subscribe("yuantong", "YT1234567890123")
        await wait_for(lambda: finished(sb, "YT1234567890123"), what="return")
        last = pushes_of(sb, "YT1234567890123")[-1]
        codes = [d["statusCode"] for d in reversed(last["lastResult"]["data"])]
        assert codes.index("14") < codes.index("6") < codes.index("4")
        assert codes[-1] == "4"
        assert last["status"] == "shutdown"
        assert last["lastResult"]["state"] == "4"


async def test_problem_parcel_is_signed_after_the_problem() -> None:
    async with running(time_acceleration=FAST) as sb:
        await force_kind(sb, {"JT1234567890123": "problem"})
        await sb.subscribe("jtexpress", "JT1234567890123")
        await wait_for(lambda: finished(sb, "JT1234567890123"), what="delivery")
        states = [p["lastResult"]["state"] for p in pushes_of(sb, "JT1234567890123")]
        assert "2" in states
        codes = [d["statusCode"] for d in pushes_of(sb, "JT1234567890123")[-1]["lastResult"]["data"]]
        assert codes[0] == "302"


async def test_never_collected_parcel_is_silent_then_aborted(sandbox: Harness) -> None:
    number = "SF1234567890123"
    await force_kind(sandbox, {number: "never_collected"})
    await sandbox.subscribe("shunfeng", number)
    await sandbox.client.post("/control/clock/advance", json={"seconds": 2 * DAY})
    await asyncio.sleep(0.1)
    assert sandbox.receiver.pushes == []
    assert (await query(sandbox, "shunfeng", number))["returnCode"] == "500"
    await sandbox.client.post("/control/clock/advance", json={"seconds": 1.1 * DAY})
    await wait_for(lambda: len(sandbox.receiver.pushes) == 1, what="abort push")
    push = sandbox.receiver.good_pushes()[0]
    assert push["status"] == "abort"
    assert push["lastResult"]["data"] == []
    assert (await truth(sandbox, number))["aborted"] is True


async def test_stalled_parcel_goes_quiet_mid_transit(sandbox: Harness) -> None:
    await force_kind(sandbox, {"JDX123456789012": "stall", "JDX123456789013": "normal"})
    await sandbox.subscribe("jd", "JDX123456789012")
    await sandbox.subscribe("jd", "JDX123456789013")
    await sandbox.client.post("/control/clock/advance", json={"seconds": 30 * DAY})
    await wait_for(lambda: finished(sandbox, "JDX123456789012"), what="stalled parcel delivered")

    def longest_gap_hours(view: dict[str, Any]) -> float:
        times = [e["time"] for e in view["events"]]
        stamps = sorted(datetime.strptime(t, "%Y-%m-%d %H:%M:%S").timestamp() for t in times)
        return max(b - a for a, b in itertools.pairwise(stamps)) / 3600

    stalled = await truth(sandbox, "JDX123456789012")
    assert stalled["kind"] == "stall"
    assert stalled["events"][0]["statusCode"] in {"301", "303", "304"}  # events are newest first
    assert stalled["current_state"] == "3"
    assert longest_gap_hours(stalled) >= 96
    assert longest_gap_hours(await truth(sandbox, "JDX123456789013")) < 48


async def test_kinds_are_deterministic_and_near_the_configured_rates(sandbox: Harness) -> None:
    numbers = [f"7{n:011d}" for n in range(2000)]
    kinds: list[str] = []
    for start in range(0, 2000, 200):
        chunk = numbers[start : start + 200]
        views = (await sandbox.client.get("/control/tracking/parcels", params={"number": chunk})).json()
        kinds += [v["kind"] for v in views]
    counts = Counter(kinds)
    # Defaults: 3% problem, 2% refused, 2% never collected, 2% stall.
    assert 30 <= counts["problem"] <= 95
    assert 15 <= counts["refused"] <= 70
    assert 15 <= counts["never_collected"] <= 70
    assert 15 <= counts["stall"] <= 70
    again = (await sandbox.client.get("/control/tracking/parcels", params={"number": numbers[:200]})).json()
    assert [v["kind"] for v in again] == kinds[:200]


async def test_signed_parcel_is_collected_and_its_trade_follows() -> None:
    async with running(time_acceleration=FAST) as sb:
        session = await sb.seller()
        [tid] = await sb.trades("shop-a")
        [number] = await sb.issue("ZTO", "s-1", "p-1", 1)
        params = top_params("taobao.logistics.offline.send", session, tid=tid, out_sid=number, company_code="ZTO")
        assert "error_response" not in (await sb.client.post("/router/rest", data=params)).json()
        await force_kind(sb, {number: "normal"})
        await sb.subscribe("zhongtong", number)
        await wait_for(lambda: finished(sb, number), what="delivery")
        trade = (await sb.client.get(f"/control/marketplace/trades/{tid}")).json()
        assert trade["status"] == "TRADE_BUYER_SIGNED"
        last_city = pushes_of(sb, number)[-1]["lastResult"]["data"][0]["areaName"]
        assert last_city.endswith(trade["receiver_city"])  # the parcel goes where the buyer lives


async def test_pushes_can_lag_behind_events() -> None:
    async with running(tracking_push_delay_s=6 * 3600) as sb:
        await force_kind(sb, {"781234567890": "normal"})
        await sb.subscribe("zhongtong", "781234567890")
        await sb.client.post("/control/clock/advance", json={"seconds": 6 * 3600})
        await asyncio.sleep(0.05)
        view = await truth(sb, "781234567890")
        assert view["events_happened"] >= 1  # collected, and visible to a query ...
        assert (await query(sb, "zhongtong", "781234567890"))["message"] == "ok"
        assert sb.receiver.pushes == []  # ... but not pushed yet
        await sb.client.post("/control/clock/advance", json={"seconds": 6 * 3600})
        await wait_for(lambda: len(sb.receiver.pushes) >= 1, what="late push")


# -- repeats and push faults ------------------------------------------------------------------------------


async def test_failed_pushes_are_repeated_with_the_newest_state() -> None:
    async with running(time_acceleration=FAST, tracking_push_retry_s=[0.02, 0.05]) as sb:
        sb.receiver.fail_pushes = 4
        await force_kind(sb, {"781234567890": "normal"})
        await sb.subscribe("zhongtong", "781234567890")
        await wait_for(lambda: finished(sb, "781234567890"), what="final push")
        view = await truth(sb, "781234567890")
        assert view["pushes"]["failed"] == 4
        assert view["all_pushed"] is True
        # The answers that failed were not "delivered"; what finally got through carries the whole history.
        assert len(pushes_of(sb, "781234567890")) == view["pushes"]["attempts"]
        assert len(pushes_of(sb, "781234567890")[-1]["lastResult"]["data"]) == view["events_total"]


async def test_acknowledged_pushes_latencies_are_drained_once_and_failed_ones_not_counted() -> None:
    async with running(time_acceleration=FAST, tracking_push_retry_s=[0.02, 0.05]) as sb:
        sb.receiver.fail_pushes = 2
        await force_kind(sb, {"781234567890": "normal"})
        before = time.time()
        await sb.subscribe("zhongtong", "781234567890")
        await wait_for(lambda: finished(sb, "781234567890"), what="final push")
        view = await truth(sb, "781234567890")
        drained = (await sb.client.post("/control/tracking/push-latencies/drain")).json()["latencies"]
        assert len(drained) == view["pushes"]["acked"]  # one per acknowledged push; the two refused ones not
        assert all(before <= at <= time.time() and 0 < took < 5 for at, took in drained)
        assert [at for at, _ in drained] == sorted(at for at, _ in drained)
        assert (await sb.client.post("/control/tracking/push-latencies/drain")).json()["latencies"] == []


async def test_bad_sign_pushes_are_refused_by_us_and_repeated() -> None:
    async with running(time_acceleration=1.0, tracking_push_retry_s=[0.05]) as sb:
        await sb.faults(push_bad_sign_rate=1.0)
        await force_kind(sb, {"781234567890": "normal"})
        await sb.subscribe("zhongtong", "781234567890")
        await sb.client.post("/control/clock/advance", json={"seconds": 10 * DAY})
        await wait_for(lambda: len(sb.receiver.pushes) >= 2, what="bad pushes")
        assert not any(p["sign_ok"] for p in sb.receiver.pushes)
        await sb.faults(push_bad_sign_rate=0.0)
        await wait_for(lambda: finished(sb, "781234567890"), what="good push")
        assert (await truth(sb, "781234567890"))["pushes"]["bad_sign"] >= 2


async def test_dropped_final_push_is_recoverable_by_query(sandbox: Harness) -> None:
    await sandbox.faults(push_drop_rate=1.0)
    await force_kind(sandbox, {"781234567890": "normal"})
    await sandbox.subscribe("zhongtong", "781234567890")
    await sandbox.client.post("/control/clock/advance", json={"seconds": 10 * DAY})
    await asyncio.sleep(0.2)
    assert sandbox.receiver.pushes == []
    view = await truth(sandbox, "781234567890")
    assert view["finished"] is True
    assert view["pushes"]["dropped"] >= 1
    body = await query(sandbox, "zhongtong", "781234567890")
    assert body["state"] == "3"
    assert body["ischeck"] == "1"
    assert body["nu"] == "781234567890"
    assert body["data"][0]["statusCode"] in {"301", "303", "304"}


async def test_duplicate_and_out_of_order_pushes(sandbox: Harness) -> None:
    await sandbox.faults(push_duplicate_rate=1.0, push_out_of_order_rate=1.0)
    await force_kind(sandbox, {"781234567890": "normal"})
    await sandbox.subscribe("zhongtong", "781234567890")
    await sandbox.client.post("/control/clock/advance", json={"seconds": 10 * DAY})
    await wait_for(lambda: finished(sandbox, "781234567890"), what="final push")
    await asyncio.sleep(0.05)
    raws = [p["raw"] for p in sandbox.receiver.pushes]
    assert len(raws) > len(set(raws))  # some arrived twice
    sizes = [len(p["lastResult"]["data"]) for p in sandbox.receiver.good_pushes()]
    assert any(b < a for a, b in itertools.pairwise(sizes))  # an older snapshot after a newer one
    stats = (await sandbox.client.get("/control/tracking/stats")).json()["pushes"]
    assert stats["duplicates"] >= 1
    assert stats["out_of_order"] >= 1


# -- polling ----------------------------------------------------------------------------------------------


async def test_query_checks_its_signature_and_knows_only_subscribed_numbers(sandbox: Harness) -> None:
    assert (await query(sandbox, "zhongtong", "781234567890", key="wrong"))["returnCode"] == "400"
    assert (await query(sandbox, "zhongtong", "781234567899", customer="stranger"))["returnCode"] == "400"
    assert (await query(sandbox, "zhongtong", "781234567899"))["returnCode"] == "500"


async def test_query_is_at_the_published_path_and_refuses_a_wrong_sign() -> None:
    async with running(tracking_query_rate_per_s=1e6) as sb:
        await force_kind(sb, {"781234567890": "normal"})
        await sb.subscribe("zhongtong", "781234567890")
        await sb.client.post("/control/clock/advance", json={"seconds": DAY})
        param = json.dumps({"com": "zhongtong", "num": "781234567890"})
        good = md5_upper(param + K100_KEY + K100_KEY)
        form = {"customer": K100_KEY, "param": param, "sign": good}
        assert (await sb.client.post("/kuaidi100/query", data=form)).status_code == 404  # not a real path
        found = (await sb.client.post("/kuaidi100/poll/query.do", data=form)).json()
        assert (found["message"], found["nu"], found["status"]) == ("ok", "781234567890", "200")
        # The sign of another param, a truncated one, none: refused with no history, as the provider does.
        other = md5_upper(json.dumps({"com": "zhongtong", "num": "781234567899"}) + K100_KEY + K100_KEY)
        for sign in (other, good[:-1], ""):
            refused = (await sb.client.post("/kuaidi100/poll/query.do", data={**form, "sign": sign})).json()
            assert refused == {"result": False, "returnCode": "400", "message": "验证签名失败 (sign check failed)"}
        bare = {"customer": K100_KEY, "param": param}
        assert (await sb.client.post("/kuaidi100/poll/query.do", data=bare)).json()["returnCode"] == "400"


async def test_query_is_rate_limited_per_customer(sandbox: Harness) -> None:
    await force_kind(sandbox, {"781234567890": "normal"})
    await sandbox.subscribe("zhongtong", "781234567890")
    await sandbox.client.post("/control/clock/advance", json={"seconds": DAY})
    answers = [await query(sandbox, "zhongtong", "781234567890") for _ in range(6)]
    assert [a.get("message") for a in answers[:3]] == ["ok", "ok", "ok"]
    limited = [a for a in answers[3:] if a.get("returnCode") == "503"]
    assert len(limited) >= 2
    assert limited[0] == {"result": False, "returnCode": "503", "message": "查询太频繁"}
    await asyncio.sleep(0.4)
    assert (await query(sandbox, "zhongtong", "781234567890"))["message"] == "ok"
