"""Mainland provinces under one spelling. The marketplace writes municipalities short ("北京"), our
catalogue and most systems write them in full ("北京市"); comparisons go through ``canonical_province``."""

from __future__ import annotations

PROVINCES: tuple[str, ...] = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区",
    "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省",
    "宁夏回族自治区", "新疆维吾尔自治区",
)  # fmt: skip

_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市")


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


_ALIASES = {alias: p for p in PROVINCES for alias in (p, _short(p))}


def canonical_province(name: str) -> str:
    """The full name for any spelling we know ("北京", "北京市", "广西" -> "广西壮族自治区"); others unchanged."""
    cleaned = name.strip()
    return _ALIASES.get(cleaned, _ALIASES.get(_short(cleaned), cleaned))
