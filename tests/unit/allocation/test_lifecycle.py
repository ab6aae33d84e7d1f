"""A number's lifecycle without a database: which status each mark and release may move a number to, when a
label may exist, and what a purchase does about a typed entry holding one of its numbers."""

from __future__ import annotations

import pytest

from services.allocation.lifecycle import (
    Claim,
    claim_on,
    label_may_exist,
    mark_target,
    prints_label,
    public_state,
    release_target,
)
from services.allocation.models import WaybillSource, WaybillStatus
from shared.allocation import MarkState, WaybillState

AVAILABLE, ALLOCATED, PRINTED, SHIPPED = (
    WaybillStatus.AVAILABLE,
    WaybillStatus.ALLOCATED,
    WaybillStatus.PRINTED,
    WaybillStatus.SHIPPED,
)
VOIDED, EXPIRED, QUARANTINED, SUPERSEDED = (
    WaybillStatus.VOIDED,
    WaybillStatus.EXPIRED,
    WaybillStatus.QUARANTINED,
    WaybillStatus.SUPERSEDED,
)

# Written out by hand (not derived from the rules): the statuses each mark may start from. A mark from its own
# target is a harmless repeat; everything absent is refused (409 invalid_transition).
MARKS_FROM = {
    MarkState.PRINTED: {ALLOCATED, PRINTED},
    MarkState.SHIPPED: {ALLOCATED, PRINTED, SHIPPED},
    MarkState.QUARANTINED: {AVAILABLE, ALLOCATED, PRINTED, QUARANTINED},
    MarkState.EXPIRED: {AVAILABLE, ALLOCATED, PRINTED, EXPIRED},
}
MARK_TO = {
    MarkState.PRINTED: PRINTED,
    MarkState.SHIPPED: SHIPPED,
    MarkState.QUARANTINED: QUARANTINED,
    MarkState.EXPIRED: EXPIRED,
}


@pytest.mark.parametrize("wanted", list(MarkState))
@pytest.mark.parametrize("current", list(WaybillStatus))
def test_every_mark_from_every_status(current: WaybillStatus, wanted: MarkState) -> None:
    expected = MARK_TO[wanted] if current in MARKS_FROM[wanted] else None
    assert mark_target(current, wanted) == expected


def test_nothing_moves_back_from_shipped_or_out_of_a_final_status() -> None:
    assert mark_target(SHIPPED, MarkState.PRINTED) is None
    for final in (VOIDED, SUPERSEDED):
        assert all(mark_target(final, wanted) is None for wanted in MarkState)
        assert release_target(final, WaybillSource.COURIER) is None


@pytest.mark.parametrize(
    ("current", "source", "expected"),
    [
        (ALLOCATED, WaybillSource.COURIER, AVAILABLE),  # back to the pool
        (ALLOCATED, WaybillSource.MANUAL, VOIDED),  # a typed number was never ours to hand out again
        (PRINTED, WaybillSource.COURIER, VOIDED),  # a label may exist: never reused
        (PRINTED, WaybillSource.MANUAL, VOIDED),
        (SHIPPED, WaybillSource.COURIER, VOIDED),  # voided before collection after the marketplace was told
        (SHIPPED, WaybillSource.MANUAL, VOIDED),
    ],
)
def test_a_release_returns_unprinted_numbers_and_voids_printed_ones(
    current: WaybillStatus, source: WaybillSource, expected: WaybillStatus
) -> None:
    assert release_target(current, source) == expected


@pytest.mark.parametrize("current", [AVAILABLE, VOIDED, EXPIRED, QUARANTINED, SUPERSEDED])
def test_other_statuses_are_not_released(current: WaybillStatus) -> None:
    for source in WaybillSource:
        assert release_target(current, source) is None


def test_a_label_may_exist_once_printed_whatever_happened_since() -> None:
    assert {s for s in WaybillStatus if prints_label(s)} == {PRINTED, SHIPPED}
    assert label_may_exist(PRINTED, ever_printed=False)
    assert label_may_exist(VOIDED, ever_printed=True)
    assert not label_may_exist(VOIDED, ever_printed=False)
    assert not label_may_exist(ALLOCATED, ever_printed=False)


@pytest.mark.parametrize(
    ("source", "status", "ever_printed", "claim"),
    [
        (WaybillSource.COURIER, AVAILABLE, False, Claim.ISSUED_TWICE),
        (WaybillSource.COURIER, SHIPPED, True, Claim.ISSUED_TWICE),
        (WaybillSource.MANUAL, ALLOCATED, False, Claim.TAKE_OVER),
        (WaybillSource.MANUAL, VOIDED, False, Claim.TAKE_OVER),
        (WaybillSource.MANUAL, EXPIRED, False, Claim.TAKE_OVER),
        (WaybillSource.MANUAL, PRINTED, True, Claim.KEPT_BY_ENTRY),
        (WaybillSource.MANUAL, SHIPPED, True, Claim.KEPT_BY_ENTRY),
        (WaybillSource.MANUAL, VOIDED, True, Claim.KEPT_BY_ENTRY),  # voided after printing
    ],
)
def test_a_paid_purchase_wins_over_a_typed_number_unless_it_may_be_on_a_label(
    source: WaybillSource, status: WaybillStatus, ever_printed: bool, claim: Claim
) -> None:
    assert claim_on(source, status, ever_printed) is claim


def test_every_status_has_its_api_name() -> None:
    assert [public_state(s) for s in WaybillStatus] == list(WaybillState)
    assert public_state(SUPERSEDED) is WaybillState.SUPERSEDED
