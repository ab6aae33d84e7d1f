"""Courier recommendation, pure: the per-number price read from the catalogue's packages, the score and its
reasons, and the choice between the shop's default and the best option."""

from __future__ import annotations

import pytest

from services.shipping.recommend import DEFAULT_BONUS, choose, price_per_number, rank
from tests.fakes.allocation_api import carrier


def test_the_price_of_a_number_is_the_cheapest_package_on_sale() -> None:
    zto = carrier("ZTO", packages=[(1000, 300_000), (5000, 1_250_000)], inactive_packages=[(10_000, 1_000_000)])
    assert price_per_number(zto) == 250.0  # 5,000 for ¥12,500; the cheaper package is off sale


def test_a_carrier_without_a_package_on_sale_has_no_price() -> None:
    assert price_per_number(carrier("ZTO", packages=[], inactive_packages=[(1000, 300_000)])) is None


def test_every_active_carrier_is_ranked_with_its_reasons() -> None:
    catalogue = [
        carrier("ZTO", packages=[(1000, 280_000)], transit_days={"广东省": 2}),
        carrier("YTO", packages=[(1000, 300_000)], transit_days={"default": 3}),
        carrier("STO", active=False),
    ]
    options = rank(catalogue, {"ZTO": 412, "YTO": 30}, "广东省")
    assert [o.carrier for o in options] == ["ZTO", "YTO"]
    best = options[0]
    assert best.reasons == [
        "¥2.80 per number (cheapest)",
        "covers 广东省",
        "typically 2 day(s) to 广东省 (fastest)",
        "412 numbers in stock",
    ]
    assert (best.price_per_number_cents, best.transit_days, best.available) == (280.0, 2, 412)
    assert options[1].reasons[-1] == "only 30 numbers left"
    assert best.score > options[1].score


def test_a_carrier_that_cannot_ship_comes_last_with_its_reasons() -> None:
    catalogue = [carrier("ZTO", coverage=["浙江省"]), carrier("YTO"), carrier("EMS")]
    options = rank(catalogue, {"ZTO": 100, "YTO": 100}, "广东省")
    assert (options[0].carrier, options[0].usable) == ("YTO", True)
    assert {(o.carrier, o.usable) for o in options[1:]} == {("ZTO", False), ("EMS", False)}
    assert all(o.score < options[0].score for o in options[1:])
    by_code = {o.carrier: o for o in options}
    assert "does not cover 广东省" in by_code["ZTO"].reasons
    assert "no numbers in stock" in by_code["EMS"].reasons


def test_the_shop_default_wins_when_it_can_ship() -> None:
    catalogue = [carrier("ZTO", packages=[(1000, 200_000)]), carrier("YTO", packages=[(1000, 400_000)])]
    plain = {o.carrier: o.score for o in rank(catalogue, {"ZTO": 500, "YTO": 500}, "广东省")}
    options = rank(catalogue, {"ZTO": 500, "YTO": 500}, "广东省", default_carrier="YTO")
    chosen = choose(options, "YTO")
    assert chosen is not None
    assert chosen.carrier == "YTO"
    assert "the shop's default carrier" in chosen.reasons
    assert chosen.score == pytest.approx(plain["YTO"] + DEFAULT_BONUS, abs=1e-4)


def test_the_shop_default_without_stock_gives_way() -> None:
    catalogue = [carrier("ZTO"), carrier("YTO")]
    options = rank(catalogue, {"ZTO": 500}, "广东省", default_carrier="YTO")
    chosen = choose(options, "YTO")
    assert chosen is not None
    assert chosen.carrier == "ZTO"


def test_no_usable_carrier_means_no_choice() -> None:
    assert choose(rank([carrier("ZTO")], {}, "广东省"), None) is None


def test_weights_change_the_order() -> None:
    catalogue = [
        carrier("ZTO", packages=[(1000, 200_000)], transit_days={"default": 4}),
        carrier("YTO", packages=[(1000, 400_000)], transit_days={"default": 1}),
    ]
    stock = {"ZTO": 500, "YTO": 500}
    assert rank(catalogue, stock, "广东省", {"price": 1, "coverage": 0, "transit": 0, "stock": 0})[0].carrier == "ZTO"
    assert rank(catalogue, stock, "广东省", {"price": 0, "coverage": 0, "transit": 1, "stock": 0})[0].carrier == "YTO"
