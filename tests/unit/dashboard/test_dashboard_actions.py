"""Every form of the dashboard: what it asks the services (through the typed client), the redirect after it
(post/redirect/get) and what the next page says, the API's refusals shown in Chinese with their code and
request id, and the CSRF token each form must carry."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.dashboard import catalogue
from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import csrf_of
from tests.unit.dashboard.dashboard_fakes import (
    ALLOC,
    SHIP,
    SHOP,
    TRACK,
    alert,
    batch_full,
    error,
    list_page,
    order,
    purchase,
    shipment,
    shop_settings,
)

BASE = f"/shops/{SHOP}"
PDF = b"%PDF-1.4 a label"

# Every form a shop posts, with what it sends.
FORMS = [
    (f"{BASE}/orders/ord-5/ship", {"carrier": "ZTO"}),
    (f"{BASE}/orders/ord-5/cancel", {}),
    (f"{BASE}/orders/batch", {"order_ids": ["ord-5"]}),
    (f"{BASE}/shipments/shp-2/void", {}),
    (f"{BASE}/purchases", {"package": "ZTO:ZTO-1000", "idempotency_key": "k" * 36}),
    (f"{BASE}/purchases/p-1/refund", {}),
    (f"{BASE}/purchases/p-1/extend", {"days": "30"}),
    (f"{BASE}/alerts/41/ack", {}),
    (f"{BASE}/settings", {"sender_name": "x"}),
    (f"{BASE}/pools/ZTO", {"low_stock_threshold": "10"}),
    (f"{BASE}/alert-settings", {"carrier": "*", "not_collected_hours": "12"}),
    (f"{BASE}/stores", {"channel": "taobao", "token": "t"}),
    (f"{BASE}/stores/sto-tb/rename", {"name": "x"}),
    (f"{BASE}/stores/sto-tb/token", {"token": "t"}),
    (f"{BASE}/stores/sto-tb/unbind", {}),
    (f"{BASE}/stores/sto-tb/confirm-mode", {"confirm_mode": "at_print"}),
    (f"{BASE}/shipments/shp-2/change-numbers", {}),
    (f"{BASE}/orders/ord-5/receiver", {"name": "x", "phone": "1", "state": "s", "city": "c", "address": "a"}),
    (f"{BASE}/order-alerts/1042/ack", {}),
    (f"{BASE}/settings/confirmation", {"confirm_mode": "at_print"}),
    (f"{BASE}/auto-ship", {"name": "x", "carrier": "ZTO"}),
    (f"{BASE}/auto-ship/asp-1/active", {"active": "0"}),
    (f"{BASE}/auto-ship/asp-1/delete", {}),
]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


async def token(browser: httpx.AsyncClient) -> str:
    return csrf_of(await browser.get(BASE))


def query(resp: httpx.Response) -> dict[str, str]:
    assert resp.status_code == 303, resp.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()}


def sent_json(route_calls: list[httpx.Request]) -> object:
    return json.loads(route_calls[-1].content)


@pytest.mark.parametrize(("path", "fields"), FORMS, ids=[p.removeprefix(BASE) for p, _ in FORMS])
async def test_a_form_without_this_sessions_csrf_token_is_refused_before_any_call(
    shop: httpx.AsyncClient, services: Services, path: str, fields: dict[str, object]
) -> None:
    writes_before = sum(len(services.calls(m)) for m in WRITES)
    for wrong in ("", "another-sessions-token"):
        resp = await shop.post(path, data={**fields, "csrf_token": wrong})
        assert resp.status_code == 403
        assert "表单已过期，请刷新页面后重试。" in resp.text
        assert 'data-testid="error-code">csrf_failed<' in resp.text
    assert sum(len(services.calls(m)) for m in WRITES) == writes_before


@pytest.mark.parametrize(("path", "fields"), FORMS, ids=[p.removeprefix(BASE) for p, _ in FORMS])
async def test_a_form_without_a_session_is_refused(
    app: object, services: Services, path: str, fields: dict[str, object]
) -> None:
    browser = app.other()  # type: ignore[attr-defined]
    resp = await browser.post(path, data={**fields, "csrf_token": "x"})
    assert resp.status_code == 401
    assert "请重新登录" in resp.text


async def test_ship_one_order_with_the_chosen_carrier_then_print_its_label(
    shop: httpx.AsyncClient, services: Services
) -> None:
    ship = services.post(f"{SHIP}/v1/orders/ord-5/ship").respond(json=shipment(5, "YTO", None, status="pending"))
    resp = await shop.post(f"{BASE}/orders/ord-5/ship", data={"csrf_token": await token(shop), "carrier": "YTO"})
    assert resp.headers["location"] == f"{BASE}/shipments/shp-5?notice=shipped"
    assert sent_json([c.request for c in ship.calls]) == {"carrier": "YTO"}

    services.get(f"{SHIP}/v1/shipments/shp-5").respond(json=shipment(5, "YTO", None, status="pending"))
    services.get(f"{TRACK}/v1/trackings/N0005").respond(404, json={"error": {"code": "not_found", "message": "no"}})
    page = await shop.get(resp.headers["location"])
    assert 'data-testid="notice">已发货，可以打印面单了。' in page.text
    assert f'href="{BASE}/shipments/shp-5/label.pdf"' in page.text

    label = services.get(f"{SHIP}/v1/shipments/shp-5/label.pdf").respond(
        content=PDF, headers={"content-type": "application/pdf"}
    )
    pdf = await shop.get(f"{BASE}/shipments/shp-5/label.pdf")
    assert (pdf.status_code, pdf.content) == (200, PDF)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'inline; filename="label-shp-5.pdf"'
    assert "pdf" in label.calls.last.request.headers["accept"]


async def test_ship_with_the_recommended_carrier_sends_no_body(shop: httpx.AsyncClient, services: Services) -> None:
    ship = services.post(f"{SHIP}/v1/orders/ord-5/ship").respond(json=shipment(5, "ZTO", None))
    await shop.post(f"{BASE}/orders/ord-5/ship", data={"csrf_token": await token(shop), "carrier": ""})
    assert ship.calls.last.request.content in (b"", b"null")


async def test_a_refused_shipment_is_said_in_chinese_with_its_code_and_request_id(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.post(f"{SHIP}/v1/orders/ord-5/ship").mock(return_value=error(409, "pool_exhausted", "no ZTO numbers left"))
    resp = await shop.post(f"{BASE}/orders/ord-5/ship", data={"csrf_token": await token(shop), "carrier": "ZTO"})
    assert query(resp) == {"error": "pool_exhausted", "request_id": "req-1", "detail": "no ZTO numbers left"}
    assert urlsplit(resp.headers["location"]).path == f"{BASE}/orders"
    page = await shop.get(resp.headers["location"])
    assert page.status_code == 200
    text = page.text
    shown = '该快递的电子面单号已用完，请先购买单号。 <code data-testid="error-code">pool_exhausted</code>'
    assert f'data-testid="error">{shown}' in text
    assert "<code>req-1</code>" in text
    assert "Traceback" not in text


async def test_a_forged_error_in_the_address_shows_only_catalogue_text(
    shop: httpx.AsyncClient, services: Services
) -> None:
    page = await shop.get(f"{BASE}/orders?error=<script>&notice=<b>hi</b>&request_id=<x>")
    assert "<script>" not in page.text
    assert "<b>hi</b>" not in page.text
    escaped = await shop.get(f"{BASE}/orders?error=conflict&detail=<img src=x>")
    assert "&lt;img src=x&gt;" in escaped.text
    assert "<img src=x>" not in escaped.text


async def test_a_carrier_that_is_no_carrier_code_is_refused_here(shop: httpx.AsyncClient, services: Services) -> None:
    resp = await shop.post(f"{BASE}/orders/ord-5/ship", data={"csrf_token": await token(shop), "carrier": "../x"})
    assert query(resp) == {"error": "validation_error"}


async def test_cancel_an_order(shop: httpx.AsyncClient, services: Services) -> None:
    cancel = services.post(f"{SHIP}/v1/orders/ord-5/cancel").respond(json={**order(5), "status": "cancelled"})
    resp = await shop.post(f"{BASE}/orders/ord-5/cancel", data={"csrf_token": await token(shop)})
    assert resp.headers["location"] == f"{BASE}/orders?notice=cancelled"
    assert cancel.called


async def test_ship_the_selected_orders_as_a_batch_and_follow_it(shop: httpx.AsyncClient, services: Services) -> None:
    create = services.post(f"{SHIP}/v1/shipment-batches").respond(json=batch_full("b-9", "processing", 2, 0))
    data = {"csrf_token": await token(shop), "order_ids": ["ord-5", "ord-6", "ord-5"], "carrier": "ZTO"}
    resp = await shop.post(f"{BASE}/orders/batch", data=data)
    assert resp.headers["location"] == f"{BASE}/batches/b-9?notice=batch_created"
    assert sent_json([c.request for c in create.calls]) == {"order_ids": ["ord-5", "ord-6"], "carrier": "ZTO"}


async def test_a_batch_with_each_orders_recommended_carrier(shop: httpx.AsyncClient, services: Services) -> None:
    create = services.post(f"{SHIP}/v1/shipment-batches").respond(json=batch_full("b-9", "processing", 1, 0))
    await shop.post(f"{BASE}/orders/batch", data={"csrf_token": await token(shop), "order_ids": ["ord-5"]})
    assert sent_json([c.request for c in create.calls]) == {"order_ids": ["ord-5"], "carrier": None}


async def test_a_batch_of_nothing_asks_to_select_first(shop: httpx.AsyncClient, services: Services) -> None:
    resp = await shop.post(f"{BASE}/orders/batch", data={"csrf_token": await token(shop)})
    assert resp.headers["location"] == f"{BASE}/orders?notice=nothing_selected"
    assert "请先勾选要发货的订单。" in (await shop.get(resp.headers["location"])).text
    assert services.calls("POST") == []


async def test_void_a_shipment(shop: httpx.AsyncClient, services: Services) -> None:
    void = services.post(f"{SHIP}/v1/shipments/shp-2/void").respond(json=shipment(2, "ZTO", None, "voided"))
    csrf = await token(shop)
    resp = await shop.post(f"{BASE}/shipments/shp-2/void", data={"csrf_token": csrf})
    assert resp.headers["location"] == f"{BASE}/shipments/shp-2?notice=voided"
    assert void.calls.last.request.content in (b"", b"null")  # shipping's own reason
    await shop.post(f"{BASE}/shipments/shp-2/void", data={"csrf_token": csrf, "reason": " 买家退款 "})
    assert sent_json([c.request for c in void.calls]) == {"reason": "买家退款"}
    services.get(f"{SHIP}/v1/shipments/shp-2").respond(json=shipment(2, "ZTO", None, "voided"))
    page = await shop.get(resp.headers["location"])
    assert 'data-testid="notice">单号已回收作废，订单回到待发货。' in page.text
    assert not services.calls("POST")[-1].url.path.endswith("/cancel")


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("cannot_withdraw", "平台不能撤回已确认的发货：请改用换单号。"),
        ("already_collected", "快递员已揽收，面单不能再作废、换号或改址。"),
    ],
)
async def test_a_refused_void_says_why_in_chinese(
    shop: httpx.AsyncClient, services: Services, code: str, said: str
) -> None:
    services.post(f"{SHIP}/v1/shipments/shp-2/void").mock(return_value=error(409, code, f"refused: {code}"))
    resp = await shop.post(f"{BASE}/shipments/shp-2/void", data={"csrf_token": await token(shop)})
    assert query(resp) == {"error": code, "request_id": "req-1", "detail": f"refused: {code}"}
    services.get(f"{SHIP}/v1/shipments/shp-2").respond(json=shipment(2, "ZTO", None))
    page = await shop.get(resp.headers["location"])
    assert f'data-testid="error">{said} <code data-testid="error-code">{code}</code>' in page.text
    english = await shop.get(resp.headers["location"] + "&lang=en")
    assert f"{catalogue.ERROR_CODES[code]['en']} <code" in english.text


async def test_buy_a_package_once_however_often_the_form_is_sent(shop: httpx.AsyncClient, services: Services) -> None:
    buy = services.post(f"{ALLOC}/v1/purchases").respond(json=purchase("p-3", "pending"))
    key = "0b7d6f1e-2c4a-4f3b-9a8e-5d6c7b8a9f01"
    data = {"csrf_token": await token(shop), "package": "ZTO:ZTO-1000", "idempotency_key": key}
    first = await shop.post(f"{BASE}/purchases", data=data)
    again = await shop.post(f"{BASE}/purchases", data=data)
    assert first.headers["location"] == again.headers["location"] == f"{BASE}/purchases?notice=purchased"
    assert [c.request.headers["idempotency-key"] for c in buy.calls] == [key, key]
    assert sent_json([c.request for c in buy.calls]) == {"carrier": "ZTO", "package_id": "ZTO-1000"}


async def test_buying_without_the_balance_says_so(shop: httpx.AsyncClient, services: Services) -> None:
    services.post(f"{ALLOC}/v1/purchases").mock(return_value=error(402, "insufficient_balance", "balance too low"))
    data = {"csrf_token": await token(shop), "package": "ZTO:ZTO-1000", "idempotency_key": "k" * 36}
    resp = await shop.post(f"{BASE}/purchases", data=data)
    page = await shop.get(resp.headers["location"])
    assert "账户余额不足，请先充值。" in page.text


async def test_a_package_that_is_not_one_is_refused_here(shop: httpx.AsyncClient, services: Services) -> None:
    resp = await shop.post(f"{BASE}/purchases", data={"csrf_token": await token(shop), "package": "nonsense"})
    assert query(resp) == {"error": "validation_error"}
    assert services.calls("POST") == []


async def test_refund_and_extend_a_purchase(shop: httpx.AsyncClient, services: Services) -> None:
    refund = services.post(f"{ALLOC}/v1/purchases/p-1/refund").respond(
        json={"purchase_id": "p-1", "refunded_quantity": 5, "refunded_cents": 150, "balance_cents": 10}
    )
    extend = services.post(f"{ALLOC}/v1/purchases/p-1/extend").respond(
        json={
            "purchase_id": "p-1",
            "fee_cents": 1000,
            "numbers_extended": 5,
            "expires_at": "2027-06-27T04:00:00+00:00",
            "balance_cents": 0,
        }
    )
    csrf = await token(shop)
    refunded = await shop.post(f"{BASE}/purchases/p-1/refund", data={"csrf_token": csrf})
    assert refunded.headers["location"] == f"{BASE}/purchases?notice=refunded"
    assert refund.called
    extended = await shop.post(f"{BASE}/purchases/p-1/extend", data={"csrf_token": csrf, "days": "90"})
    assert extended.headers["location"] == f"{BASE}/purchases?notice=extended"
    assert sent_json([c.request for c in extend.calls]) == {"days": 90}
    for days in ("0", "366", "lots"):
        bad = await shop.post(f"{BASE}/purchases/p-1/extend", data={"csrf_token": csrf, "days": days})
        assert query(bad) == {"error": "validation_error"}, days
    assert extend.call_count == 1


async def test_acknowledge_an_alert(shop: httpx.AsyncClient, services: Services) -> None:
    ack = services.post(f"{TRACK}/v1/alerts/41/ack").respond(json=alert(41, "acknowledged"))
    resp = await shop.post(f"{BASE}/alerts/41/ack", data={"csrf_token": await token(shop)})
    assert resp.headers["location"] == f"{BASE}/alerts?notice=acknowledged"
    assert ack.called
    services.get(f"{TRACK}/v1/alerts").respond(json=list_page([]))
    page = await shop.get(resp.headers["location"])
    assert 'data-testid="notice">预警已确认。' in page.text


async def test_acknowledge_an_alert_that_is_gone(shop: httpx.AsyncClient, services: Services) -> None:
    services.post(f"{TRACK}/v1/alerts/41/ack").mock(return_value=error(404, "not_found", "alert 41 not found"))
    resp = await shop.post(f"{BASE}/alerts/41/ack", data={"csrf_token": await token(shop)})
    assert query(resp)["error"] == "not_found"


async def test_save_the_shops_settings_keeping_the_binding_unless_typed(
    shop: httpx.AsyncClient, services: Services
) -> None:
    put = services.put(f"{SHIP}/v1/settings").respond(json=shop_settings())
    csrf = await token(shop)
    form = {
        "csrf_token": csrf,
        "sender_name": " 杭州小铺 ",
        "sender_phone": "0571-88886666",
        "sender_address": "浙江省杭州市",
        "default_carrier": "",
    }
    resp = await shop.post(f"{BASE}/settings", data=form)
    assert resp.headers["location"] == f"{BASE}/settings?notice=settings_saved"
    assert sent_json([c.request for c in put.calls]) == {
        "sender_name": "杭州小铺",
        "sender_phone": "0571-88886666",
        "sender_address": "浙江省杭州市",
        "default_carrier": None,
    }
    await shop.post(
        f"{BASE}/settings",
        data={**form, "default_carrier": "ZTO", "seller_nick": "nick", "marketplace_session": "sess"},
    )
    sent = sent_json([c.request for c in put.calls])
    assert isinstance(sent, dict)
    assert (sent["default_carrier"], sent["seller_nick"], sent["session"]) == ("ZTO", "nick", "sess")


async def test_the_settings_page_sets_the_shops_time_zone(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/settings").respond(json=shop_settings(time_zone="America/New_York"))
    page = await shop.get(f"{BASE}/settings")
    assert 'name="time_zone"' in page.text
    assert 'value="America/New_York" placeholder' in page.text  # the shop's current zone, ready to change
    assert '<option value="Europe/Berlin">' in page.text
    # Read once: the page's zone and its form come from the same answer.
    assert len([c for c in services.calls("GET") if c.url.path == "/v1/settings"]) == 1
    put = services.put(f"{SHIP}/v1/settings").respond(json=shop_settings(time_zone="Europe/Berlin"))
    form = {"csrf_token": await token(shop), "sender_name": "x", "time_zone": " Europe/Berlin "}
    resp = await shop.post(f"{BASE}/settings", data=form)
    assert resp.headers["location"] == f"{BASE}/settings?notice=settings_saved"
    sent = sent_json([c.request for c in put.calls])
    assert isinstance(sent, dict)
    assert sent["time_zone"] == "Europe/Berlin"
    # Left empty, the zone is not sent (it stays); one shipping does not know comes back as its refusal.
    await shop.post(f"{BASE}/settings", data={**form, "time_zone": ""})
    assert "time_zone" not in json.loads(put.calls.last.request.content)
    services.put(f"{SHIP}/v1/settings").mock(return_value=error(422, "validation_error", "invalid request: time_zone"))
    refused = await shop.post(f"{BASE}/settings", data={**form, "time_zone": "Mars/Olympus_Mons"})
    assert query(refused)["error"] == "validation_error"


async def test_a_binding_the_marketplace_refuses_is_said_in_chinese(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.put(f"{SHIP}/v1/settings").mock(
        return_value=error(422, "seller_not_verified", "the session belongs to another seller")
    )
    data = {"csrf_token": await token(shop), "seller_nick": "nick", "marketplace_session": "bad"}
    resp = await shop.post(f"{BASE}/settings", data=data)
    page = await shop.get(resp.headers["location"])
    assert "平台店铺授权未通过校验：授权已失效，或不属于所填的卖家。" in page.text


async def test_save_a_pools_threshold(shop: httpx.AsyncClient, services: Services) -> None:
    put = services.put(f"{ALLOC}/v1/pools/YTO").respond(
        json={
            "carrier": "YTO",
            "counts": {},
            "expiring_soon": 0,
            "expiring_within_days": 7,
            "low_stock_threshold": 50,
            "low_stock": True,
            "auto_replenish_package": None,
        }
    )
    csrf = await token(shop)
    resp = await shop.post(f"{BASE}/pools/YTO", data={"csrf_token": csrf, "low_stock_threshold": "50"})
    assert resp.headers["location"] == f"{BASE}/settings?notice=pool_saved#pools"
    assert sent_json([c.request for c in put.calls]) == {"low_stock_threshold": 50, "auto_replenish_package": None}
    bad = await shop.post(f"{BASE}/pools/YTO", data={"csrf_token": csrf, "low_stock_threshold": "-1"})
    assert query(bad) == {"error": "validation_error"}


async def test_save_alert_thresholds_for_every_carrier_or_one(shop: httpx.AsyncClient, services: Services) -> None:
    put = services.put(f"{TRACK}/v1/alert-settings").respond(
        json={
            "carrier": "*",
            "not_collected_hours": 12.0,
            "no_update_hours": 48.0,
            "late_grace_hours": 24.0,
            "transit_days": 3,
        }
    )
    csrf = await token(shop)
    every = {"csrf_token": csrf, "carrier": "*", "not_collected_hours": "12", "transit_days": ""}
    resp = await shop.post(f"{BASE}/alert-settings", data=every)
    assert resp.headers["location"] == f"{BASE}/settings?notice=alerting_saved#alerting"
    assert sent_json([c.request for c in put.calls]) == {"carrier": None, "not_collected_hours": 12.0}
    one = {"csrf_token": csrf, "carrier": "SF", "no_update_hours": "6.5", "transit_days": "2"}
    await shop.post(f"{BASE}/alert-settings", data=one)
    assert sent_json([c.request for c in put.calls]) == {"carrier": "SF", "no_update_hours": 6.5, "transit_days": 2}
    for bad in ({"not_collected_hours": "0"}, {"transit_days": "1.5"}, {"late_grace_hours": "soon"}):
        refused = await shop.post(f"{BASE}/alert-settings", data={"csrf_token": csrf, "carrier": "*", **bad})
        assert query(refused) == {"error": "validation_error"}, bad
    assert put.call_count == 2


async def test_sign_out_needs_the_token_and_ends_the_session(shop: httpx.AsyncClient, services: Services) -> None:
    csrf = await token(shop)
    refused = await shop.post("/logout", data={"csrf_token": "nope"})
    assert refused.status_code == 403
    out = await shop.post("/logout", data={"csrf_token": csrf})
    assert out.headers["location"] == "/login"
    assert (await shop.get(BASE)).headers["location"] == "/login"
