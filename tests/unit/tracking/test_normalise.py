"""Every row of every provider's mapping table, and the forward-only status rules."""

from __future__ import annotations

import pytest

from services.tracking import normalise as n
from shared.tracking import TrackingStatus

KUAIDI100_STATE = [
    ("0", TrackingStatus.IN_TRANSIT),
    ("1", TrackingStatus.COLLECTED),
    ("2", TrackingStatus.PROBLEM),
    ("3", TrackingStatus.DELIVERED),
    ("4", TrackingStatus.RETURNED),
    ("5", TrackingStatus.OUT_FOR_DELIVERY),
    ("6", TrackingStatus.RETURNING),
    ("7", TrackingStatus.IN_TRANSIT),
    ("8", TrackingStatus.IN_TRANSIT),
    ("14", TrackingStatus.REFUSED),
]
KUAIDI100_RESULTV2 = [
    ("101", TrackingStatus.INFO_RECEIVED),
    ("102", TrackingStatus.INFO_RECEIVED),
    ("103", TrackingStatus.COLLECTED),
    ("1001", TrackingStatus.ARRIVED_AT_CITY),
    ("1002", TrackingStatus.IN_TRANSIT),
    ("1003", TrackingStatus.IN_TRANSIT),
    ("201", TrackingStatus.PROBLEM),
    ("202", TrackingStatus.PROBLEM),
    ("203", TrackingStatus.REFUSED),
    ("204", TrackingStatus.DELIVERY_FAILED),
    ("205", TrackingStatus.PROBLEM),
    ("206", TrackingStatus.DELIVERY_FAILED),
    ("207", TrackingStatus.PROBLEM),
    ("208", TrackingStatus.PROBLEM),
    ("209", TrackingStatus.PROBLEM),
    ("501", TrackingStatus.AVAILABLE_FOR_PICKUP),
    ("301", TrackingStatus.DELIVERED),
    ("302", TrackingStatus.DELIVERED),
    ("303", TrackingStatus.DELIVERED),
    ("304", TrackingStatus.DELIVERED),
    ("401", TrackingStatus.EXPIRED),
]
KUAIDI100_NAMES = [
    ("在途", TrackingStatus.IN_TRANSIT),
    ("揽收", TrackingStatus.COLLECTED),
    ("疑难", TrackingStatus.PROBLEM),
    ("签收", TrackingStatus.DELIVERED),
    ("退签", TrackingStatus.RETURNED),
    ("派件", TrackingStatus.OUT_FOR_DELIVERY),
    ("退回", TrackingStatus.RETURNING),
    ("转投", TrackingStatus.IN_TRANSIT),
    ("清关", TrackingStatus.IN_TRANSIT),
    ("拒签", TrackingStatus.REFUSED),
]
KDNIAO = [
    ("0", TrackingStatus.PENDING),
    ("1", TrackingStatus.COLLECTED),
    ("2", TrackingStatus.IN_TRANSIT),
    ("3", TrackingStatus.DELIVERED),
    ("4", TrackingStatus.PROBLEM),
    ("5", TrackingStatus.IN_TRANSIT),
    ("6", TrackingStatus.IN_TRANSIT),
]
AFTERSHIP = [
    ("Pending", TrackingStatus.PENDING),
    ("InfoReceived", TrackingStatus.INFO_RECEIVED),
    ("InTransit", TrackingStatus.IN_TRANSIT),
    ("OutForDelivery", TrackingStatus.OUT_FOR_DELIVERY),
    ("AttemptFail", TrackingStatus.DELIVERY_FAILED),
    ("Delivered", TrackingStatus.DELIVERED),
    ("AvailableForPickup", TrackingStatus.AVAILABLE_FOR_PICKUP),
    ("Exception", TrackingStatus.PROBLEM),
    ("Expired", TrackingStatus.EXPIRED),
]
EASYPOST = [
    ("unknown", TrackingStatus.PENDING),
    ("pre_transit", TrackingStatus.INFO_RECEIVED),
    ("in_transit", TrackingStatus.IN_TRANSIT),
    ("out_for_delivery", TrackingStatus.OUT_FOR_DELIVERY),
    ("available_for_pickup", TrackingStatus.AVAILABLE_FOR_PICKUP),
    ("delivered", TrackingStatus.DELIVERED),
    ("return_to_sender", TrackingStatus.RETURNING),
    ("failure", TrackingStatus.DELIVERY_FAILED),
    ("cancelled", TrackingStatus.EXPIRED),
    ("error", TrackingStatus.PROBLEM),
]


@pytest.mark.parametrize(("code", "status"), KUAIDI100_STATE)
def test_kuaidi100_state(code: str, status: TrackingStatus) -> None:
    assert n.from_kuaidi100_state(code) == status
    assert n.from_kuaidi100_state(int(code)) == status


@pytest.mark.parametrize(("code", "status"), KUAIDI100_RESULTV2)
def test_kuaidi100_resultv2(code: str, status: TrackingStatus) -> None:
    assert n.from_kuaidi100_code(code) == status


@pytest.mark.parametrize(("name", "status"), KUAIDI100_NAMES)
def test_kuaidi100_state_names(name: str, status: TrackingStatus) -> None:
    assert n.kuaidi100_event_status(None, name) == status


