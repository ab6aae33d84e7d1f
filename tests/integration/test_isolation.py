"""No shop sees or touches another shop's data, on every route of every service.

The routes come from each app's route table (tests/route_table.py), not from a list in this file:
a route added tomorrow is called by this test tomorrow. Shop A gets one real resource of each kind
(orders, shipments, batches, numbers, purchases, webhooks, deliveries, trackings, alerts); shop B then
calls every shop route with its own key:
- on A's resources (a path parameter naming one of them): 404 or 403;
- without a resource parameter (lists, settings, balance): an answer that mentions nothing of A's;
- admin and internal routes: refused (401/403).
A path parameter nobody knows how to fill fails the test, naming the factory to register.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from runtime.db import make_engine, make_sessionmaker, transaction
from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.live import LiveSystem, live_system
from tests.route_table import Operation, operations
from tests.support import ADMIN_KEY, INTERNAL_KEY, Env, bearer

# Routes that answer without a key, each for a reason: probes, and webhooks authenticated by their
# signature. Anything else that answers an anonymous caller fails the test.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/webhooks/marketplace"),
    ("POST", "/webhooks/tracking/kuaidi100"),
}
# Path parameters that name shared things, not a shop's resources: B acting on them acts on its own
# data (its ZTO pool) or on the common catalogue, and the answer is checked for A's data instead.
SHARED_PARAMS = {"carrier": "ZTO", "code": "ZTO"}


@dataclass
class ShopA:
    id: str
    key: str
    # service -> path parameter -> one of A's resources
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    # Strings that appear only in A's data: none may reach B.
    markers: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def system(env: Env) -> Iterator[LiveSystem]:
    with live_system(log_level="WARNING", rate_limit_per_s=0) as s:
        yield s


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def _shop(http: httpx.AsyncClient, system: LiveSystem, name: str) -> tuple[str, str]:
    resp = await http.post(f"{system.urls['allocation']}/v1/shops", json={"name": name}, headers=bearer(ADMIN_KEY))
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], resp.json()["api_key"]


def _ok(resp: httpx.Response, *codes: int) -> Any:
    assert resp.status_code in codes, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()


async def _build_shop_a(http: httpx.AsyncClient, system: LiveSystem, env: Env) -> ShopA:
    """One real resource of every kind, owned by shop A (the resource factories)."""
    alloc, ship, track = (system.urls[s] for s in ("allocation", "shipping", "tracking"))
    shop_id, key = await _shop(http, system, "甲店")
    a = ShopA(shop_id, key)
    h = bearer(key)
    tag = uuid.uuid4().hex[:8]
    _ok(
        await http.post(
            f"{alloc}/v1/shops/{shop_id}/topups", json={"amount_cents": 500_000}, headers=bearer(ADMIN_KEY)
        ),
        201,
    )
    numbers = zto_numbers(6)
    await seed_numbers(env, shop_id, "ZTO", numbers)
    allocated = _ok(
        await http.post(f"{alloc}/v1/allocations", json={"carrier": "ZTO", "order_id": f"iso-{tag}"}, headers=h), 200
    )
    purchase = _ok(
        await http.post(
            f"{alloc}/v1/purchases",
            json={"carrier": "ZTO", "package_id": "ZTO-1000"},
            headers={**h, "Idempotency-Key": f"iso-purchase-{tag}"},
        ),
        202,
    )
    price = _ok(
        await http.post(
            f"{alloc}/v1/shops/{shop_id}/prices",
            json={"package_id": "ZTO-5000", "price_cents": 1_200_000},
            headers=bearer(ADMIN_KEY),
        ),
        201,
    )
    a.resources["allocation"] = {
        "shop_id": shop_id,
        "key_id": key.split("_")[1],
        "number": allocated["number"],
        "purchase_id": str(purchase["id"]),
        "price_id": str(price["id"]),
    }

    nick = f"iso-nick-{tag}"
    seller = _ok(
        await http.post(f"{system.urls['sandbox']}/control/marketplace/sellers", json={"seller_nick": nick}), 200
    )
    settings = {
        "seller_nick": nick,
        "session": seller["session"],
        "sender_name": "甲店",
        "sender_phone": "0571-88886666",
        "sender_address": "浙江省杭州市余杭区文一西路969号",
    }
    _ok(await http.put(f"{ship}/v1/settings", json=settings, headers=h), 200)
    store = _ok(await http.get(f"{ship}/v1/stores", headers=h), 200)["data"][0]  # the Taobao binding's store
    order_ids = []
    for i in range(2):
        body = {**_example(system.apps["shipping"], "POST", "/v1/orders"), "external_id": f"iso-ext-{tag}-{i}"}
        order_ids.append(_ok(await http.post(f"{ship}/v1/orders", json=body, headers=h), 201)["id"])
    _ok(await http.post(f"{ship}/v1/orders/{order_ids[0]}/ship", json={"carrier": "ZTO"}, headers=h), 202)
    # An order held for its address opens an order alert (address_invalid).
    example = _example(system.apps["shipping"], "POST", "/v1/orders")
    held = {**example, "external_id": f"iso-held-{tag}", "receiver": {**example["receiver"], "district": "天河区"}}
    held_id = _ok(await http.post(f"{ship}/v1/orders", json=held, headers=h), 201)["id"]
    order_alert = _ok(await http.get(f"{ship}/v1/order-alerts", params={"order_id": held_id}, headers=h), 200)
    shipments = _ok(await http.get(f"{ship}/v1/shipments", headers=h), 200)["data"]
    batch = _ok(
        await http.post(f"{ship}/v1/shipment-batches", json={"order_ids": [order_ids[1]], "carrier": "ZTO"}, headers=h),
        202,
    )
    endpoint = _ok(
        # A public address written in the URL: saving resolves a name, and these tests have no DNS.
        await http.post(
            f"{ship}/v1/webhook-endpoints", json={"url": f"https://93.184.216.34/hooks/a-{tag}"}, headers=h
        ),
        201,
    )
    rule = _ok(
        await http.post(f"{ship}/v1/auto-ship/rules", json={"name": f"iso-{tag}", "carrier": "ZTO"}, headers=h), 201
    )
    delivery_id = await _delivery(env, shop_id, endpoint["id"])
    a.resources["shipping"] = {
        "order_id": order_ids[0],
        "shipment_id": str(shipments[0]["id"]),
        "seq": "1",  # the parcel of a shipment: reached through the shipment, which must be A's
        "rule_id": str(rule["id"]),
        "batch_id": str(batch["id"]),
        "endpoint_id": str(endpoint["id"]),
        "delivery_id": delivery_id,
        "store_id": str(store["id"]),
        "alert_id": str(order_alert["data"][0]["id"]),
    }

    tracked = numbers[-1]
    sub = {
        **_example(system.apps["tracking"], "POST", "/internal/v1/subscriptions"),
        "order_id": order_ids[0],
        "number": tracked,
    }
    _ok(await http.post(f"{track}/internal/v1/subscriptions", json=sub, headers=bearer(INTERNAL_KEY, shop_id)), 201)
    alert_id = await _alert(env, shop_id, tracked)
    a.resources["tracking"] = {"waybill": tracked, "order_id": order_ids[0], "alert_id": alert_id}

    a.markers = {shop_id, nick, tag, allocated["number"], tracked, *order_ids, delivery_id}
    a.markers |= {v for res in a.resources.values() for k, v in res.items() if k not in SHARED_PARAMS}
    # Small integer ids ("1") would match anything; A's shop id and order ids appear in its rows anyway.
    a.markers = {m for m in a.markers if len(m) >= 6}
    return a


async def _delivery(env: Env, shop_id: str, endpoint_id: str) -> str:
    """A webhook delivery row (deliveries only come from events; this stands for one)."""
    from services.shipping.repository.webhooks import WebhookRepository

    delivery_id = uuid.uuid4()
    engine = make_engine(env.database_url, pool_size=1)
    try:
        async with transaction(make_sessionmaker(engine), None) as uow:
            await WebhookRepository(uow.session).add_deliveries(
                [
                    {
                        "id": delivery_id,
                        "event_id": uuid.uuid4(),
                        "endpoint_id": endpoint_id,
                        "shop_id": shop_id,
                        "event_type": "shipment.confirmed",
                        "payload": {"shop_id": shop_id},
                        "status": "failed",
                    }
                ]
            )
    finally:
        await engine.dispose()
    return str(delivery_id)


async def _alert(env: Env, shop_id: str, number: str) -> str:
    """An open alert on A's tracked parcel (alerts come from pushes and scans; this stands for one)."""
    from services.tracking.repository.alerts import AlertRepository
    from services.tracking.repository.subscriptions import SubscriptionRepository

    engine = make_engine(env.database_url, pool_size=1)
    try:
        async with transaction(make_sessionmaker(engine), None) as uow:
            sub = await SubscriptionRepository(uow.session).by_carrier_number("ZTO", number)
            assert sub is not None
            alert = await AlertRepository(uow.session).open(
                {
                    "shop_id": shop_id,
                    "subscription_id": sub.id,
                    "carrier": sub.carrier,
                    "number": number,
                    "order_id": sub.order_id,
                    "kind": "no_update",
                    "message": "isolation test",
                    "opened_at": datetime.now(UTC),
                }
            )
            assert alert is not None
            return str(alert.id)
    finally:
        await engine.dispose()


