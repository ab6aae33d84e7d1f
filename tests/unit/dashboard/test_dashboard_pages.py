"""Every page of the dashboard over mocked services: what it shows, in Chinese by default and in English on
the switch, and which calls it makes (the typed client's, with the signed-in key)."""

from __future__ import annotations

import re

import httpx
import respx

from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import csrf_of, dashboard, sign_in
from tests.unit.dashboard.dashboard_fakes import (
    ALLOC,
    SHIP,
    SHOP,
    SHOP_KEY,
    TRACK,
    alert,
    batch_full,
    batch_item,
    carrier,
    carrier_option,
    event,
    list_page,
    order,
    purchase,
    shipment,
    shop_settings,
    tracking,
)

BASE = f"/shops/{SHOP}"


def options(router: Services) -> respx.Route:
    return router.get(url__regex=rf"{SHIP}/v1/orders/[^/]+/carrier-options").respond(
        json=list_page(
            [carrier_option("ZTO", recommended=True), carrier_option("YTO"), carrier_option("SF", usable=False)]
        )
    )


async def test_a_shop_lands_on_its_overview(shop: httpx.AsyncClient, services: Services) -> None:
    landing = await shop.get("/")
    assert (landing.status_code, landing.headers["location"]) == (303, BASE)
    page = await shop.get(BASE)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert '<html lang="zh-CN">' in text
    assert "杭州小铺" in text
    assert "余额 ¥1,234.56" in text
    assert re.search(r'data-carrier="ZTO">.*?data-col="available">995<', text, re.S)
    assert re.search(r'data-carrier="YTO">.*?data-testid="low-stock">库存不足<', text, re.S)
    assert re.search(r'data-testid="to-ship"><span class="big">2</span>笔订单待发货', text)
    assert re.search(r'data-testid="open-alerts"><span class="big">1</span>条预警待处理', text)
    assert 'data-batch="b-new"' in text
    # The counts are one page each, never the whole list.
    assert services.routes["orders"].calls.last.request.url.params["status"] == "paid"
    sent = services.routes["pools"].calls.last.request.headers
    assert sent["authorization"] == f"Bearer {SHOP_KEY}"
    assert "x-shop-id" not in sent


async def test_the_orders_page_lists_orders_to_ship_with_their_ship_by_time_and_carriers(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{SHIP}/v1/orders").respond(
        json=list_page([order(6, "2026-11-28T03:00:00+00:00"), order(5, "2026-11-28T02:00:00+00:00")], "c2")
    )
    listed = options(services)
    page = await shop.get(f"{BASE}/orders")
    assert page.status_code == 200
    text = page.text
    # Oldest first (its deadline is nearest); ship-by = arrival + 48 h, in Beijing time.
    assert text.index('data-order="ord-5"') < text.index('data-order="ord-6"')
    assert re.search(
        r'data-order="ord-5".*?data-col="ship-by">2026-11-30 10:00 <span class="flag low">已超时', text, re.S
    )
    assert '<option value="ZTO" selected >中通快递 · 推荐 · 余995 · 2天</option>' in text
    assert re.search(r'<option value="SF"\s+disabled', text)
    assert f'action="{BASE}/orders/ord-5/ship"' in text
    assert 'name="order_ids" value="ord-5" form="batch"' in text
    assert f'href="{BASE}/orders?cursor=c2" rel="next"' in text
    assert listed.call_count == 2
    params = services.routes["orders"].calls.last.request.url.params
    assert (params["status"], params["limit"]) == ("paid", "50")


async def test_orders_due_soon_and_in_time_are_marked_apart(shop: httpx.AsyncClient, services: Services) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    # Due within the shop's late-to-ship lead (240 minutes by default), and not for two days.
    soon = order(1, (now - timedelta(hours=40)).isoformat(), ship_by=(now + timedelta(hours=2)).isoformat())
    fresh = order(2, (now - timedelta(hours=1)).isoformat(), ship_by=(now + timedelta(hours=47)).isoformat())
    services.get(f"{SHIP}/v1/orders").respond(json=list_page([soon, fresh]))
    options(services)
    text = (await shop.get(f"{BASE}/orders")).text
    assert re.search(r'<tr data-order="ord-1" class="soon">.*?即将超时', text, re.S)
    assert '<tr data-order="ord-2" class="ok">' in text


