"""Recommendation compares provinces under one spelling (the marketplace writes "北京")."""

from __future__ import annotations

from services.shipping.recommend import choose, rank
from tests.fakes.allocation_api import carrier


def test_a_municipality_written_short_is_covered_and_gets_its_transit_time() -> None:
    catalogue = [carrier("ZTO", coverage=["北京市", "上海市"], transit_days={"default": 3, "北京市": 1})]
    options = rank(catalogue, {"ZTO": 500}, "北京")
    assert options[0].covers_destination is True
    assert options[0].usable is True
    assert options[0].transit_days == 1
    assert choose(options, None) is options[0]
