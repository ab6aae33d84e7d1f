from __future__ import annotations

import pytest

from shared.regions import PROVINCES, canonical_province


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("北京", "北京市"),
        ("北京市", "北京市"),
        ("上海", "上海市"),
        ("重庆", "重庆市"),
        ("广西", "广西壮族自治区"),
        ("内蒙古", "内蒙古自治区"),
        ("新疆", "新疆维吾尔自治区"),
        (" 浙江省 ", "浙江省"),
        ("浙江", "浙江省"),
        ("Atlantis", "Atlantis"),
    ],
)
def test_every_spelling_maps_to_the_full_name(given: str, expected: str) -> None:
    assert canonical_province(given) == expected


def test_all_31_provinces_are_their_own_canonical_name() -> None:
    assert len(set(PROVINCES)) == 31
    assert all(canonical_province(p) == p for p in PROVINCES)
