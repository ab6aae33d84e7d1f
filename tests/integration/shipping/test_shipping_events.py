"""Tracking updates move the order forward only; shops get signed events, retried, kept when they fail."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.tracking import MAX_BATCH_TRACKING_UPDATES
from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.test_shipping_ship import _order, _paid_order, _ship
from tests.support import INTERNAL_KEY, Env, bearer


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(10)})


async def _shipped(world: World, shop: BoundShop) -> tuple[dict[str, Any], dict[str, Any]]:
    _, order = await _paid_order(world, shop)
    shipment = (await _ship(world, shop, order["id"], carrier="ZTO")).json()
    await world.run_jobs()
    return order, shipment


def _update(order: dict[str, Any], shipment: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "kind": "status_changed",
        "order_id": order["id"],
        "carrier": "ZTO",
        "number": shipment["number"],
        "status": status,
        "occurred_at": datetime.now(UTC).isoformat(),
        "description": status,
        **extra,
    }


async def _post(world: World, shop: BoundShop, body: dict[str, Any]) -> dict[str, Any]:
    resp = await world.shipping.post("/internal/v1/tracking-updates", json=body, headers=bearer(INTERNAL_KEY, shop.id))
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def test_tracking_moves_the_order_forward_only_and_once(world: World, shop: BoundShop) -> None:
    order, shipment = await _shipped(world, shop)
    moving = _update(order, shipment, "in_transit")
    assert (await _post(world, shop, moving)) == {"applied": True, "duplicate": False, "order_status": "in_transit"}
    assert (await _post(world, shop, moving))["duplicate"] is True
    problem = await _post(world, shop, _update(order, shipment, "problem"))
    assert problem["order_status"] == "exception"
    delivered = await _post(world, shop, _update(order, shipment, "delivered"))
    assert delivered["order_status"] == "delivered"
    late = await _post(world, shop, _update(order, shipment, "in_transit"))
    assert late == {"applied": False, "duplicate": False, "order_status": "delivered"}
    assert (await _order(world, shop, order["id"]))["status"] == "delivered"


async def test_returned_parcel(world: World, shop: BoundShop) -> None:
    order, shipment = await _shipped(world, shop)
    await _post(world, shop, _update(order, shipment, "refused"))
    assert (await _post(world, shop, _update(order, shipment, "returned")))["order_status"] == "returned"


async def _post_batch(world: World, shop: BoundShop, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    resp = await world.shipping.post(
        "/internal/v1/tracking-updates/batch", json={"updates": updates}, headers=bearer(INTERNAL_KEY, shop.id)
    )
    assert resp.status_code == 200, resp.text
    results: list[dict[str, Any]] = resp.json()["results"]
    return results


async def test_a_batch_of_updates_applies_each_parcels_in_order_and_answers_each(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    first, first_shipment = await _shipped(world, shop)
    second, second_shipment = await _shipped(world, shop)
    other = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(10)})
    foreign, foreign_shipment = await _shipped(world, other)
    moving = _update(first, first_shipment, "in_transit")
    updates = [
        moving,
        _update(second, second_shipment, "in_transit"),
        _update(first, first_shipment, "delivered"),
        _update(foreign, foreign_shipment, "delivered"),  # another shop's order: that update's error only
        _update(second, second_shipment, "problem"),
        _update(first, first_shipment, "in_transit"),  # late: never backwards
        {**moving},  # the same event again within the batch
    ]
    results = await _post_batch(world, shop, updates)
    assert [r["event_id"] for r in results] == [u["event_id"] for u in updates]
    assert [(r["applied"], r["duplicate"], r["order_status"], r["error"]) for r in results] == [
        (True, False, "in_transit", None),
        (True, False, "in_transit", None),
        (True, False, "delivered", None),
        (False, False, None, "not_found"),
        (True, False, "exception", None),
        (False, False, "delivered", None),
        (False, True, "delivered", None),
    ]
    assert (await _order(world, shop, first["id"]))["status"] == "delivered"
    assert (await _order(world, shop, second["id"]))["status"] == "exception"
    assert (await _order(world, other, foreign["id"]))["status"] != "delivered"
    # Sent again (tracking retrying after a lost answer): every update a duplicate, nothing moves twice.
    again = await _post_batch(world, shop, updates)
    assert [r["duplicate"] for r in again] == [True, True, True, False, True, True, True]
    assert [r["error"] for r in again] == [None, None, None, "not_found", None, None, None]


async def test_a_batch_over_the_limit_is_refused_whole(world: World, shop: BoundShop) -> None:
    order, shipment = await _shipped(world, shop)
    resp = await world.shipping.post(
        "/internal/v1/tracking-updates/batch",
        json={"updates": [_update(order, shipment, "in_transit") for _ in range(MAX_BATCH_TRACKING_UPDATES + 1)]},
        headers=bearer(INTERNAL_KEY, shop.id),
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"
    assert (await _order(world, shop, order["id"]))["status"] == "shipped"


async def test_tracking_updates_need_the_internal_key_and_the_right_shop(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    order, shipment = await _shipped(world, shop)
    body = _update(order, shipment, "in_transit")
    as_shop = await world.shipping.post("/internal/v1/tracking-updates", json=body, headers=shop.headers)
    assert as_shop.status_code == 403
    other = await bind_shop(world, shipping_env)
    wrong = await world.shipping.post(
        "/internal/v1/tracking-updates", json=body, headers=bearer(INTERNAL_KEY, other.id)
    )
    assert wrong.status_code == 404


async def test_events_are_signed_retried_and_kept_when_they_fail(
    world: World, shop: BoundShop, hooks_test_allowed: None
) -> None:
    created = await world.shipping.post(
        "/v1/webhook-endpoints", json={"url": "http://hooks.test/waybill"}, headers=shop.headers
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    endpoints = (await world.shipping.get("/v1/webhook-endpoints", headers=shop.headers)).json()["data"]
    assert "secret" not in json.dumps([e for e in endpoints if e["secret"]])
    world.hooks.statuses = [500]  # the first delivery fails, the retry succeeds
    order, shipment = await _shipped(world, shop)
    assert len(world.hooks.requests) == 2
    first, second = world.hooks.requests
    assert first.content == second.content
    assert first.headers["X-Waybill-Event-Id"] == second.headers["X-Waybill-Event-Id"]
    body = json.loads(second.content)
    assert body["type"] == "shipment.confirmed"
    assert body["id"] == second.headers["X-Waybill-Event-Id"]
    assert body["data"]["number"] == shipment["number"]
    assert body["data"]["order_id"] == order["id"]
    stamp = second.headers["X-Waybill-Timestamp"]
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + second.content, hashlib.sha256).hexdigest()
    assert second.headers["X-Waybill-Signature"] == f"v1={expected}"

    # An endpoint that keeps failing: kept as failed after the last try, then resent by hand.
    world.hooks.statuses = [500, 502, 503]
    await _post(world, shop, _update(order, shipment, "in_transit"))
    await world.run_jobs()
    failed = (
        await world.shipping.get("/v1/webhook-deliveries", params={"status": "failed"}, headers=shop.headers)
    ).json()["data"]
    assert len(failed) == 1
    assert failed[0]["event_type"] == "tracking.status_changed"
    assert failed[0]["attempts"] == 3
    assert failed[0]["last_status_code"] == 503
    resent = await world.shipping.post(f"/v1/webhook-deliveries/{failed[0]['id']}/resend", headers=shop.headers)
    assert resent.status_code == 202
    await world.run_jobs()
    delivered = (
        await world.shipping.get("/v1/webhook-deliveries", params={"status": "delivered"}, headers=shop.headers)
    ).json()["data"]
    assert {d["event_type"] for d in delivered} == {"shipment.confirmed", "tracking.status_changed"}
    assert world.hooks.requests[-1].headers["X-Waybill-Event-Id"] == str(failed[0]["event_id"])
