"""The order state machine: every transition allowed, every other one refused with invalid_transition."""

from __future__ import annotations

import itertools

import pytest

from services.shipping import states
from services.shipping.states import TRANSITIONS, InvalidTransition
from services.shipping.states import OrderEvent as E
from services.shipping.states import OrderStatus as S
from shared.tracking import TrackingStatus

EXPECTED = {
    (S.PAID, E.ASSIGN_WAYBILL): S.WAYBILL_ASSIGNED,
    (S.WAYBILL_ASSIGNED, E.PRINT_LABEL): S.LABEL_PRINTED,
    (S.LABEL_PRINTED, E.CONFIRM_SHIPMENT): S.SHIPPED,
    (S.WAYBILL_ASSIGNED, E.FAIL_SHIPMENT): S.PAID,
    (S.LABEL_PRINTED, E.FAIL_SHIPMENT): S.PAID,
    (S.WAYBILL_ASSIGNED, E.CANCEL_SHIPMENT): S.PAID,
    (S.LABEL_PRINTED, E.CANCEL_SHIPMENT): S.PAID,
    (S.PAID, E.CANCEL): S.CANCELLED,
    (S.WAYBILL_ASSIGNED, E.CANCEL): S.CANCELLED,
    (S.LABEL_PRINTED, E.CANCEL): S.CANCELLED,
    (S.SHIPPED, E.MOVE): S.IN_TRANSIT,
    (S.EXCEPTION, E.MOVE): S.IN_TRANSIT,
    (S.SHIPPED, E.DELIVER): S.DELIVERED,
    (S.IN_TRANSIT, E.DELIVER): S.DELIVERED,
    (S.EXCEPTION, E.DELIVER): S.DELIVERED,
    (S.SHIPPED, E.REPORT_EXCEPTION): S.EXCEPTION,
    (S.IN_TRANSIT, E.REPORT_EXCEPTION): S.EXCEPTION,
    (S.SHIPPED, E.RETURN): S.RETURNED,
    (S.IN_TRANSIT, E.RETURN): S.RETURNED,
    (S.EXCEPTION, E.RETURN): S.RETURNED,
}


@pytest.mark.parametrize(("start", "event"), sorted(EXPECTED, key=str))
def test_allowed_transition(start: S, event: E) -> None:
    assert states.can(start, event)
    assert states.next_status(start, event) is EXPECTED[(start, event)]


ILLEGAL = [(s, e) for s, e in itertools.product(S, E) if (s, e) not in EXPECTED]


@pytest.mark.parametrize(("start", "event"), ILLEGAL)
def test_illegal_transition_is_refused(start: S, event: E) -> None:
    assert not states.can(start, event)
    with pytest.raises(InvalidTransition) as info:
        states.next_status(start, event, order_id="ord_1")
    assert info.value.status_code == 409
    assert info.value.code == "invalid_transition"
    assert info.value.details == {"order_id": "ord_1", "status": start.value, "event": event.value}


def test_table_is_the_whole_machine() -> None:
    derived = {(s, e): t for e, (sources, t) in TRANSITIONS.items() for s in sources}
    assert derived == EXPECTED


def test_final_states_have_no_way_out() -> None:
    for final in (S.DELIVERED, S.RETURNED, S.CANCELLED):
        assert not any(states.can(final, e) for e in E)


def test_every_tracking_status_maps_to_a_known_event_or_none() -> None:
    assert states.TRACKING_EVENTS[TrackingStatus.DELIVERED] is E.DELIVER
    assert states.TRACKING_EVENTS[TrackingStatus.RETURNED] is E.RETURN
    assert states.TRACKING_EVENTS[TrackingStatus.REFUSED] is E.REPORT_EXCEPTION
    assert TrackingStatus.PENDING not in states.TRACKING_EVENTS
    # A parcel delivered cannot go back in transit when a late push arrives.
    assert not states.can(S.DELIVERED, states.TRACKING_EVENTS[TrackingStatus.IN_TRANSIT])
