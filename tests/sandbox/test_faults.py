"""Faults happen at about the configured rate when on, never when off; settings and reset."""

from __future__ import annotations

import json
import time

import pytest

from services.sandbox.settings import SandboxSettings
from tests.sandbox.support import K100_KEY, RECEIVER, SALT, Harness, md5_upper, running, wait_for

CALLS = 2000
RATE = 0.3
TOLERANCE = 0.05  # about 3.5 standard deviations of a binomial(2000, 0.3) share


async def marketplace_errors(sb: Harness, calls: int) -> int:
    errors = 0
    for _ in range(calls):
        body = await sb.top("taobao.logistics.companies.get")
        errors += "error_response" in body
    return errors


async def courier_errors(sb: Harness, calls: int) -> int:
    errors = 0
    for _ in range(calls):
        response = await sb.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s"})
        errors += response.status_code == 500
    return errors


async def query_errors(sb: Harness, calls: int) -> int:
    param = json.dumps({"com": "zhongtong", "num": "781234567890"})
    form = {"customer": K100_KEY, "param": param, "sign": md5_upper(param + K100_KEY + K100_KEY)}
    errors = 0
    for _ in range(calls):
        errors += (await sb.client.post("/kuaidi100/poll/query.do", data=form)).json()["returnCode"] == "502"
    return errors


async def test_errors_never_happen_when_off(sandbox: Harness) -> None:
    assert await marketplace_errors(sandbox, CALLS) == 0
    assert await courier_errors(sandbox, CALLS) == 0


@pytest.mark.parametrize("key", ["marketplace", "taobao.logistics.companies.get"])
async def test_marketplace_errors_happen_at_the_configured_rate(sandbox: Harness, key: str) -> None:
    await sandbox.faults(error_rate={key: RATE})
    share = await marketplace_errors(sandbox, CALLS) / CALLS
    assert abs(share - RATE) <= TOLERANCE


async def test_courier_errors_happen_at_the_configured_rate(sandbox: Harness) -> None:
    await sandbox.faults(error_rate={"courier": RATE})
    share = await courier_errors(sandbox, CALLS) / CALLS
    assert abs(share - RATE) <= TOLERANCE


async def test_query_errors_happen_at_the_configured_rate_and_only_there() -> None:
    async with running(tracking_query_rate_per_s=1e6) as sb:
        await sb.faults(error_rate={"kuaidi100.query": RATE})
        share = await query_errors(sb, CALLS) / CALLS
        assert abs(share - RATE) <= TOLERANCE
        assert await marketplace_errors(sb, 200) == 0  # another endpoint stays healthy


async def test_rate_limit_answers_at_the_configured_rate(sandbox: Harness) -> None:
    await sandbox.faults(marketplace_rate_limit_rate=RATE)
    limited = 0
    for _ in range(CALLS):
        body = await sandbox.top("taobao.logistics.companies.get")
        limited += body.get("error_response", {}).get("code") == 7
    assert abs(limited / CALLS - RATE) <= TOLERANCE


async def test_faults_with_the_same_seed_repeat_exactly() -> None:
    outcomes = []
    for _ in range(2):
        async with running() as sb:
            await sb.faults(error_rate={"marketplace": 0.5}, seed=1234)
            outcomes.append([("error_response" in await sb.top("taobao.logistics.companies.get")) for _ in range(50)])
    assert outcomes[0] == outcomes[1]


async def test_dropped_pushes_happen_at_the_configured_rate() -> None:
    async with running() as sb:
        await sb.faults(push_drop_rate=RATE)
        numbers = [f"7{n:011d}" for n in range(600)]
        await sb.client.put("/control/tracking/kinds", json={"kinds": dict.fromkeys(numbers, "normal")})
        for number in numbers:
            param = {
                "company": "zhongtong",
                "number": number,
                "key": K100_KEY,
                "parameters": {"callbackurl": f"{RECEIVER}/callback", "salt": SALT},
            }
            await sb.client.post("/kuaidi100/poll", data={"schema": "json", "param": json.dumps(param)})
        # One jump: each parcel's whole journey becomes one push decision.
        await sb.client.post("/control/clock/advance", json={"seconds": 30 * 86_400})

        def decided() -> int:
            stats = sb.app.state.world.tracking.stats()["pushes"]
            return int(stats["attempts"] + stats["dropped"])

        await wait_for(lambda: decided() >= 600, what="every parcel's push decided")
        stats = (await sb.client.get("/control/tracking/stats")).json()["pushes"]
        assert stats["attempts"] + stats["dropped"] == 600
        assert abs(stats["dropped"] / 600 - RATE) <= 0.07
        assert len(sb.receiver.pushes) == stats["attempts"]


async def test_latency_is_added_where_asked(sandbox: Harness) -> None:
    await sandbox.faults(latency_ms={"TMS_WAYBILL_SUBSCRIPTION_QUERY": 120})
    started = time.monotonic()
    await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s"})
    assert time.monotonic() - started >= 0.12
    started = time.monotonic()
    await sandbox.top("taobao.logistics.companies.get")
    assert time.monotonic() - started < 0.1


async def test_fault_settings_are_validated_and_merged(sandbox: Harness) -> None:
    bad = await sandbox.client.put("/control/faults", json={"error_rate": {"nowhere": 0.5}})
    assert bad.status_code == 422
    too_high = await sandbox.client.put("/control/faults", json={"push_drop_rate": 1.5})
    assert too_high.status_code == 422
    await sandbox.faults(push_drop_rate=0.25)
    view = await sandbox.faults(time_acceleration=1000.0)
    assert view["push_drop_rate"] == 0.25
    assert view["time_acceleration"] == 1000.0
    assert (await sandbox.client.get("/control/clock")).json()["acceleration"] == 1000.0


async def test_reset_forgets_everything(sandbox: Harness) -> None:
    session = await sandbox.seller()
    await sandbox.trades("shop-a", 3)
    await sandbox.issue("ZTO", "s-1", "p-1", 5)
    await sandbox.faults(error_rate={"courier": 1.0})
    assert (await sandbox.client.post("/control/reset")).json() == {"status": "reset"}
    assert (await sandbox.client.get("/control/marketplace/sellers")).json() == []
    assert (await sandbox.top("taobao.trade.fullinfo.get", session, tid="1", fields="tid"))["error_response"][
        "code"
    ] == 27
    assert (await sandbox.client.get("/control/faults")).json()["error_rate"] == {}
    counters = await sandbox.courier("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": "ZTO", "seller_id": "s-1"})
    assert counters.json()["waybill_apply_subscription_cols"][0]["allocated_quantity"] == 0


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_MARKETPLACE_WEBHOOK_URL", "http://example.test/hook")
    monkeypatch.setenv("SANDBOX_MESSAGE_REDELIVERY_S", "1, 2.5,10")
    monkeypatch.setenv("SANDBOX_TRACKING_PUSH_RETRY_S", "[3, 4]")
    monkeypatch.setenv("SANDBOX_FAULTS__ERROR_RATE", '{"courier": 0.2}')
    monkeypatch.setenv("SANDBOX_TIME_ACCELERATION", str(86400 / 30))
    settings = SandboxSettings()
    assert settings.marketplace_webhook_url == "http://example.test/hook"
    assert settings.message_redelivery_s == [1.0, 2.5, 10.0]
    assert settings.tracking_push_retry_s == [3.0, 4.0]
    assert settings.faults.error_rate == {"courier": 0.2}
    assert settings.time_acceleration == 2880.0
    assert all(field.description for field in SandboxSettings.model_fields.values())
