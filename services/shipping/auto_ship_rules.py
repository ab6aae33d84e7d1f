"""Auto-ship rules (自动发货规则), pure: which of a shop's paid orders each rule takes now, and why it leaves
the others. No I/O: ``service/auto_ship.py`` reads the rules and orders and ships what ``plan`` answers.

The rules are tried in priority order (lower first) and an order is the first matching rule's:
- a held order is no rule's (it may not ship until it is released);
- a rule outside all of its time windows is not running: it takes nothing, and its orders are left to the
  rules after it (a daytime rule and a night rule split the day);
- an order that matches a rule's store, province and weight is that rule's, even while it is younger than the
  rule's ``min_age_minutes`` or beyond its ``max_batch``: it waits for that rule, later rules do not take it
  (a grace period before shipping is not undone by a catch-all rule after it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from shared.regions import PROVINCES, canonical_province

OWN_STORE = "own"  # in a rule's stores: the shop's own orders (REST, channel ``own``)
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# Outside the mainland table (shared.regions): written in full or short, and compared in full.
_SPECIAL = {"香港": "香港特别行政区", "澳门": "澳门特别行政区", "台湾": "台湾省"}
KNOWN_PROVINCES = frozenset(PROVINCES) | frozenset(_SPECIAL.values())
# Why an order is held (orders.held), as the seller reads it; a reason not listed is shown as its code.
_HOLDS = {"address_invalid": "收件地址无效"}


class SkipReason(StrEnum):
    """Why a rule did not take an order (stable codes; the message beside each is for the seller)."""

    HELD = "held"
    RECENTLY_FAILED = "recently_failed"
    TAKEN_BY_RULE = "taken_by_rule"
    OUTSIDE_WINDOW = "outside_window"
    STORE_NOT_IN_LIST = "store_not_in_list"
    PROVINCE_NOT_IN_LIST = "province_not_in_list"
    WEIGHT_OUT_OF_RANGE = "weight_out_of_range"
    TOO_YOUNG = "too_young"
    OVER_MAX_BATCH = "over_max_batch"


def province_key(name: str) -> str:
    """One spelling per province: "浙江", "浙江省" and " 浙江省 " compare equal; "香港" is "香港特别行政区"."""
    full = canonical_province(name)
    return _SPECIAL.get(full, full)


def parse_hhmm(value: str) -> int:
    """Minutes after midnight of "HH:MM" (00:00 to 23:59); ValueError otherwise."""
    found = HHMM.match(value)
    if found is None:
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 23:59)")
    return int(found.group(1)) * 60 + int(found.group(2))


@dataclass(frozen=True)
class Window:
    """From ``start`` until (not including) ``end``, minutes after midnight in the shop's time zone. ``end`` at
    or before ``start``: the window crosses midnight (22:00 to 02:00 is the evening and the next morning).
    ``days`` are the ISO weekdays (1 Monday .. 7 Sunday) the window starts on; empty: every day."""

    start: int
    end: int
    days: frozenset[int] = frozenset()

    @classmethod
    def of(cls, start: str, end: str, days: Iterable[int] = ()) -> Window:
        return cls(parse_hhmm(start), parse_hhmm(end), frozenset(days))

    def _starts_on(self, weekday: int) -> bool:
        return not self.days or weekday in self.days

    def contains(self, local: datetime) -> bool:
        minute, weekday = local.hour * 60 + local.minute, local.isoweekday()
        if self.start < self.end:
            return self.start <= minute < self.end and self._starts_on(weekday)
        if minute >= self.start:
            return self._starts_on(weekday)
        # The morning part belongs to the window that started the evening before.
        return minute < self.end and self._starts_on((weekday - 2) % 7 + 1)


@dataclass(frozen=True)
class Conditions:
    provinces: frozenset[str] = frozenset()  # province_key of each; empty: any
    weight_min_g: int | None = None  # inclusive; None: no lower bound
    weight_max_g: int | None = None  # inclusive; None: no upper bound
    stores: frozenset[str] = frozenset()  # store ids and OWN_STORE; empty: any
    windows: tuple[Window, ...] = ()  # empty: always

    def running(self, local: datetime) -> bool:
        return not self.windows or any(w.contains(local) for w in self.windows)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    priority: int
    conditions: Conditions = Conditions()
    min_age_minutes: int = 0
    max_batch: int = 500


@dataclass(frozen=True)
class Candidate:
    """A paid order as the rules read it."""

    id: str
    province: str  # the receiver's, as the order has it
    weight_g: int
    store: str  # its store id, or OWN_STORE
    paid_at: datetime
    held: str | None = None  # why it may not ship (orders.held)
    failed_at: datetime | None = None  # its last batch failure, when recent enough to wait before trying again


@dataclass(frozen=True)
class Skipped:
    order_id: str
    reason: SkipReason
    message: str
    rule_id: str | None = None  # TAKEN_BY_RULE: the rule that has it


@dataclass
class RulePlan:
    rule: Rule
    running: bool
    taken: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _grams(value: int | None) -> str:
    return "不限" if value is None else f"{value} 克"


def _unmatched(rule: Rule, order: Candidate) -> Skipped | None:
    """Why the order is not this rule's by what it is (store, province, weight); None: it is."""
    c = rule.conditions
    if c.stores and order.store not in c.stores:
        where = "自有渠道订单" if order.store == OWN_STORE else f"店铺 {order.store}"
        return Skipped(order.id, SkipReason.STORE_NOT_IN_LIST, f"{where}不在规则的店铺列表中")
    if c.provinces and province_key(order.province) not in c.provinces:
        return Skipped(order.id, SkipReason.PROVINCE_NOT_IN_LIST, f"收件省份 {order.province} 不在规则的省份列表中")
    low, high = c.weight_min_g, c.weight_max_g
    if (low is not None and order.weight_g < low) or (high is not None and order.weight_g > high):
        message = f"重量 {order.weight_g} 克不在 {_grams(low)} 至 {_grams(high)} 之间"
        return Skipped(order.id, SkipReason.WEIGHT_OUT_OF_RANGE, message)
    return None