@pytest.mark.parametrize(("code", "status"), KDNIAO)
def test_kdniao(code: str, status: TrackingStatus) -> None:
    assert n.from_kdniao(code) == status


@pytest.mark.parametrize(("tag", "status"), AFTERSHIP)
def test_aftership(tag: str, status: TrackingStatus) -> None:
    assert n.from_aftership(tag) == status


@pytest.mark.parametrize(("code", "status"), EASYPOST)
def test_easypost(code: str, status: TrackingStatus) -> None:
    assert n.from_easypost(code) == status


@pytest.mark.parametrize(
    ("table", "rows"),
    [
        (n.KUAIDI100_STATE, KUAIDI100_STATE),
        (n.KUAIDI100_RESULTV2, KUAIDI100_RESULTV2),
        (n.KUAIDI100_STATE_NAME, KUAIDI100_NAMES),
        (n.KDNIAO_STATE, KDNIAO),
        (n.AFTERSHIP_TAG, AFTERSHIP),
        (n.EASYPOST_STATUS, EASYPOST),
    ],
)
def test_tables_are_exactly_the_tested_rows(table: object, rows: list[tuple[str, TrackingStatus]]) -> None:
    # A row added to a table without a test fails here.
    assert dict(table) == dict(rows)  # type: ignore[call-overload]


def test_basic_codes_serve_as_fine_codes() -> None:
    # The sandbox (and Kuaidi100) put basic codes such as "5" or "14" in an event's statusCode.
    for code, status in KUAIDI100_STATE:
        assert n.from_kuaidi100_code(code) == status


def test_unknown_codes() -> None:
    for fn in (n.from_kuaidi100_state, n.from_kuaidi100_code, n.from_kdniao, n.from_aftership, n.from_easypost):
        with pytest.raises(n.UnknownStatusCode):
            fn("nope")
    assert n.kuaidi100_event_status("999", "??") is None
    assert n.kuaidi100_event_status("999", "签收") == TrackingStatus.DELIVERED


def test_every_status_is_ranked_or_an_exception() -> None:
    assert set(TrackingStatus) == set(n.RANK) | n.EXCEPTIONS


def _walk(*statuses: TrackingStatus) -> TrackingStatus:
    current, progress = TrackingStatus.PENDING, 0
    for s in statuses:
        current, progress = n.advance(current, progress, s)
    return current


def test_forward_only() -> None:
    assert (
        _walk(
            TrackingStatus.COLLECTED,
            TrackingStatus.IN_TRANSIT,
            TrackingStatus.OUT_FOR_DELIVERY,
            TrackingStatus.IN_TRANSIT,
        )
        == TrackingStatus.OUT_FOR_DELIVERY
    )
    assert _walk(TrackingStatus.IN_TRANSIT, TrackingStatus.COLLECTED) == TrackingStatus.IN_TRANSIT
    assert _walk(TrackingStatus.IN_TRANSIT, TrackingStatus.PENDING) == TrackingStatus.IN_TRANSIT


def test_terminal_stays_terminal_except_delivered_coming_back() -> None:
    assert _walk(TrackingStatus.DELIVERED, TrackingStatus.IN_TRANSIT) == TrackingStatus.DELIVERED
    assert _walk(TrackingStatus.DELIVERED, TrackingStatus.PROBLEM) == TrackingStatus.DELIVERED
    assert _walk(TrackingStatus.DELIVERED, TrackingStatus.OUT_FOR_DELIVERY) == TrackingStatus.DELIVERED
    assert _walk(TrackingStatus.DELIVERED, TrackingStatus.RETURNING) == TrackingStatus.RETURNING
    assert (
        _walk(TrackingStatus.DELIVERED, TrackingStatus.RETURNING, TrackingStatus.OUT_FOR_DELIVERY)
        == TrackingStatus.RETURNING
    )
    assert _walk(TrackingStatus.DELIVERED, TrackingStatus.RETURNED) == TrackingStatus.RETURNED
    assert _walk(TrackingStatus.RETURNED, TrackingStatus.DELIVERED) == TrackingStatus.RETURNED
    assert _walk(TrackingStatus.EXPIRED, TrackingStatus.DELIVERED) == TrackingStatus.EXPIRED


def test_exceptions_are_lateral() -> None:
    # A problem, then the parcel carries on from where it was (not from before it).
    assert _walk(TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.PROBLEM) == TrackingStatus.PROBLEM
    assert (
        _walk(TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.PROBLEM, TrackingStatus.OUT_FOR_DELIVERY)
        == TrackingStatus.OUT_FOR_DELIVERY
    )
    assert (
        _walk(TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.PROBLEM, TrackingStatus.IN_TRANSIT)
        == TrackingStatus.PROBLEM
    )
    assert (
        _walk(TrackingStatus.IN_TRANSIT, TrackingStatus.DELIVERY_FAILED, TrackingStatus.DELIVERED)
        == TrackingStatus.DELIVERED
    )
    assert _walk(TrackingStatus.REFUSED, TrackingStatus.PROBLEM) == TrackingStatus.REFUSED


def test_refused_then_returned() -> None:
    assert (
        _walk(
            TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.REFUSED, TrackingStatus.RETURNING, TrackingStatus.RETURNED
        )
        == TrackingStatus.RETURNED
    )
    assert _walk(TrackingStatus.REFUSED, TrackingStatus.IN_TRANSIT) == TrackingStatus.REFUSED
