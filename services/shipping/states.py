"""The order state machine: every allowed transition is in ``TRANSITIONS``, nowhere else.

paid -> waybill_assigned -> label_printed -> shipped -> in_transit -> delivered, with the branches
exception (tracking saw a problem; it can recover), returned and cancelled. A failed or cancelled
shipment puts the order back to paid so it can be shipped again.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from runtime.errors import AppError
from shared.errors import ErrorCode
from shared.tracking import TrackingStatus


class OrderStatus(StrEnum):
    PAID = "paid"
    WAYBILL_ASSIGNED = "waybill_assigned"
    LABEL_PRINTED = "label_printed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class OrderEvent(StrEnum):
    ASSIGN_WAYBILL = "assign_waybill"
    PRINT_LABEL = "print_label"
    CONFIRM_SHIPMENT = "confirm_shipment"
    FAIL_SHIPMENT = "fail_shipment"
    CANCEL_SHIPMENT = "cancel_shipment"
    CANCEL = "cancel"
    MOVE = "in_transit"
    DELIVER = "deliver"
    REPORT_EXCEPTION = "report_exception"
    RETURN = "return"


S = OrderStatus
E = OrderEvent

# event -> (states it may start from, state it leads to)
TRANSITIONS = MappingProxyType(
    {
        E.ASSIGN_WAYBILL: (frozenset({S.PAID}), S.WAYBILL_ASSIGNED),
        E.PRINT_LABEL: (frozenset({S.WAYBILL_ASSIGNED}), S.LABEL_PRINTED),
        E.CONFIRM_SHIPMENT: (frozenset({S.LABEL_PRINTED}), S.SHIPPED),
        E.FAIL_SHIPMENT: (frozenset({S.WAYBILL_ASSIGNED, S.LABEL_PRINTED}), S.PAID),
        E.CANCEL_SHIPMENT: (frozenset({S.WAYBILL_ASSIGNED, S.LABEL_PRINTED}), S.PAID),
        E.CANCEL: (frozenset({S.PAID, S.WAYBILL_ASSIGNED, S.LABEL_PRINTED}), S.CANCELLED),
        E.MOVE: (frozenset({S.SHIPPED, S.EXCEPTION}), S.IN_TRANSIT),
        E.DELIVER: (frozenset({S.SHIPPED, S.IN_TRANSIT, S.EXCEPTION}), S.DELIVERED),
        E.REPORT_EXCEPTION: (frozenset({S.SHIPPED, S.IN_TRANSIT}), S.EXCEPTION),
        E.RETURN: (frozenset({S.SHIPPED, S.IN_TRANSIT, S.EXCEPTION}), S.RETURNED),
    }
)

UNSHIPPED = frozenset({S.PAID, S.WAYBILL_ASSIGNED, S.LABEL_PRINTED})
SHIPPED_OR_LATER = frozenset({S.SHIPPED, S.IN_TRANSIT, S.DELIVERED, S.EXCEPTION, S.RETURNED})

# What a tracking status means for the order (statuses not listed leave it as it is).
TRACKING_EVENTS = MappingProxyType(
    {
        TrackingStatus.COLLECTED: E.MOVE,
        TrackingStatus.IN_TRANSIT: E.MOVE,
        TrackingStatus.ARRIVED_AT_CITY: E.MOVE,
        TrackingStatus.OUT_FOR_DELIVERY: E.MOVE,
        TrackingStatus.AVAILABLE_FOR_PICKUP: E.MOVE,
        TrackingStatus.DELIVERED: E.DELIVER,
        TrackingStatus.DELIVERY_FAILED: E.REPORT_EXCEPTION,
        TrackingStatus.PROBLEM: E.REPORT_EXCEPTION,
        TrackingStatus.REFUSED: E.REPORT_EXCEPTION,
        TrackingStatus.RETURNING: E.REPORT_EXCEPTION,
        TrackingStatus.EXPIRED: E.REPORT_EXCEPTION,
        TrackingStatus.RETURNED: E.RETURN,
    }
)


class InvalidTransition(AppError):
    status_code = 409
    code = ErrorCode.INVALID_TRANSITION


def can(current: str, event: OrderEvent) -> bool:
    sources, _ = TRANSITIONS[event]
    return OrderStatus(current) in sources


def next_status(current: str, event: OrderEvent, *, order_id: str | None = None) -> OrderStatus:
    """The state ``event`` leads to from ``current``, or InvalidTransition (409 invalid_transition)."""
    sources, target = TRANSITIONS[event]
    state = OrderStatus(current)
    if state not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise InvalidTransition(
            f"order {order_id or ''} is {state.value}; cannot {event.value} (allowed from: {allowed})".replace(
                "  ", " "
            ),
            details={"order_id": order_id, "status": state.value, "event": event.value},
        )
    return target