def plan(rules: Sequence[Rule], orders: Sequence[Candidate], now: datetime, zone: tzinfo) -> list[RulePlan]:
    """What each rule takes now (in priority order; ties in the order given) and why it leaves the rest.
    ``orders`` oldest first: a rule that reaches its ``max_batch`` takes the oldest."""
    local = now.astimezone(zone)
    owner: dict[str, Rule] = {}
    plans = []
    for rule in sorted(rules, key=lambda r: r.priority):
        p = RulePlan(rule, rule.conditions.running(local))
        young_after = now - timedelta(minutes=rule.min_age_minutes)
        for order in orders:
            skipped = _skip(rule, p, order, owner, young_after)
            if skipped is None:
                p.taken.append(order.id)
            else:
                p.skipped.append(skipped)
        plans.append(p)
    return plans


def _skip(rule: Rule, p: RulePlan, order: Candidate, owner: dict[str, Rule], young_after: datetime) -> Skipped | None:
    if order.held:
        why = _HOLDS.get(order.held, order.held)
        return Skipped(order.id, SkipReason.HELD, f"订单已挂起（{why}），解除后才会发货")
    if order.failed_at is not None:
        return Skipped(order.id, SkipReason.RECENTLY_FAILED, "上次发货失败，稍后再自动重试")
    earlier = owner.get(order.id)
    if earlier is not None:
        return Skipped(order.id, SkipReason.TAKEN_BY_RULE, f"已归优先的规则「{earlier.name}」", earlier.id)
    if not p.running:
        return Skipped(order.id, SkipReason.OUTSIDE_WINDOW, "现在不在规则的发货时间段内")
    unmatched = _unmatched(rule, order)
    if unmatched is not None:
        return unmatched
    owner[order.id] = rule
    if order.paid_at > young_after:
        return Skipped(order.id, SkipReason.TOO_YOUNG, f"付款未满 {rule.min_age_minutes} 分钟")
    if len(p.taken) >= rule.max_batch:
        return Skipped(order.id, SkipReason.OVER_MAX_BATCH, f"超出单批上限 {rule.max_batch} 单，下一轮再发")
    return None


@dataclass(frozen=True)
class SkipSummary:
    """A bounded record of what a rule left: the count per reason, and the first ``limit`` orders."""

    total: int
    by_reason: dict[str, int]
    first: list[Skipped]


def summarise(skipped: Sequence[Skipped], limit: int = 200) -> SkipSummary:
    counts = Counter(s.reason.value for s in skipped)
    return SkipSummary(len(skipped), dict(sorted(counts.items())), list(skipped[:limit]))
