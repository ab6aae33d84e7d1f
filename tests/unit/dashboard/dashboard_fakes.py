"""The three services' answers as the dashboard tests mock them (respx), in the shapes their APIs return."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import respx
from httpx import Response

from services.dashboard.settings import DashboardSettings

ALLOC = "http://alloc.test"
SHIP = "http://ship.test"
TRACK = "http://track.test"
ADMIN = "admin-key-for-tests"
SHOP_KEY = "wbk_k1_secret"
SHOP = "s-1"


def settings(**changes: Any) -> DashboardSettings:
    return DashboardSettings(
        allocation_url=ALLOC,
        shipping_url=SHIP,
        tracking_url=TRACK,
        secret_key="a-test-secret-that-is-long-enough-000",
        log_json=False,
        # Every test signs in from one address on one Redis database: the limit is on only where tested.
        **{"login_attempts_per_minute": 0, **changes},
    )


def error(status: int, code: str, message: str) -> Response:
    return Response(status, json={"error": {"code": code, "message": message, "details": {}, "request_id": "req-1"}})


def list_page(items: list[Any], next_cursor: str | None = None) -> dict[str, Any]:
    """A list's answer: one page, and the cursor of the next when there is one."""
    return {"data": items, "has_more": next_cursor is not None, "next_cursor": next_cursor}


def pool(carrier: str, available: int, *, low: bool = False, expiring: int = 0) -> dict[str, Any]:
    counts = {"available": available, "allocated": 2, "printed": 1, "shipped": 3, "voided": 0, "expired": 0}
    return {
        "carrier": carrier,
        "counts": {**counts, "quarantined": 0},
        "expiring_soon": expiring,
        "expiring_within_days": 7,
        "low_stock_threshold": 100,
        "low_stock": low,
        "auto_replenish_package": None,
    }


def shipment(i: int, carrier: str, batch_id: str | None, status: str = "confirmed") -> dict[str, Any]:
    return {
        "id": f"shp-{i}",
        "order_id": f"ord-{i}",
        "carrier": carrier,
        "number": f"N{i:04d}",
        "number_source": "pool",
        "status": status,
        "attempts": 1,
        "reallocations": 0,
        "error_code": None,
        "error": None,
        "history": [],
        "batch_id": batch_id,
        "label_prints": 1,
        "created_at": f"2026-11-28T04:0{i}:00+00:00",
        "confirmed_at": None,
    }


def batch(batch_id: str, status: str, total: int, done: int) -> dict[str, Any]:
    """A batch in the batch list (BatchSummaryOut: no per-order items)."""
    return {
        "id": batch_id,
        "carrier": "ZTO",
        "total": total,
        "done": done,
        "failed": 0,
        "skipped": 0,
        "pending": total - done,
        "status": status,
        "label_prints": 0,
        "created_at": "2026-11-28T04:00:00+00:00",
        "completed_at": None,
    }


def alert(alert_id: int, state: str = "open") -> dict[str, Any]:
    return {
        "id": alert_id,
        "kind": "not_collected",
        "state": state,
        "carrier": "YTO",
        "number": "N0003",
        "order_id": "ord-3",
        "message": "not collected within 24 h of shipment",
        "opened_at": "2026-11-28T05:00:00+00:00",
        "acknowledged_at": None,
        "resolved_at": None,
    }


def tracking(number: str, status: str, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "carrier": "ZTO",
        "number": number,
        "order_id": "o",
        "status": status,
        "status_at": None,
        "shipped_at": "2026-11-28T04:00:00+00:00",
        "subscription": {"state": "subscribed", "attempts": 1},
        "events": events or [],
        "alerts": [],
    }


def event(at: str, status: str, description: str) -> dict[str, Any]:
    return {"occurred_at": at, "status": status, "description": description, "area_name": "杭州市"}


def order(
    i: int,
    created_at: str = "2026-11-28T02:00:00+00:00",
    channel: str = "taobao",
    store_id: str | None = "sto-tb",
    **changes: Any,
) -> dict[str, Any]:
    """A paid order waiting to ship (OrderOut), of the Taobao store unless told; due 48 hours after it arrived
    (shipping's default ship-by) unless ``ship_by`` says when."""
    due = (datetime.fromisoformat(created_at) + timedelta(hours=48)).isoformat()
    return {
        "id": f"ord-{i}",
        "external_id": f"T{1000 + i}",
        "source": "marketplace" if channel != "own" else "api",
        "channel": channel,
        "store_id": store_id,
        "status": "paid",
        "buyer_nick": "买家",
        "receiver": {
            "name": "张三",
            "phone": "13800000000",
            "state": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "address": "科技园1号",
            "zip": "",
        },
        "weight_g": 500,
        "payment_cents": 9900,
        "items": [],
        "carrier": None,
        "number": None,
        "shipment_id": None,
        "flags": [],
        "created_at": created_at,
        "updated_at": created_at,
        "shipped_at": None,
        "ship_by": due,
        "held": None,
        **changes,
    }


