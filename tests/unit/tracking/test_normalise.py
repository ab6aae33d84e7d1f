"""Every row of every provider's mapping table, and the forward-only status rules."""

from __future__ import annotations

import pytest

from services.tracking import normalise as n
from shared.tracking import TrackingStatus as S

KUAIDI100_STATE = [
    ("0", S.IN_TRANSIT),
    ("1", S.COLLECTED),
    ("2", S.PROBLEM),
    ("3", S.DELIVERED),
    ("4", S.RETURNED),
    ("5", S.OUT_FOR_DELIVERY),
    ("6", S.RETURNING),
    ("7", S.IN_TRANSIT),
    ("8", S.IN_TRANSIT),
    ("14", S.REFUSED),
]
KUAIDI100_RESULTV2 = [
    ("101", S.INFO_RECEIVED),
    ("102", S.INFO_RECEIVED),
    ("103", S.COLLECTED),
    ("1001", S.ARRIVED_AT_CITY),
    ("1002", S.IN_TRANSIT),
    ("1003", S.IN_TRANSIT),
    ("201", S.PROBLEM),
    ("202", S.PROBLEM),
    ("203", S.REFUSED),
    ("204", S.DELIVERY_FAILED),
    ("205", S.PROBLEM),
    ("206", S.DELIVERY_FAILED),
    ("207", S.PROBLEM),
    ("208", S.PROBLEM),
    ("209", S.PROBLEM),
    ("501", S.AVAILABLE_FOR_PICKUP),
    ("301", S.DELIVERED),
    ("302", S.DELIVERED),
    ("303", S.DELIVERED),
    ("304", S.DELIVERED),
    ("401", S.EXPIRED),
]
KUAIDI100_NAMES = [
    ("在途", S.IN_TRANSIT),
    ("揽收", S.COLLECTED),
    ("疑难", S.PROBLEM),
    ("签收", S.DELIVERED),
    ("退签", S.RETURNED),
    ("派件", S.OUT_FOR_DELIVERY),
    ("退回", S.RETURNING),
    ("转投", S.IN_TRANSIT),
    ("清关", S.IN_TRANSIT),
    ("拒签", S.REFUSED),
]
KDNIAO = [
    ("0", S.PENDING),
    ("1", S.COLLECTED),
    ("2", S.IN_TRANSIT),
    ("3", S.DELIVERED),
    ("4", S.PROBLEM),
    ("5", S.IN_TRANSIT),
    ("6", S.IN_TRANSIT),
]
AFTERSHIP = [
    ("Pending", S.PENDING),
    ("InfoReceived", S.INFO_RECEIVED),
    ("InTransit", S.IN_TRANSIT),
    ("OutForDelivery", S.OUT_FOR_DELIVERY),
    ("AttemptFail", S.DELIVERY_FAILED),
    ("Delivered", S.DELIVERED),
    ("AvailableForPickup", S.AVAILABLE_FOR_PICKUP),
    ("Exception", S.PROBLEM),
    ("Expired", S.EXPIRED),
]
EASYPOST = [
    ("unknown", S.PENDING),
    ("pre_transit", S.INFO_RECEIVED),
    ("in_transit", S.IN_TRANSIT),
    ("out_for_delivery", S.OUT_FOR_DELIVERY),
    ("available_for_pickup", S.AVAILABLE_FOR_PICKUP),
    ("delivered", S.DELIVERED),
    ("return_to_sender", S.RETURNING),
    ("failure", S.DELIVERY_FAILED),
    ("cancelled", S.EXPIRED),
    ("error", S.PROBLEM),
]


@pytest.mark.parametrize(("code", "status"), KUAIDI100_STATE)
def test_kuaidi100_state(code: str, status: S) -> None:
    assert n.from_kuaidi100_state(code) == status
    assert n.from_kuaidi100_state(int(code)) == status


@pytest.mark.parametrize(("code", "status"), KUAIDI100_RESULTV2)
def test_kuaidi100_resultv2(code: str, status: S) -> None:
    assert n.from_kuaidi100_code(code) == status


@pytest.mark.parametrize(("name", "status"), KUAIDI100_NAMES)
def test_kuaidi100_state_names(name: str, status: S) -> None:
    assert n.kuaidi100_event_status(None, name) == status


@pytest.mark.parametrize(("code", "status"), KDNIAO)
def test_kdniao(code: str, status: S) -> None:
    assert n.from_kdniao(code) == status


@pytest.mark.parametrize(("tag", "status"), AFTERSHIP)
def test_aftership(tag: str, status: S) -> None:
    assert n.from_aftership(tag) == status


@pytest.mark.parametrize(("code", "status"), EASYPOST)
def test_easypost(code: str, status: S) -> None:
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
def test_tables_are_exactly_the_tested_rows(table: object, rows: list[tuple[str, S]]) -> None:
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
    assert n.kuaidi100_event_status("999", "签收") == S.DELIVERED


def test_every_status_is_ranked_or_an_exception() -> None:
    assert set(S) == set(n.RANK) | n.EXCEPTIONS


def _walk(*statuses: S) -> S:
    current, progress = S.PENDING, 0
    for s in statuses:
        current, progress = n.advance(current, progress, s)
    return current


def test_forward_only() -> None:
    assert _walk(S.COLLECTED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.IN_TRANSIT) == S.OUT_FOR_DELIVERY
    assert _walk(S.IN_TRANSIT, S.COLLECTED) == S.IN_TRANSIT
    assert _walk(S.IN_TRANSIT, S.PENDING) == S.IN_TRANSIT


def test_terminal_stays_terminal_except_delivered_coming_back() -> None:
    assert _walk(S.DELIVERED, S.IN_TRANSIT) == S.DELIVERED
    assert _walk(S.DELIVERED, S.PROBLEM) == S.DELIVERED
    assert _walk(S.DELIVERED, S.OUT_FOR_DELIVERY) == S.DELIVERED
    assert _walk(S.DELIVERED, S.RETURNING) == S.RETURNING
    assert _walk(S.DELIVERED, S.RETURNING, S.OUT_FOR_DELIVERY) == S.RETURNING
    assert _walk(S.DELIVERED, S.RETURNED) == S.RETURNED
    assert _walk(S.RETURNED, S.DELIVERED) == S.RETURNED
    assert _walk(S.EXPIRED, S.DELIVERED) == S.EXPIRED


def test_exceptions_are_lateral() -> None:
    # A problem, then the parcel carries on from where it was (not from before it).
    assert _walk(S.OUT_FOR_DELIVERY, S.PROBLEM) == S.PROBLEM
    assert _walk(S.OUT_FOR_DELIVERY, S.PROBLEM, S.OUT_FOR_DELIVERY) == S.OUT_FOR_DELIVERY
    assert _walk(S.OUT_FOR_DELIVERY, S.PROBLEM, S.IN_TRANSIT) == S.PROBLEM
    assert _walk(S.IN_TRANSIT, S.DELIVERY_FAILED, S.DELIVERED) == S.DELIVERED
    assert _walk(S.REFUSED, S.PROBLEM) == S.REFUSED


def test_refused_then_returned() -> None:
    assert _walk(S.OUT_FOR_DELIVERY, S.REFUSED, S.RETURNING, S.RETURNED) == S.RETURNED
    assert _walk(S.REFUSED, S.IN_TRANSIT) == S.REFUSED
