"""The order state machine: every transition allowed, every other one refused with invalid_transition, and
the audit rows it answers with."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from services.shipping import states
from services.shipping.states import (
    TRANSITIONS,
    Change,
    EventRow,
    InvalidTransition,
    OrderEvent,
    OrderNote,
    OrderStatus,
)
from shared.errors import ErrorCode
from shared.tracking import TrackingStatus

EXPECTED = {
    (OrderStatus.PAID, OrderEvent.ASSIGN_WAYBILL): OrderStatus.WAYBILL_ASSIGNED,
    (OrderStatus.WAYBILL_ASSIGNED, OrderEvent.PRINT_LABEL): OrderStatus.LABEL_PRINTED,
    (OrderStatus.LABEL_PRINTED, OrderEvent.CONFIRM_SHIPMENT): OrderStatus.SHIPPED,
    # A split order: its first part confirmed with lines remaining, then its last part.
    (OrderStatus.LABEL_PRINTED, OrderEvent.CONFIRM_PART): OrderStatus.PARTLY_SHIPPED,
    (OrderStatus.PARTLY_SHIPPED, OrderEvent.CONFIRM_SHIPMENT): OrderStatus.SHIPPED,
    # Labels voided before collection: the order ships again (confirmed: only where the channel can withdraw).
    (OrderStatus.WAYBILL_ASSIGNED, OrderEvent.VOID_SHIPMENT): OrderStatus.PAID,
    (OrderStatus.LABEL_PRINTED, OrderEvent.VOID_SHIPMENT): OrderStatus.PAID,
    (OrderStatus.SHIPPED, OrderEvent.VOID_SHIPMENT): OrderStatus.PAID,
    (OrderStatus.WAYBILL_ASSIGNED, OrderEvent.FAIL_SHIPMENT): OrderStatus.PAID,
    (OrderStatus.LABEL_PRINTED, OrderEvent.FAIL_SHIPMENT): OrderStatus.PAID,
    (OrderStatus.WAYBILL_ASSIGNED, OrderEvent.CANCEL_SHIPMENT): OrderStatus.PAID,
    (OrderStatus.LABEL_PRINTED, OrderEvent.CANCEL_SHIPMENT): OrderStatus.PAID,
    (OrderStatus.PAID, OrderEvent.CANCEL): OrderStatus.CANCELLED,
    (OrderStatus.WAYBILL_ASSIGNED, OrderEvent.CANCEL): OrderStatus.CANCELLED,
    (OrderStatus.LABEL_PRINTED, OrderEvent.CANCEL): OrderStatus.CANCELLED,
    (OrderStatus.SHIPPED, OrderEvent.MOVE): OrderStatus.IN_TRANSIT,
    (OrderStatus.EXCEPTION, OrderEvent.MOVE): OrderStatus.IN_TRANSIT,
    (OrderStatus.SHIPPED, OrderEvent.DELIVER): OrderStatus.DELIVERED,
    (OrderStatus.IN_TRANSIT, OrderEvent.DELIVER): OrderStatus.DELIVERED,
    (OrderStatus.EXCEPTION, OrderEvent.DELIVER): OrderStatus.DELIVERED,
    (OrderStatus.SHIPPED, OrderEvent.REPORT_EXCEPTION): OrderStatus.EXCEPTION,
    (OrderStatus.IN_TRANSIT, OrderEvent.REPORT_EXCEPTION): OrderStatus.EXCEPTION,
    (OrderStatus.SHIPPED, OrderEvent.RETURN): OrderStatus.RETURNED,
    (OrderStatus.IN_TRANSIT, OrderEvent.RETURN): OrderStatus.RETURNED,
    (OrderStatus.EXCEPTION, OrderEvent.RETURN): OrderStatus.RETURNED,
}


@dataclass
class _Order:
    id: str
    status: str


@pytest.mark.parametrize(("start", "event"), sorted(EXPECTED, key=str))
def test_allowed_transition(start: OrderStatus, event: OrderEvent) -> None:
    assert states.can(start, event)
    assert states.next_status(start, event) is EXPECTED[(start, event)]


@pytest.mark.parametrize(("start", "event"), sorted(EXPECTED, key=str))
def test_an_allowed_transition_answers_the_new_state_and_its_row(start: OrderStatus, event: OrderEvent) -> None:
    order = _Order("ord_1", start.value)
    change = states.transition(order, event, "why")
    assert change.status is EXPECTED[(start, event)]
    assert change.row == EventRow("ord_1", event.value, start.value, change.status.value, "why")
    assert change.row.values() == {
        "order_id": "ord_1",
        "event": event.value,
        "from_status": start.value,
        "to_status": change.status.value,
        "note": "why",
    }
    assert order.status == start.value  # pure: the order itself is not touched


ILLEGAL = [(s, e) for s, e in itertools.product(OrderStatus, OrderEvent) if (s, e) not in EXPECTED]


@pytest.mark.parametrize(("start", "event"), ILLEGAL)
def test_illegal_transition_is_refused(start: OrderStatus, event: OrderEvent) -> None:
    assert not states.can(start, event)
    with pytest.raises(InvalidTransition) as info:
        states.next_status(start, event, order_id="ord_1")
    assert info.value.status_code == 409
    assert info.value.code == ErrorCode.INVALID_TRANSITION
    assert info.value.details == {"order_id": "ord_1", "status": start.value, "event": event.value}
    with pytest.raises(InvalidTransition) as again:
        states.transition(_Order("ord_1", start.value), event, "why")
    assert again.value.details == info.value.details


def test_the_many_orders_form_answers_each_with_its_note() -> None:
    orders = [_Order("ord_1", "label_printed"), _Order("ord_2", "label_printed")]
    changes = states.transition_many(OrderEvent.CONFIRM_SHIPMENT, [Change(o, f"n {o.id}") for o in orders])
    assert [c.status for c in changes] == [OrderStatus.SHIPPED, OrderStatus.SHIPPED]
    assert [(c.row.order_id, c.row.note) for c in changes] == [("ord_1", "n ord_1"), ("ord_2", "n ord_2")]


def test_the_many_orders_form_refuses_the_lot_for_one_bad_order() -> None:
    orders = [_Order("ord_1", "label_printed"), _Order("ord_2", "paid")]
    with pytest.raises(InvalidTransition) as info:
        states.transition_many(OrderEvent.CONFIRM_SHIPMENT, [Change(o) for o in orders])
    assert info.value.details["order_id"] == "ord_2"


def test_rows_that_are_not_a_change_of_state() -> None:
    assert states.created("ord_1", "created over REST") == EventRow(
        "ord_1", OrderNote.CREATE.value, "", OrderStatus.PAID.value, "created over REST"
    )
    row = states.noted(_Order("ord_1", "label_printed"), OrderNote.ADDRESS_CHANGED, "message 7")
    assert row == EventRow("ord_1", "address_changed", "label_printed", "label_printed", "message 7")


def test_table_is_the_whole_machine() -> None:
    derived = {(s, e): t for e, (sources, t) in TRANSITIONS.items() for s in sources}
    assert derived == EXPECTED


def test_final_states_have_no_way_out() -> None:
    for final in (OrderStatus.DELIVERED, OrderStatus.RETURNED, OrderStatus.CANCELLED):
        assert not any(states.can(final, e) for e in OrderEvent)


def test_every_tracking_status_maps_to_a_known_event_or_none() -> None:
    assert states.TRACKING_EVENTS[TrackingStatus.DELIVERED] is OrderEvent.DELIVER
    assert states.TRACKING_EVENTS[TrackingStatus.RETURNED] is OrderEvent.RETURN
    assert states.TRACKING_EVENTS[TrackingStatus.REFUSED] is OrderEvent.REPORT_EXCEPTION
    assert TrackingStatus.PENDING not in states.TRACKING_EVENTS
    # A parcel delivered cannot go back in transit when a late push arrives.
    assert not states.can(OrderStatus.DELIVERED, states.TRACKING_EVENTS[TrackingStatus.IN_TRANSIT])