def parcel(seq: int, number: str, **changes: Any) -> dict[str, Any]:
    """One box of a shipment (ParcelOut)."""
    return {
        "id": f"pcl-{number}",
        "seq": seq,
        "number": number,
        "parent_number": None,
        "weight_g": None,
        "lines": [],
        "status": "live",
        "label_prints": 1,
        "tracking_status": None,
        "collected_at": None,
        **changes,
    }


def order_alert(
    alert_id: int, kind: str = "late_to_ship", state: str = "open", order_id: str = "ord-5"
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "order_id": order_id,
        "kind": kind,
        "state": state,
        "message": "订单 T1005 须在 2026-11-30 10:00 前发货，还剩 3 小时 40 分",
        "opened_at": "2026-11-28T05:00:00+00:00",
        "acknowledged_at": None,
        "resolved_at": None,
    }


def store(
    store_id: str, channel: str, seller_id: str, name: str, *, active: bool = True, token_set: bool = True
) -> dict[str, Any]:
    """A bound marketplace store (StoreOut)."""
    return {
        "id": store_id,
        "channel": channel,
        "seller_id": seller_id,
        "name": name,
        "token_set": token_set,
        "active": active,
        "created_at": "2026-11-20T01:30:00+00:00",
        "updated_at": "2026-11-20T01:30:00+00:00",
    }


def carrier_option(carrier: str, *, recommended: bool = False, usable: bool = True) -> dict[str, Any]:
    return {
        "carrier": carrier,
        "name": {"ZTO": "中通快递", "YTO": "圆通速递"}.get(carrier, carrier),
        "score": 0.9 if recommended else 0.5,
        "usable": usable,
        "recommended": recommended,
        "price_per_number_cents": 30.0,
        "covers_destination": True,
        "transit_days": 2,
        "available": 995,
        "is_default": False,
        "reasons": [],
    }


def batch_full(batch_id: str, status: str, total: int, done: int) -> dict[str, Any]:
    """GET /v1/shipment-batches/{id} (BatchOut): the summary and its first items."""
    return {**batch(batch_id, status, total, done), "items": []}


def batch_item(seq: int, status: str, shipment_id: str | None = None) -> dict[str, Any]:
    return {
        "seq": seq,
        "order_id": f"ord-{seq}",
        "status": status,
        "message": None,
        "shipment_id": shipment_id,
        "number": f"N{seq:04d}" if shipment_id else None,
    }


def purchase(purchase_id: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": purchase_id,
        "carrier": "ZTO",
        "package_id": "ZTO-1000",
        "quantity": 1000,
        "price_cents": 30000,
        "validity_days": 180,
        "status": status,
        "attempts": 1,
        "numbers_received": 1000 if status == "completed" else 0,
        "numbers_quarantined": 0,
        "refunded_quantity": 0,
        "refunded_cents": 0,
        "numbers_credited": 0,
        "error": None,
        "expires_at": "2027-05-27T04:00:00+00:00",
        "created_at": "2026-11-28T04:00:00+00:00",
        "completed_at": "2026-11-28T04:00:05+00:00",
    }


def carrier(code: str, name_zh: str, packages: list[str]) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": name_zh,
        "name_en": code + " Express",
        "marketplace_code": code,
        "kdniao_code": code,
        "kuaidi100_code": code.lower(),
        "number_rule": [{"pattern": "[0-9]{12}", "check": "none", "description": ""}],
        "coverage": [],
        "transit_days": {},
        "active": True,
        "packages": [
            {
                "id": p,
                "carrier": code,
                "quantity": 1000,
                "price_cents": 30000,
                "validity_days": 180,
                "extension_fee_cents_per_30_days": 1000,
                "active": True,
            }
            for p in packages
        ],
    }


def alert_setting(carrier: str, not_collected_hours: float) -> dict[str, Any]:
    return {
        "carrier": carrier,
        "not_collected_hours": not_collected_hours,
        "no_update_hours": 48.0,
        "late_grace_hours": 24.0,
        "transit_days": 3,
    }


