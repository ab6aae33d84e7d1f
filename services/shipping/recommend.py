"""Courier recommendation: every carrier scored from price, coverage, transit days and stock, with reasons.

The price of a carrier is what this shop pays per number of it: what it paid for the numbers in its pool
(allocation's ``cost_per_number_cents``, its purchases' prices, negotiated or not), and for a carrier it has no
priced stock of, the catalogue's cheapest package.

Pure: the catalogue, the shop's stock and what it cost come in, a ranking goes out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shared.catalogue import CarrierOut
from shared.regions import canonical_province

DEFAULT_WEIGHTS = {"price": 0.35, "coverage": 0.25, "transit": 0.25, "stock": 0.15}
LOW_STOCK = 50
DEFAULT_BONUS = 0.05
# An option that cannot ship keeps its reasons in the list, scored far below any that can.
UNUSABLE_FACTOR = 0.1


@dataclass
class CarrierOption:
    carrier: str
    name: str
    score: float
    usable: bool
    price_per_number_cents: float | None
    # "stock": what the shop paid for the numbers in its pool; "catalogue": the cheapest package on sale.
    price_source: str
    covers_destination: bool
    transit_days: int | None
    available: int
    is_default: bool
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Field:
    """What every option is compared with: the cheapest price and the fastest transit to the province."""

    province: str
    cheapest: float | None
    fastest: int | None


def price_per_number(carrier: CarrierOut) -> float | None:
    """The lowest price of one number among the carrier's packages on sale, in cents (None: none on sale)."""
    prices = [p.price_cents / p.quantity for p in carrier.packages if p.active]
    return min(prices) if prices else None


def transit_for(carrier: CarrierOut, province: str) -> int | None:
    if province in carrier.transit_days:
        return carrier.transit_days[province]
    return carrier.transit_days.get("default")


@dataclass(frozen=True)
class _Price:
    cents: float | None
    source: str  # CarrierOption.price_source


def _price(c: CarrierOut, costs: Mapping[str, float]) -> _Price:
    """What the shop pays per number of ``c``: its stock's cost when it has priced stock, else the catalogue's."""
    cost = costs.get(c.code.value)
    if cost is not None and cost > 0:
        return _Price(cost, "stock")
    return _Price(price_per_number(c), "catalogue")


def rank(
    catalogue: Sequence[CarrierOut],
    stock: Mapping[str, int],
    province: str,
    weights: Mapping[str, float] | None = None,
    default_carrier: str | None = None,
    costs: Mapping[str, float] | None = None,
) -> list[CarrierOption]:
    """``costs``: per carrier, what the shop paid per number of its available stock (allocation's pools)."""
    # The marketplace writes "北京", the catalogue "北京市": compare one spelling.
    province = canonical_province(province)
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    active = [c for c in catalogue if c.active]
    priced = {c.code: _price(c, costs or {}) for c in active}
    prices = [p.cents for p in priced.values() if p.cents]
    days = [d for c in active if (d := transit_for(c, province)) is not None]
    compared = _Field(province, min(prices) if prices else None, min(days) if days else None)
    options = [_option(c, stock.get(c.code, 0), priced[c.code], compared, w, default_carrier) for c in active]
    options.sort(key=lambda o: (not o.usable, -o.score, o.carrier))
    return options


def _option(
    c: CarrierOut,
    available: int,
    priced: _Price,
    compared: _Field,
    w: Mapping[str, float],
    default_carrier: str | None,
) -> CarrierOption:
    province = compared.province
    covers = not c.coverage or province in c.coverage
    transit = transit_for(c, province)
    price = priced.cents
    reasons = [
        _price_reason(priced, compared.cheapest),
        f"covers {province}" if covers else f"does not cover {province}",
    ]
    if transit is not None:
        reasons.append(
            f"typically {transit} day(s) to {province}" + (" (fastest)" if transit == compared.fastest else "")
        )
    reasons.append(_stock_reason(available))
    parts = {
        "price": (compared.cheapest / price) if (compared.cheapest and price) else 0.0,
        "coverage": 1.0 if covers else 0.0,
        "transit": _transit_score(transit, compared.fastest),
        "stock": min(1.0, available / (LOW_STOCK * 4)) if available else 0.0,
    }
    total_w = sum(max(0.0, v) for v in w.values()) or 1.0
    score = sum(w[k] * v for k, v in parts.items()) / total_w
    is_default = c.code == default_carrier
    if is_default:
        score += DEFAULT_BONUS
        reasons.append("the shop's default carrier")
    usable = available > 0 and covers
    if not usable:
        score *= UNUSABLE_FACTOR
    return CarrierOption(
        carrier=c.code.value,
        name=c.name_zh,
        score=round(score, 4),
        usable=usable,
        price_per_number_cents=price,
        price_source=priced.source,
        covers_destination=covers,
        transit_days=transit,
        available=available,
        is_default=is_default,
        reasons=reasons,
    )


def _price_reason(priced: _Price, cheapest: float | None) -> str:
    price = priced.cents
    if price is None:
        return "no package on sale"
    paid = " paid for this shop's stock" if priced.source == "stock" else ""
    return f"¥{price / 100:.2f} per number{paid}" + (" (cheapest)" if price == cheapest else "")


def _transit_score(transit: int | None, fastest: int | None) -> float:
    if fastest is None or transit is None:
        return 0.0
    return fastest / transit if transit else 1.0


def _stock_reason(available: int) -> str:
    if available == 0:
        return "no numbers in stock"
    if available < LOW_STOCK:
        return f"only {available} numbers left"
    return f"{available} numbers in stock"


def choose(options: list[CarrierOption], default_carrier: str | None) -> CarrierOption | None:
    """The shop's default when it can ship this order, else the best usable option."""
    for o in options:
        if o.is_default and o.usable and default_carrier:
            return o
    return next((o for o in options if o.usable), None)
