"""Purchases: idempotent, paid up front, fulfilled by the worker, refunded when the courier fails."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from runtime.db import make_engine, make_sessionmaker, transaction
from services.allocation.service import fulfilment
from tests.integration.allocation_support import FakeCourier, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.support import Env, run_jobs

GATEWAY = "http://courier.test/courier/gateway"
PACKAGE = {"carrier": "ZTO", "package_id": "ZTO-1000"}


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    # Jobs other tests queued and never ran would otherwise run against this test's courier.
    await redis.delete("arq:allocation")


async def _price(client: httpx.AsyncClient, shop: ShopCreds, package_id: str = "ZTO-1000") -> int:
    carriers = (await client.get("/v1/carriers/ZTO", headers=shop.headers)).json()
    return int(next(p["price_cents"] for p in carriers["packages"] if p["id"] == package_id))


async def _topup(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], cents: int) -> None:
    resp = await client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": cents}, headers=admin)
    assert resp.status_code == 201, resp.text


async def _buy(
    client: httpx.AsyncClient, shop: ShopCreds, key: str | None = None, body: dict[str, Any] = PACKAGE
) -> httpx.Response:
    return await client.post(
        "/v1/purchases", json=body, headers={**shop.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    )


async def _work() -> None:
    from services.allocation.tasks import WorkerSettings

    await run_jobs(WorkerSettings, max_tries=3)


async def _balance(client: httpx.AsyncClient, shop: ShopCreds) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/v1/balance", headers=shop.headers)).json()
    return body


async def test_purchase_debits_then_worker_stores_numbers(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price + 500)
    courier = FakeCourier()
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=courier)
        resp = await _buy(allocation_client, shop)
        assert resp.status_code == 202
        purchase = resp.json()
        assert purchase["status"] == "pending"
        assert (await _balance(allocation_client, shop))["balance_cents"] == 500
        await _work()
    done = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()
    assert done["status"] == "completed"
    assert done["numbers_received"] == 1000
    pools = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"]
    assert pools[0]["carrier"] == "ZTO"
    assert pools[0]["counts"]["available"] == 1000


async def test_idempotency_key_replay_returns_the_first_result(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price * 3)
    first = await _buy(allocation_client, shop, "key-replay-0001")
    again = await _buy(allocation_client, shop, "key-replay-0001")
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert (await _balance(allocation_client, shop))["balance_cents"] == price * 2

    other = await _buy(allocation_client, shop, "key-replay-0001", {"carrier": "ZTO", "package_id": "ZTO-5000"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"

    concurrent = await asyncio.gather(*(_buy(allocation_client, shop, "key-replay-0002") for _ in range(10)))
    assert len({r.json()["id"] for r in concurrent}) == 1
    assert (await _balance(allocation_client, shop))["balance_cents"] == price


async def test_missing_idempotency_key_is_refused(allocation_client: httpx.AsyncClient, shop: ShopCreds) -> None:
    resp = await allocation_client.post("/v1/purchases", json=PACKAGE, headers=shop.headers)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["fields"][0]["field"] == "Idempotency-Key"


async def test_concurrent_purchases_never_overdraw(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price * 3 + price // 2)
    answers = await asyncio.gather(*(_buy(allocation_client, shop) for _ in range(10)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * 3 + [402] * 7
    refused = next(a for a in answers if a.status_code == 402).json()["error"]
    assert refused["code"] == "insufficient_balance"
    balance = await _balance(allocation_client, shop)
    assert balance["balance_cents"] == price // 2
    assert balance["ledger_total_cents"] == balance["balance_cents"]
    listed = (await allocation_client.get("/v1/purchases", headers=shop.headers)).json()
    assert (len(listed["data"]), listed["has_more"]) == (3, False)


async def test_courier_500_then_200_completes_once(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price)
    courier = FakeCourier()
    courier.failures = [httpx.Response(500, json={"success": False, "errorCode": "S01", "errorMsg": "busy"})]
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=courier)
        purchase = (await _buy(allocation_client, shop)).json()
        await _work()
    done = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()
    assert done["status"] == "completed"
    assert done["attempts"] == 2
    assert done["numbers_received"] == 1000
    assert courier.calls.count("TMS_WAYBILL_GET") == 2
    balance = await _balance(allocation_client, shop)
    assert balance["balance_cents"] == 0
    assert [e["kind"] for e in balance["ledger"]] == ["purchase", "topup"]


async def test_courier_down_for_good_fails_and_refunds(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price)
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(return_value=httpx.Response(503, text="courier down"))
        purchase = (await _buy(allocation_client, shop)).json()
        await _work()
    done = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()
    assert done["status"] == "failed"
    assert "503" in done["error"] or "down" in done["error"]
    balance = await _balance(allocation_client, shop)
    assert balance["balance_cents"] == price
    assert [e["kind"] for e in balance["ledger"]] == ["purchase_refund", "purchase", "topup"]
    assert balance["ledger_total_cents"] == price


async def test_duplicate_number_from_courier_is_quarantined_and_credited_to_both(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds, admin: dict[str, str], env: Env
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price)
    await _topup(allocation_client, other_shop, admin, price)
    shared_numbers = zto_numbers(1000)
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=FakeCourier(lambda n: list(shared_numbers[:n])))
        await _buy(allocation_client, shop)
        await _work()
        # A faulty courier issues ten of the same numbers to another shop.
        mock.post(GATEWAY).mock(side_effect=FakeCourier(lambda n: shared_numbers[:10] + zto_numbers(n - 10)))
        second = (await _buy(allocation_client, other_shop)).json()
        await _work()
    done = (await allocation_client.get(f"/v1/purchases/{second['id']}", headers=other_shop.headers)).json()
    assert done["numbers_quarantined"] == 10
    first_pool = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"][0]
    other_pool = (await allocation_client.get("/v1/pools", headers=other_shop.headers)).json()["data"][0]
    assert other_pool["counts"]["available"] == 990
    # The first shop's copies can no longer be trusted either: taken out of its pool.
    assert first_pool["counts"]["quarantined"] == 10
    assert first_pool["counts"]["available"] == 990
    # Neither shop pays for a number it cannot use: each is credited ten numbers at the price it paid.
    for who in (shop, other_shop):
        balance = await _balance(allocation_client, who)
        credits = [e for e in balance["ledger"] if e["kind"] == "number_issued_twice"]
        assert [c["amount_cents"] for c in credits] == [price * 10 // 1000]
        assert balance["balance_cents"] == price * 10 // 1000
        assert balance["ledger_total_cents"] == balance["balance_cents"]
    assert done["numbers_credited"] == 10
    # The courier's answer stored again (a resync) credits nothing twice.
    engine = make_engine(env.database_url, pool_size=1)
    try:
        async with transaction(make_sessionmaker(engine), None) as uow:
            await fulfilment.store_issued_numbers(
                uow, second["id"], shared_numbers[:10], datetime.now(UTC) + timedelta(days=90)
            )
    finally:
        await engine.dispose()
    for who in (shop, other_shop):
        again = await _balance(allocation_client, who)
        assert len([e for e in again["ledger"] if e["kind"] == "number_issued_twice"]) == 1


@pytest.mark.parametrize("quantity_used", [0, 250])
async def test_refund_arithmetic(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], quantity_used: int
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price)
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=FakeCourier())
        purchase = (await _buy(allocation_client, shop)).json()
        await _work()
        if quantity_used:
            ids = [f"r-{i}" for i in range(quantity_used)]
            resp = await allocation_client.post(
                "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": ids}, headers=shop.headers
            )
            assert resp.status_code == 200
        refund = await allocation_client.post(f"/v1/purchases/{purchase['id']}/refund", headers=shop.headers)
        assert refund.status_code == 200
        again = await allocation_client.post(f"/v1/purchases/{purchase['id']}/refund", headers=shop.headers)
        await _work()  # tells the courier the numbers will not be used
    unused = 1000 - quantity_used
    assert refund.json()["refunded_quantity"] == unused
    assert refund.json()["refunded_cents"] == price * unused // 1000
    assert again.json()["refunded_cents"] == 0
    balance = await _balance(allocation_client, shop)
    assert balance["balance_cents"] == price * unused // 1000
    assert balance["ledger_total_cents"] == balance["balance_cents"]
    pool = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"][0]
    assert pool["counts"]["voided"] == unused
    assert pool["counts"].get("available", 0) == 0


async def test_extend_charges_a_fee_and_pushes_back_expiry(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price * 2)
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=FakeCourier())
        purchase = (await _buy(allocation_client, shop)).json()
        await _work()
    before = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()
    resp = await allocation_client.post(
        f"/v1/purchases/{purchase['id']}/extend", json={"days": 45}, headers=shop.headers
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    carrier = (await allocation_client.get("/v1/carriers/ZTO", headers=shop.headers)).json()
    per_30 = next(p for p in carrier["packages"] if p["id"] == "ZTO-1000")["extension_fee_cents_per_30_days"]
    assert body["fee_cents"] == -(-per_30 * 45 // 30)
    assert body["numbers_extended"] == 1000
    assert body["balance_cents"] == price - body["fee_cents"]
    from datetime import datetime, timedelta

    assert datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(before["expires_at"]) == timedelta(
        days=45
    )


async def test_resync_stores_numbers_that_never_arrived(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    price = await _price(allocation_client, shop)
    await _topup(allocation_client, shop, admin, price)
    courier = FakeCourier()
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=courier)
        purchase = (await _buy(allocation_client, shop)).json()
        # The courier issued the numbers but our worker never saw the answer.
        courier.issued[purchase["id"]] = zto_numbers(1000)
        from redis.asyncio import Redis

        from tests.support import base_redis_url

        r = Redis.from_url(base_redis_url())
        await r.flushdb()
        await r.aclose()
        resp = await allocation_client.post(f"/v1/purchases/{purchase['id']}/resync", headers=shop.headers)
        assert resp.status_code == 202
        await _work()
    done = (await allocation_client.get(f"/v1/purchases/{purchase['id']}", headers=shop.headers)).json()
    assert done["status"] == "completed"
    assert done["numbers_received"] == 1000
    assert "TMS_WAYBILL_QUERY_BY_OBJECT" in courier.calls
