"""Voids before collection as plain rules: what a policy credits, the price paid per number, what the courier's
answer means, and that a voided number is final in the lifecycle."""

from __future__ import annotations

import pytest

from services.allocation.lifecycle import MARK_RULES, release_target
from services.allocation.models import CarrierPackage, Purchase, WaybillSource, WaybillStatus
from services.allocation.voids import (
    ALREADY_COLLECTED,
    ALREADY_DISCARDED,
    VoidPolicy,
    courier_outcome,
    credits,
    number_price,
)
from shared.allocation import VoidCourierOutcome


@pytest.mark.parametrize(
    ("policy", "name", "credit"),
    [
        (VoidPolicy(), "full", 300),
        (VoidPolicy(0, 0), "none", 0),
        (VoidPolicy(50, 0), "50%", 150),
        (VoidPolicy(100, 50), "full less 50 cents", 250),
        (VoidPolicy(50, 20), "50% less 20 cents", 130),
        (VoidPolicy(100, 500), "full less 500 cents", 0),  # a fee above the price credits nothing, never a debit
    ],
)
def test_a_policy_names_itself_and_credits_its_share(policy: VoidPolicy, name: str, credit: int) -> None:
    assert policy.name == name
    assert policy.credit(300) == credit


def test_a_policy_credits_rounded_down() -> None:
    assert VoidPolicy(50, 0).credit(275) == 137


@pytest.mark.parametrize(("percent", "fee"), [(101, 0), (-1, 0), (100, -1)])
def test_a_policy_out_of_range_is_refused(percent: int, fee: int) -> None:
    with pytest.raises(ValueError, match="percent less a fee"):
        VoidPolicy(percent, fee)


def test_the_price_of_each_number_comes_from_running_totals() -> None:
    # YTO-5000: 1,377,500 cents for 5,000 numbers, 275.5 cents each: 275, 276, 275, 276...
    prices = [number_price(1_377_500, 5000, k) for k in range(4)]
    assert prices == [275, 276, 275, 276]
    assert sum(number_price(1001, 10, k) for k in range(10)) == 1001  # never a cent lost or added
    assert number_price(1001, 10, 10) == 0  # every number already paid back


def test_only_a_cancelled_number_is_credited() -> None:
    assert courier_outcome(None) is VoidCourierOutcome.DISCARDED
    assert courier_outcome(ALREADY_DISCARDED) is VoidCourierOutcome.DISCARDED  # our earlier ask got through
    assert courier_outcome(ALREADY_COLLECTED) is VoidCourierOutcome.COLLECTED
    assert courier_outcome("waybill.not-exist") is VoidCourierOutcome.REFUSED
    assert [o for o in VoidCourierOutcome if credits(o)] == [VoidCourierOutcome.DISCARDED]


def test_packages_and_purchases_read_their_policy_from_their_columns() -> None:
    assert CarrierPackage(void_credit_percent=100, void_fee_cents=50).void_credit == VoidPolicy(100, 50)
    assert Purchase(void_credit_percent=0, void_fee_cents=0).void_credit.name == "none"


def test_a_voided_number_neither_releases_nor_marks_again() -> None:
    assert release_target(WaybillStatus.PRINTED, WaybillSource.COURIER) is WaybillStatus.VOIDED
    assert release_target(WaybillStatus.VOIDED, WaybillSource.COURIER) is None
    assert all(WaybillStatus.VOIDED not in rule.allowed_from for rule in MARK_RULES.values())
