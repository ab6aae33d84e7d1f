"""Numbers about to expire, as the shop set it up (GET/PUT /v1/expiry-settings): one ``expiring`` event per
purchase and expiry date, relayed to shipping as the ``purchase.expiring`` webhook; then, shortly before they
expire, extended for the fee (a balance too low: one ``auto_extend_failed`` event, no error, tried again after
a top-up) or refunded. Every money move has its ledger row with a reason."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import respx

from runtime.settings import to_asyncpg_dsn
from shared.purchase_events import relayed_event_id
from tests.integration.allocation_support import (
    GATEWAY,
    FakeCourier,
    add_package,
    run_allocation_jobs,
    start_purchase,
    worker_ctx,
    worker_resources,
    zto_numbers,
)
from tests.integration.conftest import ShopCreds
from tests.support import Env, run_jobs

QUANTITY, PRICE, FEE_PER_30 = 10, 1000, 300
SHIPPING_EVENTS = "http://shipping.test/internal/v1/events"


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    await redis.delete("arq:allocation")


async def _bought(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]) -> dict[str, Any]:
    package = await add_package(client, admin, QUANTITY, PRICE, extension_fee=FEE_PER_30)
    purchase = await start_purchase(client, shop.headers, admin, shop.id, package)
    await run_allocation_jobs(zto_numbers(QUANTITY))
    return purchase


async def _expire_in(env: Env, purchase_id: str, delta: timedelta) -> None:
    """Move the purchase's expiry (and its numbers') to ``delta`` from now, as time passing would."""
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        await conn.execute("UPDATE allocation.purchases SET expires_at = now() + $2 WHERE id = $1", purchase_id, delta)
        await conn.execute(
            "UPDATE allocation.waybills SET expires_at = now() + $2 WHERE purchase_id = $1", purchase_id, delta
        )
    finally:
        await conn.close()


async def _settings(client: httpx.AsyncClient, shop: ShopCreds, **fields: Any) -> dict[str, Any]:
    resp = await client.put("/v1/expiry-settings", json=fields, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _check() -> int:
    """The worker's expiry cron, once (the jobs it queues run in ``_relay``)."""
    from services.allocation.tasks import check_expiring

    async with worker_resources() as res:
        return await check_expiring(worker_ctx(res))


