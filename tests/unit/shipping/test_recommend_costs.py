"""The recommendation's price is what the shop pays per number: the cost of its stock (allocation's
cost_per_number_cents) where it has priced stock, the catalogue's cheapest package elsewhere; the reasons say
which."""

from __future__ import annotations

from services.shipping.recommend import choose, rank
from tests.fakes.allocation_api import carrier

# By the catalogue YTO is cheaper (2.80 against 3.00 a number); this shop paid 2.00 a number for its ZTO.
CATALOGUE = [carrier("ZTO", packages=[(1000, 300_000)]), carrier("YTO", packages=[(1000, 280_000)])]
STOCK = {"ZTO": 500, "YTO": 500}
PRICE_ONLY = {"price": 1.0, "coverage": 0.0, "transit": 0.0, "stock": 0.0}


def test_the_cost_of_the_shops_stock_outranks_the_catalogue() -> None:
    by_catalogue = rank(CATALOGUE, STOCK, "广东省", PRICE_ONLY)
    assert by_catalogue[0].carrier == "YTO"
    assert {o.price_source for o in by_catalogue} == {"catalogue"}

    options = rank(CATALOGUE, STOCK, "广东省", PRICE_ONLY, costs={"ZTO": 200.0, "YTO": 276.0})
    chosen = choose(options, None)
    assert chosen is not None
    assert (chosen.carrier, chosen.price_per_number_cents, chosen.price_source) == ("ZTO", 200.0, "stock")
    assert chosen.reasons[0] == "¥2.00 per number paid for this shop's stock (cheapest)"
    assert options[1].reasons[0] == "¥2.76 per number paid for this shop's stock"
    assert options[1].score < chosen.score


def test_a_carrier_without_priced_stock_keeps_the_catalogue_price() -> None:
    options = {o.carrier: o for o in rank(CATALOGUE, {"ZTO": 500}, "广东省", costs={"ZTO": 200.0})}
    assert (options["YTO"].price_source, options["YTO"].price_per_number_cents) == ("catalogue", 280.0)
    assert options["YTO"].reasons[0] == "¥2.80 per number"
    assert not options["YTO"].usable
    # A cost of 0 (numbers credited in full, say) says nothing about what the next ones cost: the catalogue's.
    free = {o.carrier: o for o in rank(CATALOGUE, STOCK, "广东省", costs={"ZTO": 0.0})}
    assert free["ZTO"].price_source == "catalogue"
