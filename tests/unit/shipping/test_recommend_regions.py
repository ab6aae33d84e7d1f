"""Recommendation compares provinces under one spelling (the marketplace writes "北京")."""

from __future__ import annotations

from services.shipping.allocation_client import CarrierInfo
from services.shipping.recommend import choose, rank


def _carrier(code: str, coverage: list[str]) -> CarrierInfo:
    return CarrierInfo(
        code=code,
        name_zh=code,
        active=True,
        coverage=coverage,
        transit_days={"default": 3, "北京市": 1},
        price_per_number_cents=300,
    )


def test_a_municipality_written_short_is_covered_and_gets_its_transit_time() -> None:
    options = rank([_carrier("ZTO", ["北京市", "上海市"])], {"ZTO": 500}, "北京")
    assert options[0].covers_destination is True
    assert options[0].usable is True
    assert options[0].transit_days == 1
    assert choose(options, None) is options[0]
