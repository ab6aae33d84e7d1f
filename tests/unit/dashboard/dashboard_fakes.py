"""The three services' answers as the dashboard tests mock them (respx), in the shapes their APIs return."""

from __future__ import annotations

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
    return Response(status, json={"error": {"code": code, "message": message, "details": {}}})


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
        "items": [],
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


def tracking(number: str, status: str) -> dict[str, Any]:
    return {"carrier": "ZTO", "number": number, "order_id": "o", "status": status, "events": [], "alerts": []}


def mock_shop(router: respx.MockRouter, shop_id: str = SHOP) -> dict[str, respx.Route]:
    """A shop with two pools (YTO low), a batch in progress and a finished one, three shipments, one alert."""
    return {
        "shop": router.get(f"{ALLOC}/v1/shops/{shop_id}").respond(
            json={"id": shop_id, "name": "杭州小铺", "created_at": "2026-11-28T00:00:00+00:00"}
        ),
        "balance": router.get(f"{ALLOC}/v1/balance").respond(
            json={"shop_id": shop_id, "balance_cents": 123456, "ledger_total_cents": 123456, "ledger": []}
        ),
        "pools": router.get(f"{ALLOC}/v1/pools").respond(json=[pool("ZTO", 995, expiring=5), pool("YTO", 7, low=True)]),
        "shipments": router.get(f"{SHIP}/v1/shipments").respond(
            json=[
                shipment(3, "YTO", None),
                shipment(2, "ZTO", "b-new"),
                shipment(1, "ZTO", "b-old"),
                shipment(0, "ZTO", "b-new", status="failed"),
            ]
        ),
        "b-new": router.get(f"{SHIP}/v1/shipment-batches/b-new").respond(json=batch("b-new", "processing", 10, 4)),
        "b-old": router.get(f"{SHIP}/v1/shipment-batches/b-old").respond(json=batch("b-old", "completed", 2, 2)),
        "alerts": router.get(f"{TRACK}/v1/alerts").respond(json=[alert(41)]),
        "track-3": router.get(f"{TRACK}/v1/trackings/N0003").respond(json=tracking("N0003", "pending")),
        "track-2": router.get(f"{TRACK}/v1/trackings/N0002").respond(json=tracking("N0002", "in_transit")),
        "track-1": router.get(f"{TRACK}/v1/trackings/N0001").mock(
            return_value=error(404, "not_found", "waybill N0001 not found")
        ),
    }
