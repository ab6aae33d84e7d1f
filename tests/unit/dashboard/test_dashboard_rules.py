"""The order alerts page and acknowledging one; the confirmation mode of the shop (settings) and of a store;
the auto-ship rules: the list, creating one from the form, one rule with its last runs, pausing, resuming and
deleting it, and its dry run with each reason in the seller's words."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import csrf_of
from tests.unit.dashboard.dashboard_fakes import (
    SHIP,
    SHOP,
    error,
    list_page,
    order_alert,
    shop_settings,
    store,
)

BASE = f"/shops/{SHOP}"
RULE = "asp-1"


def run(**changes: Any) -> dict[str, Any]:
    skipped = {"order_id": "ord-7", "reason": "weight_out_of_range", "message": "重量 4200 克不在 不限 至 3000 克 之间"}
    return {
        "id": "asr-1",
        "rule_id": RULE,
        "batch_id": "b-auto",
        "carrier": "ZTO",
        "at": "2026-11-28T02:31:00+00:00",
        "taken": 2,
        "order_ids": ["ord-5", "ord-6"],
        "skipped": 1,
        "skipped_by_reason": {"weight_out_of_range": 1},
        "skipped_orders": [{**skipped, "rule_id": None}],
        **changes,
    }


def rule(**changes: Any) -> dict[str, Any]:
    return {
        "id": RULE,
        "name": "江浙沪小件走中通",
        "priority": 10,
        "active": True,
        "carrier": "ZTO",
        "conditions": {
            "provinces": ["浙江", "江苏省"],
            "weight_min_g": None,
            "weight_max_g": 3000,
            "stores": ["own", "sto-tb"],
            "time_windows": [{"from": "09:00", "to": "17:30", "days": [1, 2, 3, 4, 5]}],
        },
        "min_age_minutes": 30,
        "max_batch": 500,
        "created_at": "2026-11-27T01:00:00+00:00",
        "updated_at": "2026-11-27T01:00:00+00:00",
        "last_run": run(),
        **changes,
    }


def dry_run(**changes: Any) -> dict[str, Any]:
    found = run()
    for key in ("id", "batch_id", "taken"):
        del found[key]
    return {**found, "running": True, "would_take": 2, **changes}


async def csrf(browser: httpx.AsyncClient) -> str:
    return csrf_of(await browser.get(BASE))


async def test_the_order_alerts_page_reads_in_the_sellers_words(shop: httpx.AsyncClient, services: Services) -> None:
    page = await shop.get(f"{BASE}/order-alerts")
    assert page.status_code == 200
    text = page.text
    assert 'data-testid="tab-order-alerts"' in text
    assert 'data-testid="order-alert-kind">即将超时<' in text
    assert "订单快到最晚发货时间仍未发货，请尽快发货。" in text
    assert 'data-testid="order-alert-message">订单 T1005 须在 2026-11-30 10:00 前发货，还剩 3 小时 40 分<' in text
    assert "2026-11-28 13:00" in text  # opened 05:00 UTC, in Beijing time
    assert f'href="{BASE}/orders/ord-5"' in text
    assert f'action="{BASE}/order-alerts/1042/ack"' in text
    assert dict(services.routes["order-alerts"].calls.last.request.url.params) == {"state": "open", "limit": "100"}
    english = (await shop.get(f"{BASE}/order-alerts?lang=en")).text
    assert 'data-testid="order-alert-kind">Late to ship<' in english

    services.get(f"{SHIP}/v1/order-alerts").respond(json=list_page([order_alert(7, "address_invalid", "resolved")]))
    resolved = (await shop.get(f"{BASE}/order-alerts?state=resolved&kind=address_invalid&lang=zh")).text
    assert dict(services.routes["order-alerts"].calls.last.request.url.params) == {
        "state": "resolved",
        "kind": "address_invalid",
        "limit": "100",
    }  # the dashboard's own ?lang= goes no further
    assert 'data-testid="order-alert-kind">地址有误<' in resolved
    assert "/ack" not in resolved.split('id="order-alerts"')[1]
    assert (await shop.get(f"{BASE}/order-alerts?kind=not_collected")).status_code == 422  # a logistics kind


async def test_acknowledge_an_order_alert(shop: httpx.AsyncClient, services: Services) -> None:
    ack = services.post(f"{SHIP}/v1/order-alerts/1042/acknowledge").respond(
        json=order_alert(1042, state="acknowledged")
    )
    resp = await shop.post(f"{BASE}/order-alerts/1042/ack", data={"csrf_token": await csrf(shop)})
    assert resp.headers["location"] == f"{BASE}/order-alerts?notice=order_alert_acknowledged"
    assert ack.called
    page = await shop.get(resp.headers["location"])
    assert 'data-testid="notice">订单预警已确认。' in page.text
    services.post(f"{SHIP}/v1/order-alerts/1042/acknowledge").mock(
        return_value=error(409, "invalid_transition", "alert 1042 is resolved")
    )
    refused = await shop.post(f"{BASE}/order-alerts/1042/ack", data={"csrf_token": await csrf(shop)})
    assert "error=invalid_transition" in refused.headers["location"]


async def test_the_shops_confirmation_mode(shop: httpx.AsyncClient, services: Services) -> None:
    saved = {
        **shop_settings(),
        "confirm_mode": "at_collection",
        "confirm_time": "18:00",
        "late_to_ship_lead_minutes": 120,
    }
    services.get(f"{SHIP}/v1/settings").respond(json=saved)
    text = (await shop.get(f"{BASE}/settings")).text
    assert re.search(r'value="at_collection" checked data-testid="confirm-at_collection"> 揽收后发货', text)
    assert 'value="18:00" class="small" data-testid="confirm-time"' in text
    assert 'name="late_to_ship_lead_minutes" type="number" min="0" max="10080" value="120"' in text
    put = services.put(f"{SHIP}/v1/settings").respond(json=saved)
    token = csrf_of(await shop.get(BASE))
    form = {
        "csrf_token": token,
        "confirm_mode": "at_collection",
        "confirm_time": "18:00",
        "late_to_ship_lead_minutes": "90",
    }
    resp = await shop.post(f"{BASE}/settings/confirmation", data=form)
    assert resp.headers["location"] == f"{BASE}/settings?notice=confirmation_saved#confirmation"
    # Only these: the sender and the rest keep their values.
    assert json.loads(put.calls.last.request.content) == {
        "confirm_mode": "at_collection",
        "confirm_time": "18:00",
        "late_to_ship_lead_minutes": 90,
    }
    await shop.post(f"{BASE}/settings/confirmation", data={"csrf_token": token, "confirm_mode": "at_print"})
    assert json.loads(put.calls.last.request.content) == {"confirm_mode": "at_print", "confirm_time": None}
    for bad in ({"confirm_mode": "whenever"}, {"confirm_mode": "at_print", "confirm_time": "25:00"}):
        refused = await shop.post(f"{BASE}/settings/confirmation", data={"csrf_token": token, **bad})
        assert refused.headers["location"] == f"{BASE}/settings?error=validation_error#confirmation", bad
    lead = {"csrf_token": token, "confirm_mode": "at_print", "late_to_ship_lead_minutes": "99999"}
    assert "validation_error" in (await shop.post(f"{BASE}/settings/confirmation", data=lead)).headers["location"]
    assert put.call_count == 2


async def test_a_stores_own_confirmation_mode(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/stores").respond(
        json=list_page([{**store("sto-tb", "taobao", "杭州小铺旗舰店", "天猫店"), "confirm_mode": "at_collection"}])
    )
    text = (await shop.get(f"{BASE}/stores")).text
    assert f'action="{BASE}/stores/sto-tb/confirm-mode"' in text
    assert '<option value="at_collection" selected>揽收后发货</option>' in text
    assert "同店铺设置 (打单即发货)" in text  # the shop's own mode, named
    patch = services.patch(f"{SHIP}/v1/stores/sto-tb").respond(json=store("sto-tb", "taobao", "x", "天猫店"))
    token = csrf_of(await shop.get(BASE))
    resp = await shop.post(f"{BASE}/stores/sto-tb/confirm-mode", data={"csrf_token": token, "confirm_mode": ""})
    assert resp.headers["location"] == f"{BASE}/stores?notice=store_confirm_saved"
    assert json.loads(patch.calls.last.request.content) == {"confirm_mode": None}  # the shop's again
    await shop.post(f"{BASE}/stores/sto-tb/confirm-mode", data={"csrf_token": token, "confirm_mode": "at_print"})
    assert json.loads(patch.calls.last.request.content) == {"confirm_mode": "at_print"}
    bad = await shop.post(f"{BASE}/stores/sto-tb/confirm-mode", data={"csrf_token": token, "confirm_mode": "x"})
    assert bad.headers["location"] == f"{BASE}/stores?error=validation_error"
    assert patch.call_count == 2


async def test_the_auto_ship_page_lists_the_rules_and_offers_the_form(
    shop: httpx.AsyncClient, services: Services
) -> None:
    empty = (await shop.get(f"{BASE}/auto-ship")).text
    assert 'data-testid="no-rules">还没有自动发货规则。<' in empty
    listed = services.get(f"{SHIP}/v1/auto-ship/rules").respond(
        json=list_page([rule(), rule(id="asp-2", active=False, last_run=None)])
    )
    text = (await shop.get(f"{BASE}/auto-ship")).text
    assert dict(listed.calls.last.request.url.params) == {"limit": "50"}
    row = text[text.index(f'data-rule="{RULE}"') : text.index('data-rule="asp-2"')]
    assert "江浙沪小件走中通" in row
    assert "省份: 浙江、江苏省" in row
    assert "重量: 0–3000 g" in row
    assert "店铺: 自有渠道、<code>sto-tb</code>" in row
    assert "时段: 09:00–17:30 (周一、周二、周三、周四、周五)" in row
    assert 'data-col="last-run">2026-11-28 10:31 · 发货 2' in row
    assert f'href="{BASE}/auto-ship/{RULE}/dry-run"' in row
    assert 'data-rule="asp-2" class="unbound"' in text
    assert '<span class="flag low">已暂停</span>' in text
    # The form: the shop's carriers and stores to choose from.
    assert '<option value="ZTO">中通快递 (ZTO)</option>' in text
    assert 'name="stores" value="own"' in text
    assert 'name="stores" value="sto-pdd"> 拼多多 · 拼多多小铺' in text
    assert 'name="days" value="7"> 周日' in text
    english = (await shop.get(f"{BASE}/auto-ship?lang=en")).text
    assert "window: 09:00–17:30 (Mon、Tue" in english


async def test_create_a_rule_from_the_form(shop: httpx.AsyncClient, services: Services) -> None:
    create = services.post(f"{SHIP}/v1/auto-ship/rules").respond(201, json=rule())
    token = await csrf(shop)
    form = {
        "csrf_token": token,
        "name": " 江浙沪小件走中通 ",
        "carrier": "ZTO",
        "priority": "10",
        "provinces": "浙江，江苏省 上海",
        "weight_min_g": "",
        "weight_max_g": "3000",
        "stores": ["own", "sto-tb"],
        "window_from": "09:00",
        "window_to": "17:30",
        "days": ["1", "2", "3", "4", "5"],
        "min_age_minutes": "30",
        "max_batch": "",
        "active": "1",
    }
    resp = await shop.post(f"{BASE}/auto-ship", data=form)
    assert resp.headers["location"] == f"{BASE}/auto-ship/{RULE}?notice=rule_created"
    assert json.loads(create.calls.last.request.content) == {
        "name": "江浙沪小件走中通",
        "carrier": "ZTO",
        "active": True,
        "priority": 10,
        "min_age_minutes": 30,
        "conditions": {
            "provinces": ["浙江", "江苏省", "上海"],
            "weight_max_g": 3000,
            "stores": ["own", "sto-tb"],
            "time_windows": [{"from": "09:00", "to": "17:30", "days": [1, 2, 3, 4, 5]}],
        },
    }
    plain = {"csrf_token": token, "name": "全部", "carrier": "YTO"}  # no condition: every paid order, paused
    await shop.post(f"{BASE}/auto-ship", data=plain)
    assert json.loads(create.calls.last.request.content) == {"name": "全部", "carrier": "YTO", "active": False}
    for bad in ({"carrier": ""}, {"name": ""}, {"window_from": "9"}, {"weight_max_g": "heavy"}, {"window_to": "10:00"}):
        refused = await shop.post(f"{BASE}/auto-ship", data={**plain, **bad})
        assert refused.headers["location"] == f"{BASE}/auto-ship?error=validation_error#create", bad
    assert create.call_count == 2
    services.post(f"{SHIP}/v1/auto-ship/rules").mock(
        return_value=error(422, "validation_error", "invalid request: conditions.provinces: unknown province(s): 火星")
    )
    refused = await shop.post(f"{BASE}/auto-ship", data={**plain, "provinces": "火星"})
    page = await shop.get(refused.headers["location"].split("#")[0])
    assert "填写的内容不符合要求，请检查后重试。" in page.text
    assert "unknown province(s): 火星" in page.text  # shipping's own words, for what was refused


async def test_a_rule_with_its_runs_paused_resumed_and_deleted(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/auto-ship/rules/{RULE}").respond(json=rule())
    runs = services.get(f"{SHIP}/v1/auto-ship/rules/{RULE}/runs").respond(json=list_page([run()], "r2"))
    text = (await shop.get(f"{BASE}/auto-ship/{RULE}")).text
    assert 'data-run="asr-1"' in text
    assert f'href="{BASE}/batches/b-auto"' in text
    assert "重量不在规则范围内 1" in text
    assert "2026-11-28 10:31" in text
    assert f'href="{BASE}/auto-ship/{RULE}?cursor=r2" rel="next"' in text
    assert dict(runs.calls.last.request.url.params) == {"limit": "10"}
    assert f'action="{BASE}/auto-ship/{RULE}/active"' in text
    assert '<input type="hidden" name="active" value="0">' in text  # active: the button pauses it

    patch = services.patch(f"{SHIP}/v1/auto-ship/rules/{RULE}").respond(json=rule(active=False))
    token = await csrf(shop)
    paused = await shop.post(f"{BASE}/auto-ship/{RULE}/active", data={"csrf_token": token, "active": "0"})
    assert paused.headers["location"] == f"{BASE}/auto-ship/{RULE}?notice=rule_paused"
    assert json.loads(patch.calls.last.request.content) == {"active": False}
    resumed = await shop.post(f"{BASE}/auto-ship/{RULE}/active", data={"csrf_token": token, "active": "1"})
    assert resumed.headers["location"] == f"{BASE}/auto-ship/{RULE}?notice=rule_resumed"
    assert json.loads(patch.calls.last.request.content) == {"active": True}
    bad = await shop.post(f"{BASE}/auto-ship/{RULE}/active", data={"csrf_token": token, "active": "maybe"})
    assert "validation_error" in bad.headers["location"]

    gone = services.delete(f"{SHIP}/v1/auto-ship/rules/{RULE}").respond(204)
    deleted = await shop.post(f"{BASE}/auto-ship/{RULE}/delete", data={"csrf_token": token})
    assert deleted.headers["location"] == f"{BASE}/auto-ship?notice=rule_deleted"
    assert gone.called
    assert "规则已删除，它创建的批次照常发货。" in (await shop.get(deleted.headers["location"])).text

    services.get(f"{SHIP}/v1/auto-ship/rules/asp-x").mock(return_value=error(404, "not_found", "rule asp-x not found"))
    missing = await shop.get(f"{BASE}/auto-ship/asp-x")
    assert missing.status_code == 404
    assert "找不到该记录" in missing.text


async def test_a_rules_dry_run_says_what_it_would_take_and_why_it_leaves_the_rest(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{SHIP}/v1/auto-ship/rules/{RULE}").respond(json=rule())
    tried = services.post(f"{SHIP}/v1/auto-ship/rules/{RULE}/dry-run").respond(json=dry_run())
    page = await shop.get(f"{BASE}/auto-ship/{RULE}/dry-run")
    assert page.status_code == 200
    text = page.text
    assert tried.called  # shipping's POST: it records nothing
    assert 'data-testid="would-take">2<' in text
    assert f'href="{BASE}/orders/ord-5"' in text
    assert 'data-reason="weight_out_of_range">重量不在规则范围内 <code>weight_out_of_range</code> · 1' in text
    assert "重量 4200 克不在 不限 至 3000 克 之间" in text
    assert "not-running" not in text
    assert "2026-11-28 10:31" in text
    services.post(f"{SHIP}/v1/auto-ship/rules/{RULE}/dry-run").respond(json=dry_run(running=False, would_take=0))
    outside = (await shop.get(f"{BASE}/auto-ship/{RULE}/dry-run")).text
    assert 'data-testid="not-running">现在不在规则的运行时段内，这次不会发货。<' in outside
    english = (await shop.get(f"{BASE}/auto-ship/{RULE}/dry-run?lang=en")).text
    assert "its weight is out of the rule&#39;s range" in english
    services.post(f"{SHIP}/v1/auto-ship/rules/{RULE}/dry-run").mock(return_value=error(404, "not_found", "gone"))
    assert (await shop.get(f"{BASE}/auto-ship/{RULE}/dry-run")).status_code == 404
