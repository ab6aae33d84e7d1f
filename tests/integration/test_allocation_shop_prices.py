"""Negotiated prices per shop: operators set a package's price for a shop over a period; the database refuses
two overlapping periods of one shop and package (however the writes race); a purchase is charged the price in
force when it is made and says which; the shop reads what it would pay in the catalogue; an idempotent
purchase stays idempotent when the price changes between its tries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from runtime.settings import to_asyncpg_dsn
from tests.integration.allocation_support import add_package, run_allocation_jobs
from tests.integration.conftest import ShopCreds
from tests.support import Env

QUANTITY, CATALOGUE, NEGOTIATED = 10, 3000, 2400


@pytest.fixture(autouse=True)
async def _empty_queue(redis: Any) -> None:
    await redis.delete("arq:allocation")


def _at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _price(
    client: httpx.AsyncClient, admin: dict[str, str], shop: ShopCreds, package: str, **fields: Any
) -> httpx.Response:
    body = {"package_id": package, "price_cents": NEGOTIATED, **fields}
    return await client.post(f"/v1/shops/{shop.id}/prices", json=body, headers=admin)


async def _buy(client: httpx.AsyncClient, shop: ShopCreds, package: str, key: str | None = None) -> httpx.Response:
    return await client.post(
        "/v1/purchases",
        json={"carrier": "ZTO", "package_id": package},
        headers={**shop.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def _top_up(client: httpx.AsyncClient, admin: dict[str, str], shop: ShopCreds, cents: int) -> None:
    resp = await client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": cents}, headers=admin)
    assert resp.status_code == 201, resp.text


async def _ledger(client: httpx.AsyncClient, shop: ShopCreds) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await client.get("/v1/balance", headers=shop.headers)).json()["ledger"]
    return entries


def _package_of(carriers: dict[str, Any], package: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in carriers["packages"] if p["id"] == package)
    return found


async def test_a_purchase_is_charged_the_shops_price_in_force_and_says_so(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds, admin: dict[str, str]
) -> None:
    package = await add_package(allocation_client, admin, QUANTITY, CATALOGUE)
    set_ = await _price(allocation_client, admin, shop, package, valid_to=_at(30), note="2027 contract")
    assert set_.status_code == 201, set_.text
    price = set_.json()
    assert (price["price_cents"], price["catalogue_price_cents"], price["in_force"]) == (NEGOTIATED, CATALOGUE, True)

    # The shop sees what it would pay; another shop, and the admin key without a shop, the catalogue.
    mine = _package_of((await allocation_client.get("/v1/carriers/ZTO", headers=shop.headers)).json(), package)
    assert mine["price_cents"] == CATALOGUE
    assert mine["shop_price"]["price_cents"] == NEGOTIATED
    assert (mine["shop_price"]["price_source"], mine["shop_price"]["price_id"]) == ("negotiated", price["id"])
    assert mine["shop_price"]["valid_to"] is not None
    listed = (await allocation_client.get("/v1/carriers", headers=other_shop.headers)).json()["data"]
    theirs = _package_of(next(c for c in listed if c["code"] == "ZTO"), package)
    assert theirs["shop_price"] == {
        "price_cents": CATALOGUE,
        "price_source": "catalogue",
        "price_id": None,
        "valid_from": None,
        "valid_to": None,
    }
    assert (
        _package_of((await allocation_client.get("/v1/carriers/ZTO", headers=admin)).json(), package)["shop_price"]
        is None
    )

    await _top_up(allocation_client, admin, shop, NEGOTIATED)
    await _top_up(allocation_client, admin, other_shop, CATALOGUE)
    bought = await _buy(allocation_client, shop, package)
    assert bought.status_code == 202, bought.text
    body = bought.json()
    assert (body["price_cents"], body["price_source"], body["shop_price_id"]) == (NEGOTIATED, "negotiated", price["id"])
    charge = (await _ledger(allocation_client, shop))[0]
    assert (charge["kind"], charge["amount_cents"], charge["reference"]) == ("purchase", -NEGOTIATED, body["id"])
    assert (
        charge["note"] == f"bought package {package}: {QUANTITY} numbers at the shop's negotiated price #{price['id']}"
    )
    assert charge["reason"].startswith("a package of numbers bought")

    other = (await _buy(allocation_client, other_shop, package)).json()
    assert (other["price_cents"], other["price_source"], other["shop_price_id"]) == (CATALOGUE, "catalogue", None)
    assert (await _ledger(allocation_client, other_shop))[0]["note"] == (
        f"bought package {package}: {QUANTITY} numbers at the catalogue price"
    )

    # The numbers arrive, and the pool's cost per number is what this shop paid for them.
    await run_allocation_jobs()
    pools = (await allocation_client.get("/v1/pools", headers=shop.headers)).json()["data"]
    assert next(p for p in pools if p["carrier"] == "ZTO")["cost_per_number_cents"] == NEGOTIATED / QUANTITY


async def test_outside_its_period_or_revoked_a_price_is_not_charged(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    package = await add_package(allocation_client, admin, QUANTITY, CATALOGUE)
    boundary = _at(10)
    later = await _price(allocation_client, admin, shop, package, valid_from=boundary, valid_to=_at(20))
    past = await _price(allocation_client, admin, shop, package, valid_from=_at(-20), valid_to=_at(-10))
    assert (later.status_code, past.status_code) == (201, 201), (later.text, past.text)
    assert (later.json()["in_force"], past.json()["in_force"]) == (False, False)
    await _top_up(allocation_client, admin, shop, CATALOGUE * 2 + NEGOTIATED)

    outside = (await _buy(allocation_client, shop, package)).json()
    assert (outside["price_cents"], outside["price_source"]) == (CATALOGUE, "catalogue")

    now = await _price(allocation_client, admin, shop, package, valid_from=_at(-1), valid_to=boundary)
    assert now.status_code == 201, now.text  # ends where `later` begins: touching periods do not overlap
    inside = (await _buy(allocation_client, shop, package)).json()
    assert (inside["price_cents"], inside["shop_price_id"]) == (NEGOTIATED, now.json()["id"])

    revoked = await allocation_client.delete(f"/v1/shops/{shop.id}/prices/{now.json()['id']}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert revoked.json()["in_force"] is False
    after = (await _buy(allocation_client, shop, package)).json()
    assert (after["price_cents"], after["price_source"]) == (CATALOGUE, "catalogue")
    # Revoked, its period is free again; it stays listed, as the record of what `inside` was charged.
    again = await _price(allocation_client, admin, shop, package, valid_from=_at(-1), valid_to=_at(5))
    assert again.status_code == 201, again.text
    listed = (await allocation_client.get(f"/v1/shops/{shop.id}/prices", headers=admin)).json()["data"]
    assert {p["id"] for p in listed} == {later.json()["id"], past.json()["id"], now.json()["id"], again.json()["id"]}


async def test_an_overlapping_period_is_refused_naming_the_price_in_the_way(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, other_shop: ShopCreds, admin: dict[str, str]
) -> None:
    package = await add_package(allocation_client, admin, QUANTITY, CATALOGUE)
    first = await _price(allocation_client, admin, shop, package, valid_from=_at(1), valid_to=_at(30))
    assert first.status_code == 201, first.text
    for valid in ({"valid_from": _at(10), "valid_to": _at(40)}, {"valid_from": _at(2)}, {"valid_to": _at(5)}):
        refused = await _price(allocation_client, admin, shop, package, **valid)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["details"]) == (
            "price_overlap",
            {"package_id": package, "price_id": first.json()["id"]},
        )
    # Another shop, or another package, is not in the way.
    assert (await _price(allocation_client, admin, other_shop, package, valid_from=_at(10))).status_code == 201
    second = await add_package(allocation_client, admin, QUANTITY, CATALOGUE)
    assert (await _price(allocation_client, admin, shop, second, valid_from=_at(10))).status_code == 201
    assert (await _price(allocation_client, admin, shop, "NO-SUCH-PACKAGE")).status_code == 404
    backwards = await _price(allocation_client, admin, shop, package, valid_from=_at(50), valid_to=_at(40))
    assert backwards.status_code == 422
    # Operators only.
    assert (await _price(allocation_client, shop.headers, shop, package, valid_from=_at(60))).status_code == 403
    assert (await allocation_client.get(f"/v1/shops/{shop.id}/prices", headers=shop.headers)).status_code == 403


async def test_racing_operators_cannot_both_set_overlapping_prices(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    package = await add_package(allocation_client, admin, QUANTITY, CATALOGUE)
    answers = await asyncio.gather(
        *(_price(allocation_client, admin, shop, package, valid_from=_at(1 + i), valid_to=_at(30)) for i in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
    listed = (await allocation_client.get(f"/v1/shops/{shop.id}/prices", headers=admin)).json()["data"]
    assert len([p for p in listed if p["package_id"] == package]) == 1


async def test_the_database_itself_refuses_an_overlap(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], env: Env
) -> None:
    """Whatever statement tries, and two transactions at once: the second waits for the first, then is refused."""
    package = await add_package(allocation_client, admin, QUANTITY, CATALOGUE)
    insert = (
        "INSERT INTO allocation.shop_prices (shop_id, package_id, price_cents, valid_from, valid_to) "
        "VALUES ($1, $2, 100, now() + $3::interval, now() + interval '30 days')"
    )
    first = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    second = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        one, two = first.transaction(), second.transaction()
        await one.start()
        await two.start()
        await first.execute(insert, shop.id, package, timedelta(days=1))
        blocked = asyncio.create_task(second.execute(insert, shop.id, package, timedelta(days=2)))
        await asyncio.sleep(0.3)
        assert not blocked.done(), "the second writer must wait for the first's lock"
        await one.commit()
        with pytest.raises(asyncpg.exceptions.ExclusionViolationError) as refused:
            await blocked
        assert refused.value.constraint_name == "shop_prices_no_overlap"
        await two.rollback()
    finally:
        await first.close()
        await second.close()
    # An UPDATE that would make two periods overlap is refused too; revoking one frees its period.
    conn = await asyncpg.connect(to_asyncpg_dsn(env.database_url))
    try:
        later = await conn.fetchval(
            "INSERT INTO allocation.shop_prices (shop_id, package_id, price_cents, valid_from) "
            "VALUES ($1, $2, 100, now() + interval '60 days') RETURNING id",
            shop.id,
            package,
        )
        with pytest.raises(asyncpg.exceptions.ExclusionViolationError):
            await conn.execute(
                "UPDATE allocation.shop_prices SET valid_from = now() + interval '10 days' WHERE id = $1", later
            )
        await conn.execute(
            "UPDATE allocation.shop_prices SET revoked_at = now() WHERE shop_id = $1 AND id <> $2", shop.id, later
        )
        await conn.execute(
            "UPDATE allocation.shop_prices SET valid_from = now() + interval '10 days' WHERE id = $1", later
        )
    finally:
        await conn.close()


async def test_a_repeated_purchase_is_the_same_purchase_whatever_the_price_became(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str]
) -> None:
    package = await add_package(allocation_client, admin, QUANTITY, CATALOGUE)
    price = (await _price(allocation_client, admin, shop, package)).json()
    await _top_up(allocation_client, admin, shop, CATALOGUE + NEGOTIATED)
    key = f"idem-{uuid.uuid4().hex}"
    first = await _buy(allocation_client, shop, package, key)
    assert first.status_code == 202, first.text
    await allocation_client.delete(f"/v1/shops/{shop.id}/prices/{price['id']}", headers=admin)
    repeat = await _buy(allocation_client, shop, package, key)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json() == first.json()
    assert (repeat.json()["price_cents"], repeat.json()["price_source"]) == (NEGOTIATED, "negotiated")
    charges = [e for e in await _ledger(allocation_client, shop) if e["kind"] == "purchase"]
    assert len(charges) == 1
