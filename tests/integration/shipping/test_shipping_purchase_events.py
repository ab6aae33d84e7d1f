"""Allocation's purchase events reach the shop's webhook endpoints through shipping: a purchase about to expire
is the ``purchase.expiring`` webhook, signed and retried as shipping's own events, with the id allocation
derived from its event (a relay repeated is delivered again under the same id). Shipping relays only those
types, and only for the shop the internal call names."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.purchase_events import relayed_event_id
from tests.integration.shipping.conftest import World, bind_shop
from tests.integration.shipping.test_shipping_carrier_cost import deliver
from tests.support import ADMIN_KEY, INTERNAL_KEY, Env, bearer, run_jobs


async def _forward_to_shipping(world: World, request: httpx.Request) -> httpx.Response:
    resp = await world.shipping.request(
        request.method, request.url.raw_path.decode(), content=request.content, headers=request.headers
    )
    return httpx.Response(resp.status_code, content=resp.content, headers=resp.headers)


async def _allocation_jobs(world: World) -> None:
    """Allocation's queued jobs (the relay), its calls to shipping into the app in this process."""
    from services.allocation.tasks import WorkerSettings

    assert world.mock is not None
    world.mock.route(host="shipping.test").mock(side_effect=lambda r: _forward_to_shipping(world, r))
    await run_jobs(WorkerSettings, max_tries=3)


async def test_a_purchase_about_to_expire_is_the_shops_webhook(
    world: World, shipping_env: Env, hooks_test_allowed: None, redis: Any
) -> None:
    from services.allocation.tasks import check_expiring, relay_stock_event
    from tests.integration.allocation_support import worker_ctx, worker_resources

    await redis.delete("arq:allocation")
    shop = await bind_shop(world, shipping_env)
    hook = await world.shipping.post(
        "/v1/webhook-endpoints",
        json={"url": "http://hooks.test/waybill", "events": ["purchase.expiring"]},
        headers=shop.headers,
    )
    assert hook.status_code == 201, hook.text
    admin = bearer(ADMIN_KEY)
    await world.allocation.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": 300_000}, headers=admin)
    bought = await world.allocation.post(
        "/v1/purchases",
        json={"carrier": "ZTO", "package_id": "ZTO-1000"},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert bought.status_code == 202, bought.text
    purchase_id = bought.json()["id"]
    await redis.delete("arq:allocation")  # its courier call: the numbers are stored here instead
    await deliver(purchase_id, 1000, expires_in=timedelta(days=3))

    async with worker_resources() as res:
        assert await check_expiring(worker_ctx(res)) == 1
    await _allocation_jobs(world)  # the relay, into shipping
    await world.run_jobs()  # shipping's delivery, to the shop

    (event,) = [
        e
        for e in (await world.allocation.get("/v1/pools/events", headers=shop.headers)).json()["data"]
        if e["kind"] == "expiring"
    ]
    (request,) = world.hooks.requests
    body = json.loads(request.content)
    assert (body["type"], body["shop_id"], body["id"]) == (
        "purchase.expiring",
        shop.id,
        str(relayed_event_id(event["id"])),
    )
    assert request.headers["X-Waybill-Event-Id"] == body["id"]
    assert (body["data"]["purchase_id"], body["data"]["numbers"], body["data"]["notice_days"]) == (purchase_id, 1000, 7)

    # A relay repeated (its answer lost, say) is delivered again under the same id, for the shop to dedupe.
    async with worker_resources() as res:
        await relay_stock_event(worker_ctx(res), event["id"])
    await world.run_jobs()
    assert [json.loads(r.content)["id"] for r in world.hooks.requests] == [body["id"], body["id"]]


async def test_shipping_relays_only_purchase_events_of_the_shop_named(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    event = {
        "id": str(uuid.uuid4()),
        "type": "purchase.expiring",
        "occurred_at": datetime.now(UTC).isoformat(),
        "shop_id": shop.id,
        "data": {},
    }
    ok = await world.shipping.post("/internal/v1/events", json=event, headers=bearer(INTERNAL_KEY, shop.id))
    assert ok.status_code == 202, ok.text
    assert ok.json() == {"event_id": event["id"], "deliveries": 0}  # no endpoint: nothing to send
    for refused in ({**event, "type": "shipment.confirmed"}, {**event, "shop_id": "s-someone-else"}):
        resp = await world.shipping.post("/internal/v1/events", json=refused, headers=bearer(INTERNAL_KEY, shop.id))
        assert resp.status_code == 422, resp.text
    as_shop = await world.shipping.post("/internal/v1/events", json=event, headers=shop.headers)
    assert as_shop.status_code == 403
