"""Auto-ship rule matching (services.shipping.auto_ship_rules): provinces with or without their suffix, weight
bounds, stores and the shop's own orders, time windows (across midnight, on given days) in the shop's zone,
the minimum age, and the first matching rule in priority order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.shipping.auto_ship_rules import (
    OWN_STORE,
    Candidate,
    Conditions,
    Rule,
    SkipReason,
    Window,
    parse_hhmm,
    plan,
    province_key,
    summarise,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 2026-12-09, 10:30 in Shanghai.
NOW = datetime(2026, 12, 9, 10, 30, tzinfo=SHANGHAI).astimezone(UTC)


def _order(oid: str = "o1", **kw: object) -> Candidate:
    values: dict[str, object] = {
        "province": "浙江省",
        "weight_g": 1000,
        "store": OWN_STORE,
        "paid_at": NOW - timedelta(hours=2),
    }
    values.update(kw)
    return Candidate(oid, **values)  # type: ignore[arg-type]


def _rule(rid: str = "r1", priority: int = 10, **kw: object) -> Rule:
    extra = {k: kw.pop(k) for k in ("min_age_minutes", "max_batch") if k in kw}
    return Rule(rid, f"规则{rid}", priority, Conditions(**kw), **extra)  # type: ignore[arg-type]


def _one(rule: Rule, order: Candidate, now: datetime = NOW) -> SkipReason | None:
    (p,) = plan([rule], [order], now, SHANGHAI)
    if p.taken:
        return None
    (s,) = p.skipped
    return s.reason


@pytest.mark.parametrize(
    ("rule_province", "order_province"),
    [
        ("浙江", "浙江省"),
        ("浙江省", "浙江"),
        ("北京", "北京市"),
        ("上海市", "上海"),
        ("广西", "广西壮族自治区"),
        ("内蒙古自治区", "内蒙古"),
        ("新疆", "新疆维吾尔自治区"),
        ("香港", "香港特别行政区"),
        (" 江苏省", "江苏"),
    ],
)
def test_provinces_match_with_or_without_their_suffix(rule_province: str, order_province: str) -> None:
    rule = _rule(provinces=frozenset({province_key(rule_province)}))
    assert _one(rule, _order(province=order_province)) is None


def test_a_province_not_in_the_list_is_skipped_and_no_list_means_any() -> None:
    rule = _rule(provinces=frozenset({province_key("江苏"), province_key("上海")}))
    assert _one(rule, _order(province="浙江省")) is SkipReason.PROVINCE_NOT_IN_LIST
    assert _one(_rule(), _order(province="西藏自治区")) is None


@pytest.mark.parametrize(
    ("low", "high", "weight", "taken"),
    [
        (500, 2000, 500, True),  # both bounds inclusive
        (500, 2000, 2000, True),
        (500, 2000, 499, False),
        (500, 2000, 2001, False),
        (None, 2000, 0, True),  # no lower bound
        (3000, None, 50_000, True),  # no upper bound
        (3000, None, 2999, False),
    ],
)
def test_weight_bounds_are_inclusive_and_optional(low: int | None, high: int | None, weight: int, taken: bool) -> None:
    reason = _one(_rule(weight_min_g=low, weight_max_g=high), _order(weight_g=weight))
    assert reason is (None if taken else SkipReason.WEIGHT_OUT_OF_RANGE)


def test_stores_name_marketplace_stores_and_own_for_the_shops_own_orders() -> None:
    taobao_only = _rule(stores=frozenset({"sto_a"}))
    assert _one(taobao_only, _order(store="sto_a")) is None
    assert _one(taobao_only, _order(store="sto_b")) is SkipReason.STORE_NOT_IN_LIST
    assert _one(taobao_only, _order(store=OWN_STORE)) is SkipReason.STORE_NOT_IN_LIST
    own_only = _rule(stores=frozenset({OWN_STORE}))
    assert _one(own_only, _order(store=OWN_STORE)) is None
    assert _one(own_only, _order(store="sto_a")) is SkipReason.STORE_NOT_IN_LIST
    assert _one(_rule(), _order(store="sto_b")) is None  # no list: any store


def _at(day: int, hhmm: str) -> datetime:
    """Shanghai time on 2026-12-(7 + day - 1): day 1 is Monday the 7th."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2026, 12, 6 + day, hour, minute, tzinfo=SHANGHAI)


def test_a_window_within_a_day_is_half_open() -> None:
    w = Window.of("09:00", "17:30")
    assert w.contains(_at(3, "09:00"))
    assert w.contains(_at(3, "17:29"))
    assert not w.contains(_at(3, "17:30"))
    assert not w.contains(_at(3, "08:59"))


def test_a_window_across_midnight_covers_the_evening_and_the_next_morning() -> None:
    w = Window.of("22:00", "02:00", days=[5])  # Friday night
    assert w.contains(_at(5, "22:00"))
    assert w.contains(_at(5, "23:59"))
    assert w.contains(_at(6, "00:00"))  # Saturday morning: the window started on Friday
    assert w.contains(_at(6, "01:59"))
    assert not w.contains(_at(6, "02:00"))
    assert not w.contains(_at(5, "01:00"))  # Friday morning belongs to Thursday night
    assert not w.contains(_at(6, "22:30"))
    until_midnight = Window.of("20:00", "00:00")
    assert until_midnight.contains(_at(2, "23:59"))
    assert not until_midnight.contains(_at(3, "00:00"))


def test_sunday_night_runs_into_monday_morning() -> None:
    w = Window.of("23:00", "06:00", days=[7])
    assert w.contains(_at(1, "05:00"))  # Monday the 7th, from Sunday the 6th
    assert not w.contains(_at(2, "05:00"))


