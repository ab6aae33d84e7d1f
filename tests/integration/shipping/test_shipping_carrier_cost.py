"""The carrier recommendation ranks by what this shop pays per number: what it paid for the numbers in its
pool (allocation's cost_per_number_cents, a negotiated price included), not the catalogue's cheapest package,
and says so in its reasons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.integration.allocation_support import worker_resources, zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop
from tests.integration.shipping.test_shipping_ship import _paid_order, _ship
from tests.support import ADMIN_KEY, Env, bearer

# ZTO-1000 is 300000 in the catalogue and YTO-1000 290000; YTO-20000 (261 a number) is cheaper than ZTO-20000
# (270): by the catalogue YTO is the cheaper carrier. This shop negotiated ZTO-1000 down to 200000.
NEGOTIATED_ZTO = 200_000


async def _buy(world: World, shop: BoundShop, carrier: str, package: str) -> str:
    resp = await world.allocation.post(
        "/v1/purchases",
        json={"carrier": carrier, "package_id": package},
        headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


async def deliver(purchase_id: str, quantity: int, expires_in: timedelta = timedelta(days=90)) -> None:
    """The courier's numbers stored for the purchase, as the worker stores them (no courier call)."""
    from services.allocation.service.fulfilment import store_issued_numbers

    async with worker_resources() as res, res.transaction() as uow:
        await store_issued_numbers(uow, purchase_id, zto_numbers(quantity), datetime.now(UTC) + expires_in)


async def test_the_recommendation_ranks_by_what_the_shop_paid_for_its_stock(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    admin = bearer(ADMIN_KEY)
    price = await world.allocation.post(
        f"/v1/shops/{shop.id}/prices", json={"package_id": "ZTO-1000", "price_cents": NEGOTIATED_ZTO}, headers=admin
    )
    assert price.status_code == 201, price.text
    await world.allocation.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": 490_000}, headers=admin)
    purchases = [await _buy(world, shop, "ZTO", "ZTO-1000"), await _buy(world, shop, "YTO", "YTO-1000")]
    for purchase_id in purchases:
        await deliver(purchase_id, 1000)
    # Price alone decides here, so that the test shows which price it is.
    weights = {"price": 1.0, "coverage": 0.0, "transit": 0.0, "stock": 0.0}
    settings = await world.shipping.put("/v1/settings", json={"weights": weights}, headers=shop.headers)
    assert settings.status_code == 200, settings.text

    _, order = await _paid_order(world, shop)
    options = (await world.shipping.get(f"/v1/orders/{order['id']}/carrier-options", headers=shop.headers)).json()
    by_code = {o["carrier"]: o for o in options["data"]}
    best = options["data"][0]
    assert (best["carrier"], best["recommended"], best["price_source"]) == ("ZTO", True, "stock")
    assert best["price_per_number_cents"] == NEGOTIATED_ZTO / 1000
    assert best["reasons"][0] == "¥2.00 per number paid for this shop's stock (cheapest)"
    yto = by_code["YTO"]
    assert (yto["price_source"], yto["price_per_number_cents"]) == ("stock", 290.0)
    assert yto["reasons"][0] == "¥2.90 per number paid for this shop's stock"
    # A carrier the shop holds no numbers of is priced by the catalogue (and cannot ship anyway).
    assert by_code["STO"]["price_source"] == "catalogue"
    assert not by_code["STO"]["usable"]

    shipped = await _ship(world, shop, order["id"])  # no carrier given: the recommended one
    assert shipped.status_code == 202, shipped.text
    assert shipped.json()["carrier"] == "ZTO"
