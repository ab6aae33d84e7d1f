"""Whole answers of the APIs, as the services send them (every field of the model), for the CLI's tests:
the client reads each answer into its model, so a partial one would be refused as no valid answer."""

from __future__ import annotations

from typing import Any

AT = "2026-11-28T04:00:00+00:00"  # 12:00:00 in Asia/Shanghai
ALLOC = "http://alloc.test"
SHIP = "http://ship.test"
TRACK = "http://track.test"
ORDER_ID = "ord_4b1e9c2a7d3f5e8a0b6c1d2e"  # as long as real ids: a table must show it whole
SHIPMENT_ID = "shp_9f8e7d6c5b4a39281706f5e4"
BATCH_ID = "bat_0a1b2c3d4e5f60718293a4b5"
PURCHASE_ID = "pur_7e6d5c4b3a291807f6e5d4c3"
STORE_ID = "sto_3f9a1c2b7e4d5a6b8c0d"


def page(items: list[Any], next_cursor: str | None = None) -> dict[str, Any]:
    """A list's answer, as every list of the APIs answers: one page and the cursor of the next."""
    return {"data": items, "has_more": next_cursor is not None, "next_cursor": next_cursor}


def purchase(**changes: Any) -> dict[str, Any]:
    return {
        "id": PURCHASE_ID,
        "carrier": "ZTO",
        "package_id": "ZTO-1000",
        "quantity": 1000,
        "price_cents": 50_000,
        "validity_days": 180,
        "status": "completed",
        "attempts": 1,
        "numbers_received": 1000,
        "numbers_quarantined": 0,
        "refunded_quantity": 0,
        "refunded_cents": 0,
        "numbers_credited": 0,
        "error": None,
        "expires_at": "2027-05-27T04:00:00+00:00",
        "created_at": AT,
        "completed_at": AT,
        **changes,
    }


def receiver() -> dict[str, Any]:
    return {
        "name": "张三",
        "phone": "13800000000",
        "state": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 1 号",
        "zip": "",
    }


def order(**changes: Any) -> dict[str, Any]:
    return {
        "id": ORDER_ID,
        "external_id": "3927481123456789",
        "source": "marketplace",
        "channel": "taobao",
        "store_id": STORE_ID,
        "status": "paid",
        "buyer_nick": "买家",
        "receiver": receiver(),
        "weight_g": 500,
        "payment_cents": 12_345,
        "items": [],
        "carrier": None,
        "number": None,
        "shipment_id": None,
        "flags": [],
        "created_at": AT,
        "updated_at": AT,
        "shipped_at": None,
        "ship_by": "2026-11-30T04:00:00+00:00",  # 48 hours after AT
        "held": None,
        **changes,
    }


def store(**changes: Any) -> dict[str, Any]:
    return {
        "id": STORE_ID,
        "channel": "taobao",
        "seller_id": "杭州小铺",
        "name": "杭州小铺 天猫店",
        "token_set": True,
        "active": True,
        "created_at": AT,
        "updated_at": AT,
        **changes,
    }


def shipment(**changes: Any) -> dict[str, Any]:
    return {
        "id": SHIPMENT_ID,
        "order_id": ORDER_ID,
        "carrier": "ZTO",
        "number": "73100000000001",
        "number_source": "pool",
        "status": "confirmed",
        "attempts": 1,
        "reallocations": 0,
        "error_code": None,
        "error": None,
        "history": [],
        "batch_id": None,
        "label_prints": 0,
        "created_at": AT,
        "confirmed_at": AT,
        **changes,
    }


def batch(**changes: Any) -> dict[str, Any]:
    return {
        "id": BATCH_ID,
        "carrier": "ZTO",
        "total": 3,
        "done": 0,
        "failed": 0,
        "skipped": 0,
        "pending": 3,
        "status": "processing",
        "label_prints": 0,
        "created_at": AT,
        "completed_at": None,
        "items": [],
        **changes,
    }


def batch_summary(**changes: Any) -> dict[str, Any]:
    summary = batch(**changes)
    del summary["items"]
    return summary


def batch_item(seq: int, **changes: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "order_id": f"ord_{seq}",
        "status": "shipped",
        "message": None,
        "shipment_id": f"shp_{seq}",
        "number": f"7310000000000{seq}",
        **changes,
    }