async def test_no_orders_to_ship(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/orders").respond(json=list_page([]))
    assert 'data-testid="no-orders">没有待发货的订单。' in (await shop.get(f"{BASE}/orders")).text


async def test_the_shipments_page_links_each_to_its_label_and_tracking(
    shop: httpx.AsyncClient, services: Services
) -> None:
    text = (await shop.get(f"{BASE}/shipments")).text
    assert re.search(r'data-number="N0002">.*?data-col="tracking">运输中<', text, re.S)
    assert re.search(r'data-number="N0001">.*?data-col="tracking"><span class="muted">暂无物流信息', text, re.S)
    assert f'href="{BASE}/shipments/shp-2/label.pdf"' in text
    assert f'href="{BASE}/shipments/shp-0/label.pdf"' not in text  # a failed shipment has no label
    assert "2026-11-28 12:02" in text  # 04:02 UTC
    assert services.routes["track-2"].calls.last.request.url.params["carrier"] == "ZTO"


async def test_a_shipment_shows_its_timeline_and_can_be_voided_while_unconfirmed(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{SHIP}/v1/shipments/shp-2").respond(json=shipment(2, "ZTO", "b-new", status="pending"))
    events = [
        event("2026-11-28T09:30:00+00:00", "in_transit", "快件已发往 深圳转运中心"),
        event("2026-11-28T06:00:00+00:00", "collected", "杭州余杭网点 已揽收"),
    ]
    with_alert = {**tracking("N0002", "in_transit", events), "alerts": [alert(7)]}
    services.get(f"{TRACK}/v1/trackings/N0002").respond(json=with_alert)
    text = (await shop.get(f"{BASE}/shipments/shp-2")).text
    assert 'data-testid="number">N0002<' in text
    assert 'data-testid="tracking-status">运输中<' in text
    timeline = text[text.index('<ol class="timeline">') :]
    assert timeline.index("17:30") < timeline.index("14:00")  # newest first, in Beijing time
    assert "快件已发往 深圳转运中心" in timeline
    assert "揽收超时" in text  # the parcel's alert, in Chinese
    assert f'action="{BASE}/shipments/shp-2/void"' in text
    assert f'href="{BASE}/shipments/shp-2/label.pdf"' in text
    assert f'href="{BASE}/batches/b-new"' in text


async def test_a_confirmed_shipment_offers_no_void(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/shipments/shp-2").respond(json=shipment(2, "ZTO", None))
    text = (await shop.get(f"{BASE}/shipments/shp-2")).text
    assert "/void" not in text
    assert "已确认发货" in text


async def test_a_shipment_of_another_shop_is_not_found_in_chinese(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/shipments/shp-x").respond(
        404, json={"error": {"code": "not_found", "message": "shipment shp-x not found", "request_id": "r-9"}}
    )
    page = await shop.get(f"{BASE}/shipments/shp-x")
    assert page.status_code == 404
    assert "找不到该记录" in page.text
    assert 'data-testid="error-code">not_found<' in page.text
    assert "Traceback" not in page.text


async def test_the_batches_page_is_the_apis_batch_list(shop: httpx.AsyncClient, services: Services) -> None:
    text = (await shop.get(f"{BASE}/batches")).text
    assert re.search(r'data-batch="b-new">.*?<progress max="10" value="4"></progress> 40%', text, re.S)
    assert re.search(r'data-batch="b-old">.*?已完成', text, re.S)
    assert '<meta http-equiv="refresh" content="4">' in text  # one is processing: the list follows it
    assert dict(services.routes["batches"].calls.last.request.url.params) == {"limit": "10"}
    assert not services.routes["shipments"].called  # never guessed from the shipments


async def test_a_batch_in_progress_polls_itself_and_lists_its_orders(
    shop: httpx.AsyncClient, services: Services
) -> None:
    summary = services.get(f"{SHIP}/v1/shipment-batches/b-new").respond(json=batch_full("b-new", "processing", 10, 4))
    services.get(f"{SHIP}/v1/shipment-batches/b-new/items").respond(
        json=list_page([batch_item(1, "shipped", "shp-1"), batch_item(2, "pending")], "more")
    )
    text = (await shop.get(f"{BASE}/batches/b-new")).text
    # The script polls the batch's counts; without script, the page refreshes itself.
    assert '<script src="/static/batch-progress.js" defer></script>' in text
    assert f'data-progress-url="{BASE}/batches/b-new/progress"' in text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in text
    assert 'data-status="processing"' in text
    assert 'data-testid="progress"' in text
    assert "40%" in text
    assert f'href="{BASE}/shipments/shp-1"' in text
    assert "排队中" in text
    assert f'href="{BASE}/batches/b-new/labels.pdf"' in text
    assert f'href="{BASE}/batches/b-new?cursor=more"' in text
    assert summary.calls.last.request.url.params["limit"] == "0"


async def test_a_finished_batch_stops_polling(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/shipment-batches/b-old").respond(json=batch_full("b-old", "completed", 2, 2))
    services.get(f"{SHIP}/v1/shipment-batches/b-old/items").respond(json=list_page([]))
    text = (await shop.get(f"{BASE}/batches/b-old")).text
    assert "http-equiv" not in text
    assert "batch-progress.js" not in text
    assert "data-progress-url" not in text
    assert "已完成" in text


async def test_the_purchases_page_offers_the_packages_and_the_shops_purchases(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{ALLOC}/v1/carriers").respond(json=list_page([carrier("ZTO", "中通快递", ["ZTO-1000"])]))
    services.get(f"{ALLOC}/v1/purchases").respond(json=list_page([purchase("p-1"), purchase("p-2", "pending")]))
    text = (await shop.get(f"{BASE}/purchases")).text
    assert '<option value="ZTO:ZTO-1000">中通快递 · 1000个单号 · ¥300.00 · 有效期180天</option>' in text
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', text)
    assert f'action="{BASE}/purchases/p-1/refund"' in text
    assert f'action="{BASE}/purchases/p-1/extend"' in text
    assert f'action="{BASE}/purchases/p-2/refund"' not in text  # not completed: nothing to refund yet
    assert "2027-05-27 12:00" in text


async def test_the_alerts_page_reads_in_chinese_with_the_kinds_advice(
    shop: httpx.AsyncClient, services: Services
) -> None:
    text = (await shop.get(f"{BASE}/alerts")).text
    assert 'data-testid="alert-kind">揽收超时<' in text
    assert "发货后超过时限仍未被快递揽收，请联系网点上门揽件。" in text
    assert 'title="not collected within 24 h of shipment"' in text  # the API's own words, on hover
    assert "2026-11-28 13:00" in text  # opened 05:00 UTC
    assert f'action="{BASE}/alerts/41/ack"' in text
    assert services.routes["alerts"].calls.last.request.url.params["state"] == "open"


async def test_acknowledged_alerts_are_listed_apart(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{TRACK}/v1/alerts").respond(json=list_page([alert(40, "acknowledged")]))
    text = (await shop.get(f"{BASE}/alerts?state=acknowledged")).text
    assert "/ack" not in text.split('id="alerts"')[1]
    assert services.routes["alerts"].calls.last.request.url.params["state"] == "acknowledged"
    refused = await shop.get(f"{BASE}/alerts?state=bogus")
    assert refused.status_code == 422
    assert "填写的内容不符合要求，请检查后重试。" in refused.text  # a page in Chinese, not the API's JSON


async def test_no_such_page_and_the_wrong_method_are_pages_too(shop: httpx.AsyncClient, services: Services) -> None:
    missing = await shop.get(f"{BASE}/nowhere")
    assert missing.status_code == 404
    assert "找不到该记录" in missing.text
    wrong = await shop.get(f"{BASE}/orders/ord-5/ship")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert 'data-testid="error-code">method_not_allowed<' in wrong.text
    cursor = await shop.get(f"{BASE}/orders?cursor=not/a/cursor")
    assert cursor.status_code == 422
    assert not [c for c in services.router.calls if "cursor=not" in str(c.request.url)]


async def test_a_batchs_labels_come_as_one_pdf(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/shipment-batches/b-old/labels.pdf").respond(
        content=b"%PDF-1.4 labels", headers={"content-type": "application/pdf"}
    )
    pdf = await shop.get(f"{BASE}/batches/b-old/labels.pdf")
    assert (pdf.status_code, pdf.content) == (200, b"%PDF-1.4 labels")
    assert pdf.headers["content-disposition"] == 'inline; filename="labels-b-old.pdf"'
    services.get(f"{SHIP}/v1/shipment-batches/b-gone/labels.pdf").respond(
        404, json={"error": {"code": "not_found", "message": "batch b-gone not found"}}
    )
    gone = await shop.get(f"{BASE}/batches/b-gone/labels.pdf")
    assert gone.status_code == 404
    assert "找不到该记录" in gone.text


async def test_the_settings_page_is_the_shops_settings_form(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/settings").respond(json=shop_settings())
    services.get(f"{ALLOC}/v1/carriers").respond(json=list_page([carrier("ZTO", "中通快递", ["ZTO-1000"])]))
    text = (await shop.get(f"{BASE}/settings")).text
    assert 'name="sender_name" maxlength="100" value="杭州小铺"' in text
    assert '<option value="ZTO" selected>中通快递 (ZTO)</option>' in text
    assert 'data-testid="seller-nick">杭州小铺旗舰店<' in text
    assert 'name="marketplace_session" type="password"' in text
    assert f'action="{BASE}/pools/YTO"' in text
    # The alert thresholds in force: every carrier's default, and YTO's own.
    assert '<tr data-alerting="*">' in text
    assert re.search(r'data-alerting="YTO">.*?name="not_collected_hours"[^>]*value="0.001"', text, re.S)
    assert '<tr data-alerting="new">' in text
    # The thresholds are in the page once, and the title is only the title.
    assert text.count('<section class="panel" id="alerting"') == 1
    assert re.search(r"<title>[^<]*</title>", text)


async def test_a_shop_without_settings_yet_gets_an_empty_form(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/settings").respond(404, json={"error": {"code": "not_found", "message": "no settings"}})
    services.get(f"{ALLOC}/v1/carriers").respond(json=list_page([]))
    text = (await shop.get(f"{BASE}/settings")).text
    assert 'name="sender_name" maxlength="100" value=""' in text
    assert "找不到该记录" not in text


async def test_english_on_the_switch_and_remembered(shop: httpx.AsyncClient, services: Services) -> None:
    page = await shop.get(f"{BASE}/alerts?lang=en")
    assert '<html lang="en">' in page.text
    assert 'data-testid="alert-kind">Not collected<' in page.text
    assert ">Acknowledge<" in page.text
    assert "waybill_dashboard_lang=en" in page.headers["set-cookie"]
    later = await shop.get(BASE)  # the cookie keeps it
    assert "balance ¥1,234.56" in later.text
    assert "Stock per carrier" in later.text
    back = await shop.get(f"{BASE}?lang=zh")
    assert "余额" in back.text


async def test_an_operator_sees_every_shop_and_acts_for_one_with_x_shop_id(
    operator: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{ALLOC}/v1/shops").respond(
        json=list_page([{"id": SHOP, "name": "杭州小铺", "created_at": "2026-11-28T00:00:00+00:00"}], "next")
    )
    home = await operator.get("/")
    assert home.status_code == 200
    assert '<tr data-shop="s-1">' in home.text
    assert re.search(r'data-shop="s-1">.*?<span class="flag low">YTO</span>', home.text, re.S)
    assert 'href="/?cursor=next"' in home.text
    opened = await operator.get("/shop?shop_id= s-1 ")
    assert opened.headers["location"] == BASE
    page = await operator.get(BASE)
    assert "← 全部店铺" in page.text
    sent = services.routes["pools"].calls.last.request.headers
    assert (sent["authorization"], sent["x-shop-id"]) == ("Bearer admin-key-for-tests", SHOP)


async def test_a_shop_cannot_open_another_shop(shop: httpx.AsyncClient, services: Services) -> None:
    for path in ("/shops/s-2", "/shops/s-2/orders", "/shops/s-2/shipments/shp-1/label.pdf"):
        page = await shop.get(path)
        assert page.status_code == 404, path
    assert not services.routes["shop"].calls or all(
        "s-2" not in str(c.request.url) for c in services.routes["shop"].calls
    )


async def test_without_a_session_every_page_sends_you_to_sign_in(app: dashboard) -> None:
    browser = app.other()
    for path in ("/", BASE, f"{BASE}/orders", f"{BASE}/alerts", f"{BASE}/shipments/shp-1/label.pdf", "/shop?shop_id=x"):
        resp = await browser.get(path)
        assert (resp.status_code, resp.headers["location"]) == (303, "/login"), path


async def test_the_sign_in_page_is_chinese_and_a_refused_key_says_why(app: dashboard) -> None:
    browser = app.other()
    form = await browser.get("/login")
    assert "店铺请粘贴 API 密钥" in form.text
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{ALLOC}/v1/balance").respond(
            401, json={"error": {"code": "unauthorized", "message": "unknown key", "request_id": "r-1"}}
        )
        refused = await sign_in(browser, "wbk_nope_nope")
    assert refused.status_code == 401
    assert "登录已失效或密钥无效" in refused.text
    assert 'data-testid="error-code">unauthorized<' in refused.text


async def test_a_service_down_is_confined_to_its_parts_of_the_page(shop: httpx.AsyncClient, services: Services) -> None:
    for name in ("alerts", "track-1", "track-2", "track-3"):  # tracking does not answer
        services.routes[name].mock(side_effect=httpx.ConnectError("refused"))
    page = await shop.get(BASE)
    assert page.status_code == 200
    assert re.search(r'data-testid="open-alerts"><span class="big">—</span>', page.text)
    assert re.search(r'data-carrier="ZTO">.*?data-col="available">995<', page.text, re.S)
    shipments = await shop.get(f"{BASE}/shipments")
    assert re.search(
        r'data-number="N0002">.*?服务没有响应，请稍后再试。 <code>network_error</code>', shipments.text, re.S
    )
    alerts = await shop.get(f"{BASE}/alerts")
    assert alerts.status_code == 200
    assert 'data-testid="unavailable">服务没有响应' in alerts.text


async def test_an_answer_the_client_cannot_read_is_an_upstream_error_not_a_traceback(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.routes["alerts"].respond(json={"data": [{"id": "not an alert"}], "has_more": False})
    page = await shop.get(f"{BASE}/alerts")
    assert page.status_code == 200
    assert 'data-testid="unavailable">快递或平台接口出错' in page.text
    services.post(f"{TRACK}/v1/alerts/41/ack").respond(json={"unexpected": True})
    acked = await shop.post(f"{BASE}/alerts/41/ack", data={"csrf_token": csrf_of(page)})
    assert acked.status_code == 502
    assert 'data-testid="error-code">upstream_error<' in acked.text
    assert "Traceback" not in acked.text


async def test_an_app_not_started_yet_answers_no_such_page_plainly() -> None:
    from services.dashboard.main import create_app
    from tests.unit.dashboard.dashboard_fakes import settings

    app = create_app(settings())  # no lifespan: no templates yet
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        resp = await client.get("/nowhere")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


async def test_a_batchs_progress_for_the_script_is_its_counts_alone(
    app: dashboard, shop: httpx.AsyncClient, services: Services
) -> None:
    summary = services.get(f"{SHIP}/v1/shipment-batches/b-new").respond(json=batch_full("b-new", "processing", 10, 4))
    resp = await shop.get(f"{BASE}/batches/b-new/progress")
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-store"
    assert resp.json() == {
        "status": "processing",
        "percent": 40,
        "total": 10,
        "done": 4,
        "failed": 0,
        "skipped": 0,
        "pending": 6,
    }
    assert summary.calls.last.request.url.params["limit"] == "0"
    services.get(f"{SHIP}/v1/shipment-batches/b-gone").respond(
        404, json={"error": {"code": "not_found", "message": "no", "request_id": "r-2"}}
    )
    gone = await shop.get(f"{BASE}/batches/b-gone/progress")
    assert (gone.status_code, gone.json()) == (404, {"error": {"code": "not_found", "request_id": "r-2"}})
    assert (await shop.get("/shops/s-2/batches/b-new/progress")).status_code == 404
    assert (await app.other().get(f"{BASE}/batches/b-new/progress")).status_code == 401  # signed out


async def test_the_progress_script_is_served_from_here(app: dashboard) -> None:
    script = await app.other().get("/static/batch-progress.js")
    assert script.status_code == 200
    assert "data-progress-url" in script.text