def shop_settings(shop_id: str = SHOP, time_zone: str = "Asia/Shanghai") -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "seller_nick": "杭州小铺旗舰店",
        "session_set": True,
        "sender_name": "杭州小铺",
        "sender_phone": "0571-88886666",
        "sender_address": "浙江省杭州市余杭区文一西路969号",
        "default_carrier": "ZTO",
        "weights": {"price": 1.0},
        "time_zone": time_zone,
    }


def mock_shop(router: respx.MockRouter, shop_id: str = SHOP) -> dict[str, respx.Route]:
    """A shop with two pools (YTO low), a batch in progress and a finished one, four shipments, one alert,
    two orders to ship (of its Taobao store) and one order alert, a Taobao and a Pinduoduo store, no auto-ship
    rule."""
    # Each order read on its own: those to ship, and the shipments' (a test's route of the same URL replaces one).
    one_by_one = {
        f"order-{i}": router.get(f"{SHIP}/v1/orders/ord-{i}").respond(json=order(i)) for i in (0, 1, 2, 3, 5, 6)
    }
    return {
        **one_by_one,
        "orders": router.get(f"{SHIP}/v1/orders").respond(json=list_page([order(5), order(6)])),
        "stores": router.get(f"{SHIP}/v1/stores").respond(
            json=list_page(
                [
                    store("sto-tb", "taobao", "杭州小铺旗舰店", "杭州小铺 天猫店"),
                    store("sto-pdd", "pinduoduo", "900001", "拼多多小铺"),
                ]
            )
        ),
        "order-alerts": router.get(f"{SHIP}/v1/order-alerts").respond(json=list_page([order_alert(1042)])),
        "rules": router.get(f"{SHIP}/v1/auto-ship/rules").respond(json=list_page([])),
        "options": router.get(url__regex=rf"{SHIP}/v1/orders/[^/]+/carrier-options").respond(
            json=list_page([carrier_option("ZTO", recommended=True), carrier_option("YTO")])
        ),
        "carriers": router.get(f"{ALLOC}/v1/carriers").respond(
            json=list_page([carrier("ZTO", "中通快递", ["ZTO-1000"]), carrier("YTO", "圆通速递", ["YTO-1000"])])
        ),
        "purchases": router.get(f"{ALLOC}/v1/purchases").respond(json=list_page([purchase("p-1")])),
        "settings": router.get(f"{SHIP}/v1/settings").respond(json=shop_settings(shop_id)),
        "alerting": router.get(f"{TRACK}/v1/alert-settings").respond(
            json=list_page([alert_setting("*", 24), alert_setting("YTO", 0.001)])
        ),
        "shop": router.get(f"{ALLOC}/v1/shops/{shop_id}").respond(
            json={"id": shop_id, "name": "杭州小铺", "created_at": "2026-11-28T00:00:00+00:00"}
        ),
        "balance": router.get(f"{ALLOC}/v1/balance").respond(
            json={"shop_id": shop_id, "balance_cents": 123456, "ledger_total_cents": 123456, "ledger": []}
        ),
        "pools": router.get(f"{ALLOC}/v1/pools").respond(
            json=list_page([pool("ZTO", 995, expiring=5), pool("YTO", 7, low=True)])
        ),
        "shipments": router.get(f"{SHIP}/v1/shipments").respond(
            json=list_page(
                [
                    shipment(3, "YTO", None),
                    shipment(2, "ZTO", "b-new"),
                    shipment(1, "ZTO", "b-old"),
                    shipment(0, "ZTO", "b-new", status="failed"),
                ]
            )
        ),
        "batches": router.get(f"{SHIP}/v1/shipment-batches").respond(
            json=list_page([batch("b-new", "processing", 10, 4), batch("b-old", "completed", 2, 2)])
        ),
        "alerts": router.get(f"{TRACK}/v1/alerts").respond(json=list_page([alert(41)])),
        "track-3": router.get(f"{TRACK}/v1/trackings/N0003").respond(json=tracking("N0003", "pending")),
        "track-2": router.get(f"{TRACK}/v1/trackings/N0002").respond(json=tracking("N0002", "in_transit")),
        "track-1": router.get(f"{TRACK}/v1/trackings/N0001").mock(
            return_value=error(404, "not_found", "waybill N0001 not found")
        ),
    }