def alert(**changes: Any) -> dict[str, Any]:
    return {
        "id": 41,
        "kind": "not_collected",
        "state": "open",
        "carrier": "YTO",
        "number": "YT1234567890123",
        "order_id": ORDER_ID,
        "message": "48 小时未揽收",
        "opened_at": AT,
        "acknowledged_at": None,
        "resolved_at": None,
        **changes,
    }


def alert_setting(**changes: Any) -> dict[str, Any]:
    return {
        "carrier": "*",
        "not_collected_hours": 24.0,
        "no_update_hours": 48.0,
        "late_grace_hours": 12.0,
        "transit_days": 3,
        **changes,
    }


def delivery(i: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "event_id": f"00000000-0000-4000-9000-{i:012d}",
        "endpoint_id": "we_1",
        "event_type": "shipment.confirmed",
        "status": "failed",
        "attempts": 8,
        "last_status_code": 500,
        "last_error": "HTTP 500",
        "created_at": AT,
        "delivered_at": None,
        "payload": {},
        **changes,
    }


def endpoint(**changes: Any) -> dict[str, Any]:
    return {
        "id": "we_1",
        "url": "https://shop.example.com/hooks/waybill",
        "events": [],
        "active": True,
        "created_at": AT,
        "secret": None,
        **changes,
    }


def pool(**changes: Any) -> dict[str, Any]:
    counts = {"available": 995, "allocated": 2, "printed": 1, "shipped": 3, "voided": 0, "expired": 0}
    return {
        "carrier": "ZTO",
        "counts": {**counts, "quarantined": 0},
        "expiring_soon": 5,
        "expiring_within_days": 7,
        "low_stock_threshold": 100,
        "low_stock": False,
        "auto_replenish_package": None,
        **changes,
    }


def package(**changes: Any) -> dict[str, Any]:
    return {
        "id": "ZTO-1000",
        "carrier": "ZTO",
        "quantity": 1000,
        "price_cents": 50_000,
        "validity_days": 180,
        "extension_fee_cents_per_30_days": 1000,
        "active": True,
        **changes,
    }


def carrier(**changes: Any) -> dict[str, Any]:
    return {
        "code": "ZTO",
        "name_zh": "中通",
        "name_en": "ZTO Express",
        "marketplace_code": "ZTO",
        "kdniao_code": "ZTO",
        "kuaidi100_code": "zhongtong",
        "number_rule": [{"pattern": "7[0-9]{13}", "check": "none", "description": ""}],
        "coverage": ["浙江省"],
        "transit_days": {"浙江省": 1},
        "active": True,
        "packages": [package()],
        **changes,
    }


def balance(**changes: Any) -> dict[str, Any]:
    entry = {
        "id": 1,
        "amount_cents": 100_050,
        "balance_after_cents": 100_050,
        "kind": "topup",
        "reference": None,
        "note": None,
        "created_at": AT,
    }
    return {"shop_id": "s-1", "balance_cents": 100_050, "ledger_total_cents": 100_050, "ledger": [entry], **changes}


def allocation(**changes: Any) -> dict[str, Any]:
    return {
        "carrier": "ZTO",
        "order_id": "o-1",
        "number": "73100000000001",
        "expires_at": "2027-05-27T04:00:00+00:00",
        "created": True,
        **changes,
    }


def waybill(**changes: Any) -> dict[str, Any]:
    return {
        "number": "73100000000001",
        "carrier": "ZTO",
        "status": "allocated",
        "order_id": "o-1",
        "expires_at": "2027-05-27T04:00:00+00:00",
        "purchase_id": PURCHASE_ID,
        "source": "courier",
        "verified": True,
        "allocated_at": AT,
        **changes,
    }


def shop(**changes: Any) -> dict[str, Any]:
    return {"id": "s-1", "name": "杭州小铺", "created_at": AT, **changes}


def settings(**changes: Any) -> dict[str, Any]:
    return {
        "shop_id": "s-1",
        "seller_nick": "杭州小铺",
        "session_set": True,
        "sender_name": "李四",
        "sender_phone": "0571-0000000",
        "sender_address": "杭州市",
        "default_carrier": "ZTO",
        "weights": {"price": 1.0, "coverage": 1.0, "transit": 1.0, "stock": 1.0},
        "time_zone": "Asia/Shanghai",
        **changes,
    }