class Shipping:
    """Shipping's internal events endpoint, recording what allocation relays."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        event = json.loads(request.content)
        assert request.headers["x-shop-id"] == event["shop_id"]
        self.events.append(event)
        return httpx.Response(202, json={"event_id": event["id"], "deliveries": 1})


async def _relay() -> Shipping:
    from services.allocation.tasks import WorkerSettings

    shipping = Shipping()
    with respx.mock(assert_all_called=False) as mock:
        mock.post(SHIPPING_EVENTS).mock(side_effect=shipping)
        mock.post(GATEWAY).mock(side_effect=FakeCourier())
        await run_jobs(WorkerSettings, max_tries=3)
    return shipping


async def _events(client: httpx.AsyncClient, shop: ShopCreds, kind: str) -> list[dict[str, Any]]:
    events = (await client.get("/v1/pools/events", headers=shop.headers)).json()["data"]
    return [e for e in events if e["kind"] == kind]


async def _ledger(client: httpx.AsyncClient, shop: ShopCreds) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/v1/balance", headers=shop.headers)).json()
    return body


async def test_the_shops_expiry_settings(allocation_client: httpx.AsyncClient, shop: ShopCreds) -> None:
    got = await allocation_client.get("/v1/expiry-settings", headers=shop.headers)
    assert got.json() == {
        "expiring_notice_days": 7,
        "on_expiry": "nothing",
        "auto_extend_days": 30,
        "action_lead_hours": 24,
    }
    assert (await _settings(allocation_client, shop, on_expiry="extend"))["expiring_notice_days"] == 7
    changed = await _settings(allocation_client, shop, expiring_notice_days=0, auto_extend_days=60)
    assert (changed["expiring_notice_days"], changed["on_expiry"], changed["auto_extend_days"]) == (0, "extend", 60)
    for bad in ({"on_expiry": "burn"}, {"expiring_notice_days": 91}, {"auto_extend_days": 0}):
        assert (await allocation_client.put("/v1/expiry-settings", json=bad, headers=shop.headers)).status_code == 422


async def test_one_expiring_event_per_purchase_and_expiry_date(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], env: Env
) -> None:
    purchase = await _bought(allocation_client, shop, admin)
    await _expire_in(env, purchase["id"], timedelta(days=8))
    assert await _check() == 0  # beyond the 7 days' notice
    await _expire_in(env, purchase["id"], timedelta(days=6))
    assert await _check() == 1
    assert await _check() == 0  # told once, however often the worker looks
    shipping = await _relay()

    (event,) = await _events(allocation_client, shop, "expiring")
    assert (event["purchase_id"], event["numbers"]) == (purchase["id"], QUANTITY)
    assert event["details"]["notice_days"] == 7
    assert event["details"]["on_expiry"] == "nothing"
    (sent,) = shipping.events
    assert sent["id"] == str(relayed_event_id(event["id"]))
    assert (sent["type"], sent["shop_id"]) == ("purchase.expiring", shop.id)
    assert sent["data"]["purchase_id"] == purchase["id"]
    assert (sent["data"]["numbers"], sent["data"]["package_id"]) == (QUANTITY, purchase["package_id"])

    # Extended by hand to another date still within the notice: a notice of its own, once.
    await allocation_client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": 1000}, headers=admin)
    extended = await allocation_client.post(
        f"/v1/purchases/{purchase['id']}/extend", json={"days": 1}, headers=shop.headers
    )
    assert extended.status_code == 200, extended.text
    assert await _check() == 1
    assert await _check() == 0
    assert len(await _events(allocation_client, shop, "expiring")) == 2

    # A shop that wants no notice gets none.
    other = await _bought(allocation_client, shop, admin)
    await _settings(allocation_client, shop, expiring_notice_days=0)
    await _expire_in(env, other["id"], timedelta(days=1))
    assert await _check() == 0
    await _relay()  # the queue left empty for the next test


async def test_numbers_about_to_expire_are_extended_for_the_fee_once(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], env: Env
) -> None:
    purchase = await _bought(allocation_client, shop, admin)
    await _settings(allocation_client, shop, on_expiry="extend", auto_extend_days=30)
    await _expire_in(env, purchase["id"], timedelta(hours=30))
    await _check()  # the notice only: the action comes within the lead (24 h)
    assert await _events(allocation_client, shop, "auto_extended") == []
    await _expire_in(env, purchase["id"], timedelta(hours=20))
    await allocation_client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": FEE_PER_30}, headers=admin)

    await _check()
    await _check()
    shipping = await _relay()

    (event,) = await _events(allocation_client, shop, "auto_extended")
    assert (event["numbers"], event["details"]["days"], event["details"]["fee_cents"]) == (QUANTITY, 30, FEE_PER_30)
    after = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()
    assert after["expires_at"][:10] == event["details"]["new_expires_at"][:10]
    ledger = await _ledger(allocation_client, shop)
    entry = ledger["ledger"][0]
    assert (entry["kind"], entry["amount_cents"], entry["reference"]) == ("auto_extension", -FEE_PER_30, purchase["id"])
    assert (
        entry["note"] == f"automatic extension before expiry (on_expiry extend): +30 days for {QUANTITY} usable numbers"
    )
    assert entry["reason"].startswith("the shop's on_expiry setting extended")
    assert [e["kind"] for e in ledger["ledger"]].count("auto_extension") == 1
    assert "purchase.auto_extended" in [e["type"] for e in shipping.events]


async def test_a_balance_too_low_for_the_fee_is_told_once_and_tried_again(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], env: Env
) -> None:
    purchase = await _bought(allocation_client, shop, admin)  # the balance is spent on the purchase: 0
    await _settings(allocation_client, shop, on_expiry="extend", auto_extend_days=30)
    await _expire_in(env, purchase["id"], timedelta(hours=20))
    before = await _ledger(allocation_client, shop)
    expiry = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()["expires_at"]

    await _check()
    await _check()
    shipping = await _relay()

    (failed,) = await _events(allocation_client, shop, "auto_extend_failed")
    assert (failed["details"]["fee_cents"], failed["details"]["balance_cents"]) == (FEE_PER_30, 0)
    assert [e["type"] for e in shipping.events].count("purchase.auto_extend_failed") == 1
    assert await _ledger(allocation_client, shop) == before  # nothing charged, nothing extended
    unchanged = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()
    assert unchanged["expires_at"] == expiry

    await allocation_client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": FEE_PER_30}, headers=admin)
    await _check()
    await _relay()
    assert len(await _events(allocation_client, shop, "auto_extended")) == 1
    assert (await _ledger(allocation_client, shop))["balance_cents"] == 0


async def test_numbers_about_to_expire_are_refunded_once(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], env: Env
) -> None:
    purchase = await _bought(allocation_client, shop, admin)
    await allocation_client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": ["ar-1", "ar-2"]}, headers=shop.headers
    )
    await _settings(allocation_client, shop, on_expiry="refund")
    await _expire_in(env, purchase["id"], timedelta(hours=2))

    await _check()
    await _check()
    shipping = await _relay()

    (event,) = await _events(allocation_client, shop, "auto_refunded")
    assert (event["numbers"], event["details"]["refunded_cents"]) == (8, PRICE * 8 // QUANTITY)
    ledger = await _ledger(allocation_client, shop)
    entry = ledger["ledger"][0]
    assert (entry["kind"], entry["amount_cents"]) == ("auto_refund", PRICE * 8 // QUANTITY)
    assert entry["note"] == "automatic refund before expiry (on_expiry refund): 8 numbers never handed out"
    assert ledger["balance_cents"] == ledger["ledger_total_cents"] == PRICE * 8 // QUANTITY
    counts = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"][0]["counts"]
    assert (counts["voided"], counts["allocated"], counts.get("available", 0)) == (8, 2, 0)
    assert "purchase.auto_refunded" in [e["type"] for e in shipping.events]


async def test_numbers_handed_out_and_back_are_extended_but_not_refunded(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], env: Env
) -> None:
    """A released number is back in the pool (an extension keeps it usable) but not unused (no refund)."""
    purchase = await _bought(allocation_client, shop, admin)
    got = await allocation_client.post(
        "/v1/allocations/batch",
        json={"carrier": "ZTO", "order_ids": [f"hb-{i}" for i in range(QUANTITY)]},
        headers=shop.headers,
    )
    for a in got.json()["allocations"][:2]:
        await allocation_client.post(f"/v1/waybills/{a['number']}/release", headers=shop.headers)
    await _settings(allocation_client, shop, on_expiry="refund")
    await _expire_in(env, purchase["id"], timedelta(hours=2))
    await _check()
    assert await _events(allocation_client, shop, "auto_refunded") == []

    await _settings(allocation_client, shop, on_expiry="extend")
    await allocation_client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": FEE_PER_30}, headers=admin)
    await _check()
    await _relay()
    (event,) = await _events(allocation_client, shop, "auto_extended")
    assert event["numbers"] == QUANTITY  # the 2 back in the pool and the 8 still allocated