def test_days_limit_a_window_and_no_days_mean_every_day() -> None:
    weekdays = Window.of("09:00", "18:00", days=[1, 2, 3, 4, 5])
    assert weekdays.contains(_at(3, "10:00"))
    assert not weekdays.contains(_at(6, "10:00"))
    assert Window.of("09:00", "18:00").contains(_at(7, "10:00"))


def test_windows_are_read_in_the_shops_time_zone() -> None:
    rule = _rule(windows=(Window.of("09:00", "12:00"),))
    (p,) = plan([rule], [_order()], NOW, SHANGHAI)  # 10:30 in Shanghai
    assert p.running
    assert p.taken == ["o1"]
    (p,) = plan([rule], [_order()], NOW, ZoneInfo("America/New_York"))  # 21:30 the evening before
    assert not p.running
    assert [s.reason for s in p.skipped] == [SkipReason.OUTSIDE_WINDOW]


def test_several_windows_any_of_them_will_do() -> None:
    rule = _rule(windows=(Window.of("06:00", "08:00"), Window.of("10:00", "11:00")))
    assert _one(rule, _order()) is None


def test_an_order_is_taken_once_it_has_been_paid_long_enough() -> None:
    rule = _rule(min_age_minutes=30)
    assert _one(rule, _order(paid_at=NOW - timedelta(minutes=29))) is SkipReason.TOO_YOUNG
    assert _one(rule, _order(paid_at=NOW - timedelta(minutes=30))) is None


def test_held_and_recently_failed_orders_are_no_rules() -> None:
    rules = [_rule("r1"), _rule("r2", priority=20)]
    orders = [_order("held", held="address_invalid"), _order("failed", failed_at=NOW - timedelta(minutes=5))]
    first, second = plan(rules, orders, NOW, SHANGHAI)
    for p in (first, second):
        assert p.taken == []
        assert [(s.order_id, s.reason) for s in p.skipped] == [
            ("held", SkipReason.HELD),
            ("failed", SkipReason.RECENTLY_FAILED),
        ]
    assert "收件地址无效" in first.skipped[0].message


def test_rules_run_in_priority_order_and_the_first_match_takes_the_order() -> None:
    heavy = _rule("heavy", priority=20, weight_min_g=5000)
    any_ = _rule("any", priority=30)
    zhejiang = _rule("zj", priority=10, provinces=frozenset({province_key("浙江")}))
    orders = [_order("zj-light"), _order("zj-heavy", weight_g=8000), _order("gd-heavy", province="广东", weight_g=8000)]
    plans = plan([heavy, any_, zhejiang], orders, NOW, SHANGHAI)
    assert [p.rule.id for p in plans] == ["zj", "heavy", "any"]
    assert {p.rule.id: p.taken for p in plans} == {
        "zj": ["zj-light", "zj-heavy"],
        "heavy": ["gd-heavy"],
        "any": [],
    }
    taken_by = {(s.order_id, s.rule_id) for s in plans[2].skipped}
    assert taken_by == {("zj-light", "zj"), ("zj-heavy", "zj"), ("gd-heavy", "heavy")}
    assert all(s.reason is SkipReason.TAKEN_BY_RULE for s in plans[2].skipped)


def test_equal_priorities_keep_the_order_given() -> None:
    first, second = plan([_rule("a", 5), _rule("b", 5)], [_order()], NOW, SHANGHAI)
    assert (first.rule.id, first.taken, second.taken) == ("a", ["o1"], [])


def test_a_rule_outside_its_window_leaves_its_orders_to_the_next_rule() -> None:
    day = _rule("day", 10, windows=(Window.of("09:00", "10:00"),))
    rest = _rule("rest", 20)
    day_plan, rest_plan = plan([day, rest], [_order()], NOW, SHANGHAI)
    assert not day_plan.running
    assert rest_plan.taken == ["o1"]


def test_an_order_too_young_or_over_the_batch_waits_for_its_rule() -> None:
    """It matched the first rule: a later catch-all does not take it meanwhile."""
    graceful = _rule("grace", 10, min_age_minutes=60, max_batch=1)
    catch_all = _rule("all", 20)
    orders = [
        _order("old-1", paid_at=NOW - timedelta(hours=3)),
        _order("old-2", paid_at=NOW - timedelta(hours=2)),
        _order("new", paid_at=NOW - timedelta(minutes=5)),
    ]
    grace, rest = plan([graceful, catch_all], orders, NOW, SHANGHAI)
    assert grace.taken == ["old-1"]
    assert [(s.order_id, s.reason) for s in grace.skipped] == [
        ("old-2", SkipReason.OVER_MAX_BATCH),
        ("new", SkipReason.TOO_YOUNG),
    ]
    assert rest.taken == []
    assert {s.rule_id for s in rest.skipped} == {"grace"}


def test_the_skipped_summary_is_bounded_and_counts_every_reason() -> None:
    rule = _rule(weight_max_g=10)
    orders = [_order(f"o{i}", held="address_invalid" if i % 10 == 0 else None) for i in range(500)]
    (p,) = plan([rule], orders, NOW, SHANGHAI)
    summary = summarise(p.skipped, limit=200)
    assert summary.total == 500
    assert summary.by_reason == {"held": 50, "weight_out_of_range": 450}
    assert len(summary.first) == 200
    assert summary.first[0].order_id == "o0"


@pytest.mark.parametrize("bad", ["24:00", "9:00", "09:60", "0900", "", "09:00:00", "ab:cd"])
def test_times_of_day_are_hh_mm(bad: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(bad)
    assert parse_hhmm("23:59") == 23 * 60 + 59