def carrier_option(**changes: Any) -> dict[str, Any]:
    return {
        "carrier": "ZTO",
        "name": "中通",
        "score": 0.92,
        "usable": True,
        "recommended": True,
        "price_per_number_cents": 50.0,
        "covers_destination": True,
        "transit_days": 1,
        "available": 995,
        "is_default": True,
        "reasons": ["cheapest", "in stock"],
        **changes,
    }


def order_event(**changes: Any) -> dict[str, Any]:
    return {
        "event": "assign_waybill",
        "from_status": "paid",
        "to_status": "waybill_assigned",
        "note": None,
        "at": AT,
        **changes,
    }


def stock_event(**changes: Any) -> dict[str, Any]:
    return {
        "id": 7,
        "carrier": "ZTO",
        "kind": "low_stock",
        "available": 90,
        "threshold": 100,
        "purchase_id": None,
        "number": None,
        "order_id": None,
        "created_at": AT,
        **changes,
    }


def tracking(**changes: Any) -> dict[str, Any]:
    return {
        "carrier": "ZTO",
        "number": "73100000000001",
        "order_id": ORDER_ID,
        "status": "in_transit",
        "status_at": AT,
        "last_event_at": AT,
        "shipped_at": AT,
        "promised_days": 3,
        "subscription": {"state": "subscribed", "code": "200", "message": None, "attempts": 1},
        "events": [
            {"occurred_at": AT, "status": "in_transit", "description": "快件已到达杭州转运中心", "area_name": "杭州"}
        ],
        "alerts": [],
        **changes,
    }


def parcel(seq: int, number: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": f"pcl_{seq}",
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


def shipment_in_parcels(*numbers: str, **changes: Any) -> dict[str, Any]:
    """A shipment of one parcel per number (the first is the main number), as ShipmentOut has them now."""
    boxes = [parcel(i, n) for i, n in enumerate(numbers, 1)]
    return shipment(
        number=numbers[0], parcel_count=len(numbers), parcels=boxes, confirm_mode="at_print", voided_at=None, **changes
    )


def order_alert(**changes: Any) -> dict[str, Any]:
    return {
        "id": 1042,
        "order_id": ORDER_ID,
        "kind": "late_to_ship",
        "state": "open",
        "message": "订单 3927481123456789 须在 2026-11-30 12:00 前发货，还剩 3 小时 40 分",
        "opened_at": AT,
        "acknowledged_at": None,
        "resolved_at": None,
        **changes,
    }


RULE_ID = "asp_2d4f6a8c0e1b3d5f7a9c"


def skipped(order_id: str = "ord_7a9c", **changes: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "reason": "weight_out_of_range",
        "message": "重量 4200 克不在 不限 至 3000 克 之间",
        "rule_id": None,
        **changes,
    }


def auto_ship_run(**changes: Any) -> dict[str, Any]:
    return {
        "id": "asr_5c7e9a1b",
        "rule_id": RULE_ID,
        "batch_id": BATCH_ID,
        "carrier": "ZTO",
        "at": AT,
        "taken": 2,
        "order_ids": [ORDER_ID, "ord_9e1c"],
        "skipped": 1,
        "skipped_by_reason": {"weight_out_of_range": 1},
        "skipped_orders": [skipped()],
        **changes,
    }


def auto_ship_rule(**changes: Any) -> dict[str, Any]:
    return {
        "id": RULE_ID,
        "name": "江浙沪小件走中通",
        "priority": 10,
        "active": True,
        "carrier": "ZTO",
        "conditions": {
            "provinces": ["浙江", "江苏省"],
            "weight_min_g": None,
            "weight_max_g": 3000,
            "stores": ["own"],
            "time_windows": [{"from": "09:00", "to": "17:30", "days": [1, 2, 3, 4, 5]}],
        },
        "min_age_minutes": 30,
        "max_batch": 500,
        "created_at": AT,
        "updated_at": AT,
        "last_run": auto_ship_run(),
        **changes,
    }


def dry_run(**changes: Any) -> dict[str, Any]:
    return {
        "rule_id": RULE_ID,
        "carrier": "ZTO",
        "at": AT,
        "running": True,
        "would_take": 2,
        "order_ids": [ORDER_ID, "ord_9e1c"],
        "skipped": 1,
        "skipped_by_reason": {"weight_out_of_range": 1},
        "skipped_orders": [skipped()],
        **changes,
    }
