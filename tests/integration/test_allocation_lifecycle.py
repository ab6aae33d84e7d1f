"""A number's lifecycle, stock accounting and shop isolation on the allocation API."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import httpx

from shared.waybill import s10_check_digit
from tests.integration.allocation_support import seed_numbers, worker_ctx, worker_resources, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.support import INTERNAL_KEY, Env, bearer, run_jobs


def _internal(shop: ShopCreds) -> dict[str, str]:
    return bearer(INTERNAL_KEY, shop.id)


async def _allocate(client: httpx.AsyncClient, shop: ShopCreds, order: str, carrier: str = "ZTO") -> httpx.Response:
    return await client.post("/v1/allocations", json={"carrier": carrier, "order_id": order}, headers=shop.headers)


async def test_soonest_expiring_numbers_go_first_and_expired_never(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    late, soon, past = zto_numbers(2), zto_numbers(2), zto_numbers(2)
    await seed_numbers(env, shop.id, "ZTO", late, expires_in=timedelta(days=60))
    await seed_numbers(env, shop.id, "ZTO", soon, expires_in=timedelta(days=5))
    await seed_numbers(env, shop.id, "ZTO", past, expires_in=timedelta(days=-1))
    got = [(await _allocate(allocation_client, shop, f"exp-{i}")).json()["number"] for i in range(4)]
    assert got[:2] == sorted(soon)
    assert sorted(got[2:]) == sorted(late)
    empty = await _allocate(allocation_client, shop, "exp-5")
    assert empty.status_code == 409
    error = empty.json()["error"]
    assert error["code"] == "pool_exhausted"
    assert error["details"] == {"carrier": "ZTO", "shop_id": shop.id}

    from services.allocation.tasks import expire_numbers

    async with worker_resources() as res:
        assert await expire_numbers(worker_ctx(res)) >= 2
    pool = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"][0]
    assert pool["counts"]["expired"] == 2


async def test_release_unprinted_returns_it_printed_voids_it(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(3))
    a = (await _allocate(allocation_client, shop, "rel-a")).json()["number"]
    b = (await _allocate(allocation_client, shop, "rel-b")).json()["number"]

    released = await allocation_client.post(f"/v1/waybills/{a}/release", headers=shop.headers)
    assert released.json() == {"number": a, "status": "available", "void": None}
    info = (await allocation_client.get(f"/v1/waybills/{a}", headers=shop.headers)).json()
    assert info["status"] == "available"
    assert info["order_id"] is None

    marked = await allocation_client.post(
        f"/v1/waybills/{b}/mark", json={"status": "printed", "order_id": "rel-b"}, headers=_internal(shop)
    )
    assert marked.status_code == 200
    assert marked.json()["status"] == "printed"
    voided = await allocation_client.post(f"/v1/waybills/{b}/release", headers=shop.headers)
    assert voided.json()["status"] == "voided"
    assert voided.json()["void"]["courier"] == "pending"  # the courier is told after the commit
    # Releasing again is a harmless repeat; the voided number is never handed out again.
    assert (await allocation_client.post(f"/v1/waybills/{b}/release", headers=shop.headers)).status_code == 200
    handed = {(await _allocate(allocation_client, shop, f"rel-next-{i}")).json().get("number") for i in range(3)}
    assert b not in handed
    assert a in handed


async def test_a_shipped_number_released_is_voided_never_moved_back(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(1))
    n = (await _allocate(allocation_client, shop, "ship-1")).json()["number"]
    for status in ("printed", "shipped", "shipped"):
        resp = await allocation_client.post(f"/v1/waybills/{n}/mark", json={"status": status}, headers=_internal(shop))
        assert resp.status_code == 200
    # Released before the courier collects it (回收单号): voided; the courier's answer settles it.
    voided = await allocation_client.post(f"/v1/waybills/{n}/release", headers=shop.headers)
    assert voided.status_code == 200
    assert (voided.json()["status"], voided.json()["void"]["courier"]) == ("voided", "pending")
    backwards = await allocation_client.post(
        f"/v1/waybills/{n}/mark", json={"status": "printed"}, headers=_internal(shop)
    )
    assert backwards.status_code == 409


async def test_mark_is_for_services_only(env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(1))
    n = (await _allocate(allocation_client, shop, "mark-1")).json()["number"]
    resp = await allocation_client.post(f"/v1/waybills/{n}/mark", json={"status": "printed"}, headers=shop.headers)
    assert resp.status_code == 403


async def test_manual_numbers_are_validated_and_never_used_twice(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds
) -> None:
    # A valid S10 number of this test's own (examples from the docs are used by other tests too).
    digits = f"{random.randrange(10**8):08d}"
    check = s10_check_digit(digits)
    good = f"EA{digits}{check}CN"
    bad_check = f"EA{digits}{(check + 1) % 10}CN"
    wrong = await allocation_client.post(
        "/v1/waybills/manual", json={"carrier": "EMS", "number": bad_check, "order_id": "m-1"}, headers=shop.headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "invalid_waybill"
    assert "check digit" in wrong.json()["error"]["message"]

    ok = await allocation_client.post(
        "/v1/waybills/manual", json={"carrier": "EMS", "number": good, "order_id": "m-1"}, headers=shop.headers
    )
    assert ok.status_code == 201, ok.text
    again = await allocation_client.post(
        "/v1/waybills/manual", json={"carrier": "EMS", "number": good, "order_id": "m-1"}, headers=shop.headers
    )
    assert again.status_code == 201
    assert again.json()["created"] is False
    elsewhere = await allocation_client.post(
        "/v1/waybills/manual", json={"carrier": "EMS", "number": good, "order_id": "m-9"}, headers=other_shop.headers
    )
    assert elsewhere.status_code == 409
    assert elsewhere.json()["error"]["code"] == "waybill_in_use"
    # A typed number is not ours to hand out: releasing it voids it.
    released = await allocation_client.post(f"/v1/waybills/{good}/release", headers=shop.headers)
    assert released.json()["status"] == "voided"


async def test_low_stock_event_and_auto_replenish(
    env: Env,
    allocation_client: httpx.AsyncClient,
    shop: ShopCreds,
    admin: dict[str, str],
    redis: Any,
) -> None:
    await redis.delete("arq:allocation")
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(5))
    await allocation_client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": 10_000_000}, headers=admin)
    resp = await allocation_client.put(
        "/v1/pools/ZTO", json={"low_stock_threshold": 10, "auto_replenish_package": "ZTO-1000"}, headers=shop.headers
    )
    assert resp.status_code == 200
    assert resp.json()["low_stock"] is True

    from services.allocation.tasks import WorkerSettings, check_low_stock

    async with worker_resources() as res:
        for _ in range(2):  # a second check must not report the same crossing again
            await check_low_stock(worker_ctx(res))
    await run_jobs(WorkerSettings, max_tries=3)
    events = (await allocation_client.get("/v1/pools/events", headers=shop.headers)).json()["data"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("low_stock") == 1
    assert "replenish_ordered" in kinds
    purchases = (await allocation_client.get("/v1/purchases", headers=shop.headers)).json()["data"]
    assert [p["package_id"] for p in purchases] == ["ZTO-1000"]


SHOP_ROUTES = [
    ("GET", "/v1/purchases/{purchase}"),
    ("POST", "/v1/purchases/{purchase}/resync"),
    ("POST", "/v1/purchases/{purchase}/refund"),
    ("POST", "/v1/purchases/{purchase}/extend"),
    ("GET", "/v1/waybills/{number}"),
    ("POST", "/v1/waybills/{number}/release"),
    ("GET", "/v1/shops/{shop}"),
]


async def test_another_shops_key_sees_nothing(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds, admin: dict[str, str]
) -> None:
    await allocation_client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": 10_000_000}, headers=admin)
    purchase = (
        await allocation_client.post(
            "/v1/purchases",
            json={"carrier": "ZTO", "package_id": "ZTO-1000"},
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
    ).json()
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(1))
    number = (await _allocate(allocation_client, shop, "iso-1")).json()["number"]
    ids = {"purchase": purchase["id"], "number": number, "shop": shop.id}
    for method, template in SHOP_ROUTES:
        path = template.format(**ids)
        resp = await allocation_client.request(method, path, headers=other_shop.headers, json={"days": 30})
        assert resp.status_code == 404, (method, path, resp.status_code)
        assert resp.json()["error"]["code"] == "not_found"
    # And the other shop's own views do not include the first shop's data.
    nothing = {"data": [], "has_more": False, "next_cursor": None}
    assert (await allocation_client.get("/v1/purchases", headers=other_shop.headers)).json() == nothing
    assert (await allocation_client.get("/v1/pools", headers=other_shop.headers)).json() == nothing
    assert (await allocation_client.get("/v1/balance", headers=other_shop.headers)).json()["ledger"] == []
    # The number stays allocated to the first shop's order.
    info = (await allocation_client.get(f"/v1/waybills/{number}", headers=shop.headers)).json()
    assert info["status"] == "allocated"


async def test_metrics_count_allocations_and_report_stock(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    from services.allocation.service import pools

    await seed_numbers(env, shop.id, "JT", [f"JT{random.randrange(10**13):013d}" for _ in range(3)])
    await _allocate(allocation_client, shop, "metrics-1", "JT")
    await _allocate(allocation_client, shop, "metrics-1", "JT")
    async with worker_resources() as res, res.transaction() as uow:
        await pools.refresh_stock_gauges(uow, 7)
    text = (await allocation_client.get("/metrics")).text
    assert 'waybill_allocations_total{carrier="JT",outcome="allocated"}' in text
    assert 'waybill_allocations_total{carrier="JT",outcome="repeated"}' in text
    line = next(x for x in text.splitlines() if x.startswith('waybill_pool_available{carrier="JT"}'))
    assert float(line.split()[-1]) >= 2


async def test_the_allocation_route_validates_like_every_route(
    allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    bad = await allocation_client.post(
        "/v1/allocations", json={"carrier": "NOPE", "order_id": ""}, headers=shop.headers
    )
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["error"]["details"]["fields"]}
    assert fields == {"carrier", "order_id"}
    garbage = await allocation_client.post("/v1/allocations", content=b"{", headers=shop.headers)
    assert garbage.status_code == 422
    assert garbage.json()["error"]["code"] == "validation_error"
    anonymous = await allocation_client.post("/v1/allocations", json={"carrier": "ZTO", "order_id": "x"})
    assert anonymous.status_code == 401
    text = (await allocation_client.get("/metrics")).text
    assert 'route="/v1/allocations"' in text


async def test_ten_thousand_numbers_are_stored_in_one_go(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    """A large courier answer is stored whole: one multi-row INSERT of it would pass asyncpg's 32,767
    parameters (7 a row), which failed every purchase of more than 4,681 numbers."""
    numbers = zto_numbers(10_000)
    await seed_numbers(env, shop.id, "ZTO", numbers)
    pools = await allocation_client.get("/v1/pools", headers=shop.headers)
    assert pools.status_code == 200, pools.text
    (zto,) = [p for p in pools.json()["data"] if p["carrier"] == "ZTO"]
    assert zto["counts"]["available"] == 10_000


async def test_the_worker_vacuums_the_waybill_table_on_its_pool(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    """VACUUM cannot run inside a transaction: the job runs it on the hot path's autocommit pool."""
    from services.allocation.tasks import vacuum_waybills

    count = "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = 'allocation' AND relname = 'waybills'"
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(3))
    await _allocate(allocation_client, shop, "vac-1")
    async with worker_resources() as res:
        before = await res.pg.fetchval(count)
        await vacuum_waybills(worker_ctx(res))
        # The statistics reach other backends within a second or so, not at once.
        for _ in range(100):
            if await res.pg.fetchval(count) > before:
                break
            await asyncio.sleep(0.1)
        assert await res.pg.fetchval(count) > before
