"""Orders and shipments with the API's new shapes: ship-by times (the order's own, in the shop's zone, marked
by the shop's lead), held orders and their receiver form, partly shipped orders, one order's page with its
shipments' parcels and alerts; a shipment's parcels (each number, state and tracking, each label to reprint),
voiding its labels (offered only where shipping can) and changing its numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import csrf_of
from tests.unit.dashboard.dashboard_fakes import (
    ALLOC,
    SHIP,
    SHOP,
    TRACK,
    carrier,
    error,
    list_page,
    order,
    parcel,
    shipment,
    shop_settings,
)

BASE = f"/shops/{SHOP}"
PDF = b"%PDF-1.4 one parcel"
HELD_FLAG = {"kind": "address_invalid", "message": "区县「南山区」不属于「广州市」", "at": "2026-11-28T02:00:01+00:00"}


def in_parcels(i: int, *numbers: str, status: str = "confirmed", **changes: Any) -> dict[str, Any]:
    """Shipment i in one parcel per number (the first the main one)."""
    boxes = [parcel(seq, n) for seq, n in enumerate(numbers, 1)]
    return {
        **shipment(i, "ZTO", None, status),
        "number": numbers[0],
        "parcel_count": len(numbers),
        "parcels": boxes,
        **changes,
    }


async def test_the_orders_page_shows_each_orders_own_ship_by_in_the_shops_zone(
    shop: httpx.AsyncClient, services: Services
) -> None:
    now = datetime.now(UTC)
    due = order(7, ship_by=(now + timedelta(hours=30)).isoformat())  # not within the lead: not marked
    urgent = order(8, ship_by=(now + timedelta(minutes=90)).isoformat())
    services.get(f"{SHIP}/v1/settings").respond(
        json={**shop_settings(time_zone="America/New_York"), "late_to_ship_lead_minutes": 120}
    )
    services.get(f"{SHIP}/v1/orders").respond(json=list_page([due, urgent]))
    text = (await shop.get(f"{BASE}/orders")).text
    # The API's order (the most urgent first), asked for by ship-by time.
    assert text.index('data-order="ord-8"') < text.index('data-order="ord-7"')
    assert services.routes["orders"].calls.last.request.url.params["sort"] == "ship_by"
    new_york = (now + timedelta(minutes=90)).astimezone(ZoneInfo("America/New_York"))
    shown = rf'data-col="ship-by">{new_york:%Y-%m-%d %H:%M} <span class="flag alert">即将超时'
    assert re.search(rf'data-order="ord-8" class="soon">.*?{shown}', text, re.S)
    assert '<tr data-order="ord-7" class="ok">' in text
    assert f'href="{BASE}/orders/ord-7"' in text


async def test_held_and_partly_shipped_orders_on_the_orders_page(shop: httpx.AsyncClient, services: Services) -> None:
    held = order(5, held="address_invalid", flags=[HELD_FLAG])
    services.get(f"{SHIP}/v1/orders").respond(json=list_page([held, order(6)]))
    text = (await shop.get(f"{BASE}/orders")).text
    row = text[text.index('data-order="ord-5"') : text.index('data-order="ord-6"')]
    assert "held" in row.split(">", 1)[0]
    assert 'data-col="held">收件地址有误，已暂停发货<' in row
    assert 'data-testid="ship"' not in row  # shipping would refuse it: its receiver is fixed first
    assert 'name="order_ids" value="ord-5"' not in row
    assert f'href="{BASE}/orders/ord-5#receiver" data-testid="fix-receiver">修改收件人<' in row
    assert 'name="parcels" form="ship-2"' in text  # the other one ships, in as many parcels as typed

    partly = {**order(9), "status": "partly_shipped"}
    listed = services.get(f"{SHIP}/v1/orders").respond(json=list_page([partly]))
    text = (await shop.get(f"{BASE}/orders?status=partly_shipped&held=no")).text
    assert (listed.calls.last.request.url.params["status"], listed.calls.last.request.url.params["held"]) == (
        "partly_shipped",
        "false",
    )
    assert 'data-col="partly">部分发货<' in text
    assert '<option value="partly_shipped" selected>部分发货</option>' in text
    only_held = await shop.get(f"{BASE}/orders?held=yes")
    assert only_held.status_code == 200
    assert listed.calls.last.request.url.params["held"] == "true"
    assert (await shop.get(f"{BASE}/orders?status=shipped")).status_code == 422


async def test_ship_in_several_parcels_from_the_orders_page(shop: httpx.AsyncClient, services: Services) -> None:
    ship = services.post(f"{SHIP}/v1/orders/ord-5/ship").respond(json=in_parcels(5, "N5", "N6", "N7"))
    csrf = csrf_of(await shop.get(BASE))
    resp = await shop.post(f"{BASE}/orders/ord-5/ship", data={"csrf_token": csrf, "carrier": "ZTO", "parcels": "3"})
    assert resp.headers["location"] == f"{BASE}/shipments/shp-5?notice=shipped"
    assert ship.calls.last.request.read() == b'{"carrier":"ZTO","parcel_count":3}'
    for bad in ("0", "51", "three"):
        refused = await shop.post(f"{BASE}/orders/ord-5/ship", data={"csrf_token": csrf, "parcels": bad})
        assert refused.headers["location"] == f"{BASE}/orders?error=validation_error", bad
    assert ship.call_count == 1


async def test_an_orders_page_shows_its_shipments_parcels_and_alerts(
    shop: httpx.AsyncClient, services: Services
) -> None:
    items = [{"title": "保温杯", "num": 1, "price_cents": 5990}, {"title": "杯套", "num": 2, "price_cents": 990}]
    split = {
        **order(5),
        "status": "partly_shipped",
        "items": items,
        "flags": [{"kind": "label_outdated", "message": "reprint"}],
    }
    services.get(f"{SHIP}/v1/orders/ord-5").respond(json=split)
    two = in_parcels(5, "N0051", "N0052")
    two["parcels"][0] |= {"tracking_status": "in_transit", "collected_at": "2026-11-28T06:00:00+00:00", "lines": [1]}
    listed = services.get(f"{SHIP}/v1/shipments").respond(json=list_page([two]))
    page = await shop.get(f"{BASE}/orders/ord-5")
    assert page.status_code == 200
    text = page.text
    assert 'data-testid="order-status">部分发货<' in text
    assert 'data-testid="ship-by">2026-11-30 10:00' in text  # 02:00 UTC, in Beijing time
    assert 'data-flag="label_outdated">面单信息已过期，请重新打印面单' in text
    assert '<tr data-line="2"><td class="num">2</td><td>杯套</td>' in text
    assert ">发出其余商品<" in text  # the rest of a split order ships from here
    assert re.search(r'data-parcel="1" data-number="N0051".*?data-col="parcel-tracking">运输中<', text, re.S)
    assert "2026-11-28 14:00" in text  # collected at 06:00 UTC
    assert f'href="{BASE}/shipments/shp-5/parcels/2/label.pdf"' in text
    assert listed.calls.last.request.url.params["order_id"] == "ord-5"
    assert 'data-order-alert="1042"' in text
    assert "即将超时" in text
    assert "还剩 3 小时 40 分" in text  # shipping's message, as it wrote it
    assert services.routes["order-alerts"].calls.last.request.url.params["order_id"] == "ord-5"
    assert f'action="{BASE}/orders/ord-5/receiver"' in text

    services.get(f"{SHIP}/v1/orders/ord-x").mock(return_value=error(404, "not_found", "order ord-x not found"))
    gone = await shop.get(f"{BASE}/orders/ord-x")
    assert gone.status_code == 404
    assert "找不到该记录" in gone.text


async def test_fix_a_held_orders_receiver(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/orders/ord-5").respond(json=order(5, held="address_invalid", flags=[HELD_FLAG]))
    page = await shop.get(f"{BASE}/orders/ord-5")
    assert 'data-testid="held">收件地址有误，已暂停发货<' in page.text
    assert "区县「南山区」不属于「广州市」" in page.text  # what is wrong, in shipping's words
    assert 'name="district" maxlength="50" value="南山区"' in page.text
    assert 'data-testid="ship"' not in page.text
    put = services.put(f"{SHIP}/v1/orders/ord-5/receiver").respond(json=order(5))
    form = {
        "csrf_token": csrf_of(page),
        "name": " 张三 ",
        "phone": "13800000000",
        "state": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "address": "科技园1号",
        "zip": "",
    }
    resp = await shop.post(f"{BASE}/orders/ord-5/receiver", data=form)
    assert resp.headers["location"] == f"{BASE}/orders/ord-5?notice=receiver_saved"
    assert (
        put.calls.last.request.read()
        == (
            '{"name":"张三","phone":"13800000000","state":"广东省","city":"深圳市","district":"南山区",'
            '"address":"科技园1号","zip":""}'
        ).encode()
    )
    empty = await shop.post(f"{BASE}/orders/ord-5/receiver", data={**form, "address": " "})
    assert empty.headers["location"] == f"{BASE}/orders/ord-5?error=validation_error#receiver"
    services.put(f"{SHIP}/v1/orders/ord-5/receiver").mock(
        return_value=error(409, "already_collected", "the courier collected N0051")
    )
    late = await shop.post(f"{BASE}/orders/ord-5/receiver", data=form)
    shown = await shop.get(late.headers["location"].split("#")[0])
    assert "快递员已揽收，面单不能再作废、换号或改址。" in shown.text
    assert put.call_count == 2  # the empty address never left


async def test_a_shipments_parcels_and_one_parcels_label(shop: httpx.AsyncClient, services: Services) -> None:
    three = in_parcels(2, "N0002", "N0021", "N0022", status="pending")
    three["parcels"][2] |= {"parent_number": "N0002", "weight_g": 800, "lines": [2, 3]}
    services.get(f"{SHIP}/v1/shipments/shp-2").respond(json=three)
    text = (await shop.get(f"{BASE}/shipments/shp-2")).text
    assert text.count('data-testid="reprint-parcel"') == 3
    assert re.search(r'data-parcel="3" data-number="N0022".*?母单 <code>N0002</code>.*?800 g.*?2, 3', text, re.S)
    assert re.search(r'data-parcel="2".*?data-col="parcel-status">使用中<.*?暂无物流信息', text, re.S)
    assert f'href="{BASE}/orders/ord-2"' in text
    assert "打单即发货" in text  # its confirmation mode
    label = services.get(f"{SHIP}/v1/shipments/shp-2/parcels/3/label.pdf").respond(
        content=PDF, headers={"content-type": "application/pdf"}
    )
    pdf = await shop.get(f"{BASE}/shipments/shp-2/parcels/3/label.pdf")
    assert (pdf.status_code, pdf.content) == (200, PDF)
    assert pdf.headers["content-disposition"] == 'inline; filename="label-shp-2-3.pdf"'
    assert label.called
    assert (await shop.get(f"{BASE}/shipments/shp-2/parcels/0/label.pdf")).status_code == 422
    assert (await shop.get("/shops/s-2/shipments/shp-2/parcels/1/label.pdf")).status_code == 404


async def test_what_a_shipment_offers_follows_what_shipping_allows(shop: httpx.AsyncClient, services: Services) -> None:
    route = services.get(f"{SHIP}/v1/shipments/shp-3")
    # Held until collection: voidable, its numbers not changeable (not confirmed yet).
    route.respond(json=in_parcels(3, "N0003", status="held", confirm_mode="at_collection"))
    held = (await shop.get(f"{BASE}/shipments/shp-3")).text
    assert f'action="{BASE}/shipments/shp-3/void"' in held
    assert "/change-numbers" not in held
    assert "揽收后发货" in held
    # Confirmed on the shop's own channel: voided there too, and its numbers changeable.
    services.get(f"{SHIP}/v1/orders/ord-3").respond(json=order(3, channel="own", store_id=None))
    route.respond(json=in_parcels(3, "N0003"))
    own = (await shop.get(f"{BASE}/shipments/shp-3")).text
    assert f'action="{BASE}/shipments/shp-3/void"' in own
    assert f'action="{BASE}/shipments/shp-3/change-numbers"' in own
    assert '<option value="YTO">圆通速递 (YTO)</option>' in own  # another carrier to change to
    # Confirmed on Taobao: no void (cannot_withdraw, said in advance), change the numbers instead.
    services.get(f"{SHIP}/v1/orders/ord-3").respond(json=order(3))
    taobao = (await shop.get(f"{BASE}/shipments/shp-3")).text
    assert "/void" not in taobao
    assert 'data-testid="no-withdraw">平台不能撤回已确认的发货：请改用换单号。<' in taobao
    assert f'action="{BASE}/shipments/shp-3/change-numbers"' in taobao
    # A parcel collected: neither.
    collected = in_parcels(3, "N0003")
    collected["parcels"][0]["collected_at"] = "2026-11-28T06:00:00+00:00"
    route.respond(json=collected)
    text = (await shop.get(f"{BASE}/shipments/shp-3")).text
    assert "/void" not in text
    assert "/change-numbers" not in text
    assert 'data-testid="collected">快递员已揽收' in text
    # Voided: its labels are gone.
    voided = in_parcels(3, "N0003", status="voided", voided_at="2026-11-28T05:00:00+00:00")
    voided["parcels"][0]["status"] = "voided"
    route.respond(json=voided)
    text = (await shop.get(f"{BASE}/shipments/shp-3")).text
    assert 'data-testid="voided-at">2026-11-28 13:00<' in text
    assert "label.pdf" not in text
    assert "/void" not in text
    assert "已回收单号" in text


async def test_change_a_shipments_numbers(shop: httpx.AsyncClient, services: Services) -> None:
    change = services.post(f"{SHIP}/v1/shipments/shp-2/change-numbers").respond(json=in_parcels(2, "N0092"))
    csrf = csrf_of(await shop.get(BASE))
    resp = await shop.post(f"{BASE}/shipments/shp-2/change-numbers", data={"csrf_token": csrf, "carrier": ""})
    assert resp.headers["location"] == f"{BASE}/shipments/shp-2?notice=numbers_changed"
    assert change.calls.last.request.content in (b"", b"null")  # the shipment's own carrier
    await shop.post(f"{BASE}/shipments/shp-2/change-numbers", data={"csrf_token": csrf, "carrier": "YTO"})
    assert change.calls.last.request.read() == b'{"carrier":"YTO"}'
    services.get(f"{SHIP}/v1/shipments/shp-2").respond(json=in_parcels(2, "N0092"))
    services.get(f"{TRACK}/v1/trackings/N0092").mock(return_value=error(404, "not_found", "not followed yet"))
    page = await shop.get(resp.headers["location"])
    assert 'data-testid="notice">单号已更换，请打印新的面单。' in page.text
    bad = await shop.post(f"{BASE}/shipments/shp-2/change-numbers", data={"csrf_token": csrf, "carrier": "../x"})
    assert bad.headers["location"] == f"{BASE}/shipments/shp-2?error=validation_error"
    services.post(f"{SHIP}/v1/shipments/shp-2/change-numbers").mock(
        return_value=error(409, "already_collected", "collected")
    )
    refused = await shop.post(f"{BASE}/shipments/shp-2/change-numbers", data={"csrf_token": csrf})
    assert "error=already_collected" in refused.headers["location"]
    assert change.call_count == 3  # the bad carrier never left


async def test_the_shipments_list_counts_parcels_and_links_orders(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{ALLOC}/v1/carriers").respond(json=list_page([carrier("ZTO", "中通快递", [])]))
    services.get(f"{SHIP}/v1/shipments").respond(
        json=list_page([in_parcels(2, "N0002", "N0021"), shipment(1, "ZTO", None, "voided")])
    )
    text = (await shop.get(f"{BASE}/shipments")).text
    assert 'data-col="parcels">共 2 件<' in text
    assert f'href="{BASE}/orders/ord-2"' in text
    assert f'href="{BASE}/shipments/shp-1/label.pdf"' not in text  # voided: nothing to print
    assert f'href="{BASE}/shipments/shp-2/label.pdf"' in text
