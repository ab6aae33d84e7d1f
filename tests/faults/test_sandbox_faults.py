"""Scenario 5: the outside world at high fault rates: 30% platform errors from the marketplace and the tracking
provider, duplicated order messages, duplicated, reordered and dropped tracking pushes, and the courier down
for a while. Beside the Taobao trades, a Pinduoduo store's orders with the sandbox's Pinduoduo faults on:
errors and rate limits on every call (52103, 52101: retried), order messages duplicated, delayed, reordered,
dropped and badly signed (each redelivered until we acknowledge it). Every order of both channels must still
ship exactly once, on its own channel, with one number each and none lost, and every parcel reach its true
final status."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Shop, wait_for
from tests.faults import report
from tests.faults.flows import assert_batch_shipped_once, bind_pinduoduo, env_int, pdd_orders_for, start_batch
from tests.faults.invariants import ALL, assert_invariants, marketplace_shipped_as_confirmed, numbers_accounted_for
from tests.faults.system import FaultSystem, since
from tests.faults.tracking_flow import accelerate, real_time, use_tracking_env, wait_settled, wait_subscribed

pytestmark = pytest.mark.faults

ORDERS = env_int("FAULTS_SANDBOX_ORDERS", 200)
PDD_ORDERS = env_int("FAULTS_SANDBOX_PDD_ORDERS", 100)
COURIER_SHORT_DOWN_S = env_int("FAULTS_COURIER_SHORT_DOWN_S", 3)
COURIER_LONG_DOWN_S = env_int("FAULTS_COURIER_LONG_DOWN_S", 30)
FAULTS = {
    "error_rate": {"marketplace": 0.3, "kuaidi100": 0.3},
    "message_duplicate_rate": 0.2,
    "push_duplicate_rate": 0.2,
    "push_out_of_order_rate": 0.2,
    "push_drop_rate": 0.1,
    "seed": 5,
}
# About 29% of Pinduoduo calls refused (25% 52103, 5% 52101), as the marketplace's 30%: a confirmation fails
# only after 8 refused tries in a row (0.29^8, about 5e-5 an order).
PDD_FAULTS = {
    "error_rate": {"pinduoduo": 0.25},
    "rate_limit_rate": 0.05,
    "message_duplicate_rate": 0.2,
    "message_delay_rate": 0.1,
    "message_delay_s": 1.0,
    "message_reorder_rate": 0.1,
    "message_drop_rate": 0.1,
    "message_bad_sign_rate": 0.05,
    "seed": 6,
}


async def purchase(s: FaultSystem, http: httpx.AsyncClient, shop: Shop, package: str) -> dict[str, Any]:
    resp = await http.post(
        f"{s.allocation}/v1/purchases",
        json={"carrier": "ZTO", "package_id": package},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 202, resp.text
    purchase_id = resp.json()["id"]

    async def settled() -> dict[str, Any] | None:
        body: dict[str, Any] = (
            await http.get(f"{s.allocation}/v1/purchases/{purchase_id}", headers=shop.headers)
        ).json()
        return body if body["status"] != "pending" else None

    found: dict[str, Any] = await wait_for(settled, 300, f"purchase {purchase_id} to settle", every=0.5)
    return found


async def test_everything_ships_and_settles_under_sandbox_faults(
    system: FaultSystem, request: pytest.FixtureRequest
) -> None:
    s = system
    name = "5. sandbox at high fault rates"
    use_tracking_env(s)
    async with s.client() as http:
        shop = await s.create_shop(http, "故障世界店")
        await s.top_up(http, shop, 100_000_000)
        await s.faults(http, **FAULTS)
        # A short courier outage is ridden out by the purchase's retries...
        await s.faults(http, courier_down_s=COURIER_SHORT_DOWN_S)
        t0 = time.monotonic()
        short = await purchase(s, http, shop, "ZTO-1000")
        short_s = since(t0)
        assert short["status"] == "completed", short
        # ...a long one fails the purchase and refunds it in full (the ledger check below sums it).
        await s.faults(http, courier_down_s=COURIER_LONG_DOWN_S)
        long = await purchase(s, http, shop, "ZTO-1000")
        assert (long["status"], long["refunded_cents"]) in (("failed", long["price_cents"]), ("completed", 0)), long
        await s.faults(http, courier_down_s=0)
        await s.bind_seller(http, shop)
        await s.pdd_faults(http, **PDD_FAULTS)
        mall, _store_id = await bind_pinduoduo(s, http, shop)

        tids = await s.paid_trades(http, shop, ORDERS)
        sns = await s.pdd_orders(http, mall["mall_id"], PDD_ORDERS)
        t0 = time.monotonic()
        order_ids = await s.orders_for(http, shop, tids, within=600)
        pdd_ids = await pdd_orders_for(s, http, shop, sns, within=600)
        intake_s = since(t0)
        t0 = time.monotonic()
        # One batch of both channels: each order confirmed on its own.
        batch_id = await start_batch(s, http, shop, order_ids + pdd_ids)
        batch = await s.wait_batch(http, shop, batch_id, within=900)
        batch_s = since(t0)
        await assert_batch_shipped_once(s, http, shop, tids, batch, sns)
        order_ids += pdd_ids
        numbers = await wait_subscribed(s, http, shop, order_ids)
        await accelerate(s, http)
        t0 = time.monotonic()
        try:
            truth = await wait_settled(s, http, shop, order_ids, numbers, within=900)
        finally:
            await real_time(s, http)
        tracking_s = since(t0)
        pushes = {k: sum(t["pushes"][k] for t in truth.values()) for k in ("acked", "dropped", "duplicates")}
        messages = (await http.get(f"{s.sandbox}/control/marketplace/messages/stats")).json()
        pdd_messages = await s.pdd_message_stats(http)
        pdd_retried = await s.sql(
            "SELECT count(*) AS n FROM shipping.shipments s JOIN shipping.orders o ON o.id = s.order_id "
            "WHERE o.shop_id = $1 AND o.channel = 'pinduoduo' AND s.attempts > 1",
            shop.id,
        )
        # The faults really happened.
        assert pushes["dropped"] > 0, pushes
        assert pushes["duplicates"] > 0, pushes
        assert messages["duplicates"] > 0, messages
        for fault in ("duplicates", "dropped", "bad_signs", "delayed", "reordered", "failed_attempts"):
            assert pdd_messages[fault] > 0, pdd_messages
        assert pdd_retried[0]["n"] > 0  # confirmations refused by the platform, and asked again
        report.record(
            request.node.nodeid,
            name,
            orders=ORDERS,
            pdd_orders=PDD_ORDERS,
            purchase_through_short_courier_outage_s=short_s,
            purchase_in_long_outage=long["status"],
            intake_s=intake_s,
            batch_s=batch_s,
            tracking_settled_s=tracking_s,
            pushes=pushes,
            duplicated_messages=messages["duplicates"],
            pdd_messages={k: pdd_messages[k] for k in ("published", "duplicates", "dropped", "bad_signs")},
            pdd_confirmations_retried=pdd_retried[0]["n"],
        )
    checks = [*ALL, marketplace_shipped_as_confirmed(shop.id), numbers_accounted_for(shop.id)]
    report.record(request.node.nodeid, name, invariants_settled_s=await assert_invariants(s, checks=checks))
