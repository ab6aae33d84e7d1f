"""``POST /v1/waybills/batch-mark``: many numbers marked in one call, each answering as the single mark would."""

from __future__ import annotations

import httpx

from tests.integration.allocation_support import seed_numbers, zto_numbers
from tests.integration.conftest import ShopCreds
from tests.support import INTERNAL_KEY, Env, bearer


def _internal(shop: ShopCreds) -> dict[str, str]:
    return bearer(INTERNAL_KEY, shop.id)


async def _allocate(client: httpx.AsyncClient, shop: ShopCreds, orders: list[str]) -> dict[str, str]:
    resp = await client.post(
        "/v1/allocations/batch", json={"carrier": "ZTO", "order_ids": orders}, headers=shop.headers
    )
    assert resp.status_code == 200, resp.text
    return {a["order_id"]: a["number"] for a in resp.json()["allocations"]}


async def _status(client: httpx.AsyncClient, shop: ShopCreds, number: str) -> str:
    return str((await client.get(f"/v1/waybills/{number}", headers=shop.headers)).json()["status"])


async def test_batch_mark_moves_every_number_and_repeating_is_harmless(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(5))
    numbers = await _allocate(allocation_client, shop, [f"bm-{i}" for i in range(5)])
    body = {"status": "shipped", "items": [{"number": n.lower(), "order_id": o} for o, n in numbers.items()]}
    for _ in range(2):
        resp = await allocation_client.post("/v1/waybills/batch-mark", json=body, headers=_internal(shop))
        assert resp.status_code == 200, resp.text
        out = resp.json()
        assert (out["marked"], out["refused"]) == (5, 0)
        assert [r["number"] for r in out["results"]] == [n.upper() for n in numbers.values()]
        assert {r["status"] for r in out["results"]} == {"shipped"}
    for n in numbers.values():
        assert await _status(allocation_client, shop, n) == "shipped"
    # A shipped number released is voided (before collection), as with the single mark; never back to the pool.
    voided = await allocation_client.post(f"/v1/waybills/{next(iter(numbers.values()))}/release", headers=shop.headers)
    assert voided.status_code == 200
    assert voided.json()["status"] == "voided"


async def test_batch_mark_refuses_numbers_one_by_one(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(3))
    await seed_numbers(env, other_shop.id, "ZTO", zto_numbers(1))
    mine = await _allocate(allocation_client, shop, ["bm-a", "bm-b", "bm-c"])
    theirs = (await _allocate(allocation_client, other_shop, ["bm-x"]))["bm-x"]
    shipped = await allocation_client.post(
        f"/v1/waybills/{mine['bm-c']}/mark", json={"status": "shipped"}, headers=_internal(shop)
    )
    assert shipped.status_code == 200
    items = [
        {"number": mine["bm-a"], "order_id": "bm-a"},
        {"number": mine["bm-b"], "order_id": "someone-else"},
        {"number": mine["bm-c"]},
        {"number": theirs},
        {"number": "00000000000000"},
    ]
    resp = await allocation_client.post(
        "/v1/waybills/batch-mark", json={"status": "printed", "items": items}, headers=_internal(shop)
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["marked"], out["refused"]) == (1, 4)
    codes = [r["error_code"] for r in out["results"]]
    assert codes == [None, "conflict", "invalid_transition", "not_found", "not_found"]
    assert out["results"][0]["status"] == "printed"
    assert await _status(allocation_client, shop, mine["bm-a"]) == "printed"
    assert await _status(allocation_client, shop, mine["bm-b"]) == "allocated"
    assert await _status(allocation_client, other_shop, theirs) == "allocated"


async def test_batch_mark_quarantine_records_incidents(
    env: Env, allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    await seed_numbers(env, shop.id, "ZTO", zto_numbers(2))
    numbers = await _allocate(allocation_client, shop, ["bm-q1", "bm-q2"])
    body = {"status": "quarantined", "reason": "marketplace B60", "items": [{"number": n} for n in numbers.values()]}
    resp = await allocation_client.post("/v1/waybills/batch-mark", json=body, headers=_internal(shop))
    assert resp.json()["marked"] == 2
    for n in numbers.values():
        assert await _status(allocation_client, shop, n) == "quarantined"
    pool = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"][0]
    assert pool["counts"]["quarantined"] == 2


async def test_batch_mark_is_for_services_only_and_validated(
    allocation_client: httpx.AsyncClient, shop: ShopCreds
) -> None:
    body = {"status": "printed", "items": [{"number": "123456789012"}]}
    assert (await allocation_client.post("/v1/waybills/batch-mark", json=body, headers=shop.headers)).status_code == 403
    repeated = {"status": "printed", "items": [{"number": "123456789012"}, {"number": " 123456789012 "}]}
    resp = await allocation_client.post("/v1/waybills/batch-mark", json=repeated, headers=_internal(shop))
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"
