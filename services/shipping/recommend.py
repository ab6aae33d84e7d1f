"""Courier recommendation: every carrier scored from price, coverage, transit days and stock, with reasons.

Pure: the catalogue and the shop's stock come in, a ranking goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.shipping.allocation_client import CarrierInfo
from shared.regions import canonical_province

DEFAULT_WEIGHTS = {"price": 0.35, "coverage": 0.25, "transit": 0.25, "stock": 0.15}
LOW_STOCK = 50
DEFAULT_BONUS = 0.05


@dataclass
class CarrierOption:
    carrier: str
    name: str
    score: float
    usable: bool
    price_per_number_cents: float | None
    covers_destination: bool
    transit_days: int | None
    available: int
    is_default: bool
    reasons: list[str] = field(default_factory=list)


def transit_for(info: CarrierInfo, province: str) -> int | None:
    if province in info.transit_days:
        return info.transit_days[province]
    return info.transit_days.get("default")


def rank(
    catalogue: list[CarrierInfo],
    stock: dict[str, int],
    province: str,
    weights: dict[str, float] | None = None,
    default_carrier: str | None = None,
) -> list[CarrierOption]:
    # The marketplace writes "北京", the catalogue "北京市": compare one spelling.
    province = canonical_province(province)
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    total_w = sum(max(0.0, v) for v in w.values()) or 1.0
    active = [c for c in catalogue if c.active]
    prices = [c.price_per_number_cents for c in active if c.price_per_number_cents]
    cheapest = min(prices) if prices else None
    days = [d for c in active if (d := transit_for(c, province)) is not None]
    fastest = min(days) if days else None
    options: list[CarrierOption] = []
    for c in active:
        available = stock.get(c.code, 0)
        covers = not c.coverage or province in c.coverage
        transit = transit_for(c, province)
        price = c.price_per_number_cents
        reasons: list[str] = []
        price_s = (cheapest / price) if (cheapest and price) else 0.0
        if price is not None:
            reasons.append(f"¥{price / 100:.2f} per number" + (" (cheapest)" if price == cheapest else ""))
        else:
            reasons.append("no package on sale")
        cover_s = 1.0 if covers else 0.0
        reasons.append(f"covers {province}" if covers else f"does not cover {province}")
        transit_s = (fastest / transit if transit else 1.0) if (fastest is not None and transit is not None) else 0.0
        if transit is not None:
            reasons.append(f"typically {transit} day(s) to {province}" + (" (fastest)" if transit == fastest else ""))
        stock_s = min(1.0, available / (LOW_STOCK * 4)) if available else 0.0
        if available == 0:
            reasons.append("no numbers in stock")
        elif available < LOW_STOCK:
            reasons.append(f"only {available} numbers left")
        else:
            reasons.append(f"{available} numbers in stock")
        score = (
            w["price"] * price_s + w["coverage"] * cover_s + w["transit"] * transit_s + w["stock"] * stock_s
        ) / total_w
        is_default = c.code == default_carrier
        if is_default:
            score += DEFAULT_BONUS
            reasons.append("the shop's default carrier")
        usable = available > 0 and covers
        if not usable:
            score *= 0.1  # still listed with its reasons, but never ahead of one that can ship
        options.append(
            CarrierOption(
                carrier=c.code,
                name=c.name_zh,
                score=round(score, 4),
                usable=usable,
                price_per_number_cents=price,
                covers_destination=covers,
                transit_days=transit,
                available=available,
                is_default=is_default,
                reasons=reasons,
            )
        )
    options.sort(key=lambda o: (not o.usable, -o.score, o.carrier))
    return options


def choose(options: list[CarrierOption], default_carrier: str | None) -> CarrierOption | None:
    """The shop's default when it can ship this order, else the best usable option."""
    for o in options:
        if o.is_default and o.usable and default_carrier:
            return o
    return next((o for o in options if o.usable), None)