def _example(app: FastAPI, method: str, path: str, *, needed: bool = True) -> dict[str, Any]:
    """The documented example of an operation's JSON body ({} when the body is optional and has none;
    also when the route refuses the key before reading the body: ``needed`` False)."""
    op = app.openapi()["paths"][path][method.lower()]
    body = op.get("requestBody")
    if body is None:
        return {}
    content = body["content"].get("application/json")
    if content is None:
        return {}
    if "example" in content:
        return dict(content["example"])
    ref = content.get("schema", {}).get("$ref", "")
    schema = app.openapi()["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    examples = schema.get("examples")
    if examples:
        return dict(examples[0])
    assert not (needed and body.get("required")), (
        f"{method} {path} needs a body and documents no example: add one to its schema "
        "(json_schema_extra examples), which the docs want anyway"
    )
    return {}


def _path(op: Operation, values: dict[str, str]) -> tuple[str, bool]:
    """The path filled with A's resources; True when it names one of them."""
    path, names_a_resource = op.path, False
    for param in op.params:
        if param in SHARED_PARAMS:
            value = SHARED_PARAMS[param]
        else:
            assert param in values, (
                f"{op}: no resource factory for path parameter {param!r}. Register one in "
                "tests/integration/test_isolation.py (_build_shop_a: create A's resource and put its id in "
                "a.resources[service][param]) so this route is checked for isolation."
            )
            value, names_a_resource = values[param], True
        path = path.replace("{" + param + "}", value)
    return path, names_a_resource


async def _check_service(http: httpx.AsyncClient, system: LiveSystem, service: str, a: ShopA, b_key: str) -> list[str]:
    app = system.apps[service]
    base = system.urls[service]
    problems: list[str] = []
    checked = 0
    for op in operations(app):
        path, on_a = _path(op, a.resources.get(service, {}))
        access = op.access
        needed = access not in ("admin", "internal")
        body = _example(app, op.method, op.path, needed=needed) if op.method in ("POST", "PUT", "PATCH") else None
        if access == "public":
            anonymous = await http.request(op.method, base + path, json=body)
            if anonymous.status_code == 401:
                access = "shop"  # authorises inside the endpoint (the hot paths do)
            elif (op.method, op.path) not in PUBLIC:
                problems.append(f"{op}: answers {anonymous.status_code} without any key")
                continue
            else:
                continue
        headers = {**bearer(b_key), "Idempotency-Key": f"iso-b-{uuid.uuid4().hex}"}
        resp = await http.request(op.method, base + path, json=body, headers=headers)
        checked += 1
        if access in ("admin", "internal"):
            if resp.status_code not in (401, 403):
                problems.append(f"{op} ({access} only) answered a shop key with {resp.status_code}")
        elif on_a:
            if resp.status_code not in (403, 404):
                problems.append(f"{op} on shop A's resource answered shop B with {resp.status_code}: {resp.text[:200]}")
        else:
            leaked = sorted(m for m in a.markers if m in resp.text)
            if resp.status_code >= 500 or leaked:
                problems.append(f"{op} answered shop B with {resp.status_code}, showing A's {leaked}")
    assert checked > 0
    return problems


async def test_every_shop_route_refuses_another_shops_key(
    system: LiveSystem, http: httpx.AsyncClient, env: Env
) -> None:
    a = await _build_shop_a(http, system, env)
    _, b_key = await _shop(http, system, "乙店")
    problems = []
    for service in ("allocation", "shipping", "tracking"):
        problems += await _check_service(http, system, service, a, b_key)
    assert problems == [], "\n".join(problems)
    # A still sees its own resources: the 404s above were isolation, not missing data.
    h = bearer(a.key)
    for service, path in (
        ("allocation", f"/v1/purchases/{a.resources['allocation']['purchase_id']}"),
        ("shipping", f"/v1/orders/{a.resources['shipping']['order_id']}"),
        ("shipping", f"/v1/shipment-batches/{a.resources['shipping']['batch_id']}"),
        ("tracking", f"/v1/trackings/{a.resources['tracking']['waybill']}"),
    ):
        resp = await http.get(system.urls[service] + path, headers=h)
        assert resp.status_code == 200, f"{path}: {resp.text}"


async def test_another_shops_key_cannot_read_rename_or_unbind_a_store_nor_list_its_orders(
    system: LiveSystem, http: httpx.AsyncClient
) -> None:
    """The store routes and the orders list's store filter, with a store that really has an order: B's key
    reads nothing of it, changes nothing of it, and A's store stays bound as it was."""
    ship, sandbox = system.urls["shipping"], system.urls["sandbox"]
    _, a_key = await _shop(http, system, "丙店")
    _, b_key = await _shop(http, system, "丁店")
    a, b = bearer(a_key), bearer(b_key)
    nick = f"iso-store-{uuid.uuid4().hex[:8]}"
    seller = _ok(await http.post(f"{sandbox}/control/marketplace/sellers", json={"seller_nick": nick}), 200)
    store = _ok(
        await http.post(
            f"{ship}/v1/stores", json={"channel": "taobao", "token": seller["session"], "name": "丙店淘宝"}, headers=a
        ),
        201,
    )
    body = {"seller_nick": nick, "count": 1, "paid": True}
    (tid,) = _ok(await http.post(f"{sandbox}/control/marketplace/trades", json=body), 200)["tids"]
    deadline = time.monotonic() + 30
    while True:  # the sandbox pushes the paid trade's message to shipping's webhook
        mine = _ok(await http.get(f"{ship}/v1/orders", params={"store_id": store["id"]}, headers=a), 200)["data"]
        if mine or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert [o["external_id"] for o in mine] == [tid]

    sid = store["id"]
    assert (await http.get(f"{ship}/v1/stores/{sid}", headers=b)).status_code == 404
    assert (await http.patch(f"{ship}/v1/stores/{sid}", json={"name": "乙的"}, headers=b)).status_code == 404
    assert (await http.delete(f"{ship}/v1/stores/{sid}", headers=b)).status_code == 404
    assert _ok(await http.get(f"{ship}/v1/stores", headers=b), 200)["data"] == []
    for params in ({"store_id": sid}, {"store_id": sid, "channel": "taobao"}, {"external_id": tid}):
        listed = await http.get(f"{ship}/v1/orders", params=params, headers=b)
        assert _ok(listed, 200)["data"] == [], params
        assert tid not in listed.text
    after = _ok(await http.get(f"{ship}/v1/stores/{sid}", headers=a), 200)
    assert (after["active"], after["token_set"], after["name"]) == (True, True, "丙店淘宝")
    assert len(_ok(await http.get(f"{ship}/v1/orders", params={"store_id": sid}, headers=a), 200)["data"]) == 1
