"""The order state machine: every allowed transition is in ``TRANSITIONS``, nowhere else.

paid -> waybill_assigned -> label_printed -> shipped -> in_transit -> delivered (a split order passes through
partly_shipped, where its later parts ship without moving it, until its last line is confirmed), with the branches
exception (tracking saw a problem; it can recover), returned and cancelled. A failed or cancelled
shipment puts the order back to paid so it can be shipped again.

Pure: ``transition`` (and ``transition_many``) take an order's current status and an event and answer the
new status with the audit row to write, or refuse with ``invalid_transition``; the audit rows that are not
a change of state (created, address changed, number replaced) are built here too. Applying the answer to
the stored order is ``services.shipping.service.orders``' job, the one writer of ``Order.status``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar

from runtime.errors import AppError
from shared.errors import ErrorCode
from shared.tracking import TrackingStatus


class OrderStatus(StrEnum):
    PAID = "paid"
    WAYBILL_ASSIGNED = "waybill_assigned"
    LABEL_PRINTED = "label_printed"
    PARTLY_SHIPPED = "partly_shipped"  # a split order (拆单): some lines confirmed, the others still to ship
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
    CONFIRM_PART = "confirm_part"  # a shipment of some of the order's lines confirmed; others remain
    FAIL_SHIPMENT = "fail_shipment"
    CANCEL_SHIPMENT = "cancel_shipment"
    VOID_SHIPMENT = "void_shipment"  # its labels voided before collection (回收单号): the order ships again
    CANCEL = "cancel"
    MOVE = "in_transit"
    DELIVER = "deliver"
    REPORT_EXCEPTION = "report_exception"
    RETURN = "return"


class OrderNote(StrEnum):
    """Audit rows that record something other than a change of state."""

    CREATE = "create"
    ADDRESS_CHANGED = "address_changed"
    NUMBER_REPLACED = "number_replaced"
    NUMBERS_CHANGED = "numbers_changed"  # the seller changed the numbers after confirmation (换单号)
    PART_SHIPPING = "part_shipping"  # a later part of a split order got its numbers (the order stays partly shipped)
    PART_ENDED = "part_ended"  # ... or failed, was cancelled or voided
    HELD = "held"  # the order may not ship (orders.held says why)
    RELEASED = "released"  # ... and may again


# The state every order starts in (an order is created once it is paid).
INITIAL = OrderStatus.PAID

UNSHIPPED = frozenset({OrderStatus.PAID, OrderStatus.WAYBILL_ASSIGNED, OrderStatus.LABEL_PRINTED})
_ON_ITS_WAY = frozenset({OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT, OrderStatus.EXCEPTION})
_SHIPMENT_OPEN = frozenset({OrderStatus.WAYBILL_ASSIGNED, OrderStatus.LABEL_PRINTED})

# event -> (states it may start from, state it leads to)
TRANSITIONS = MappingProxyType(
    {
        OrderEvent.ASSIGN_WAYBILL: (frozenset({OrderStatus.PAID}), OrderStatus.WAYBILL_ASSIGNED),
        OrderEvent.PRINT_LABEL: (frozenset({OrderStatus.WAYBILL_ASSIGNED}), OrderStatus.LABEL_PRINTED),
        OrderEvent.CONFIRM_SHIPMENT: (
            frozenset({OrderStatus.LABEL_PRINTED, OrderStatus.PARTLY_SHIPPED}),
            OrderStatus.SHIPPED,
        ),
        OrderEvent.CONFIRM_PART: (frozenset({OrderStatus.LABEL_PRINTED}), OrderStatus.PARTLY_SHIPPED),
        OrderEvent.FAIL_SHIPMENT: (_SHIPMENT_OPEN, OrderStatus.PAID),
        OrderEvent.CANCEL_SHIPMENT: (_SHIPMENT_OPEN, OrderStatus.PAID),
        # A confirmed one too, when its channel can take the confirmation back (the shop's own).
        OrderEvent.VOID_SHIPMENT: (_SHIPMENT_OPEN | {OrderStatus.SHIPPED}, OrderStatus.PAID),
        OrderEvent.CANCEL: (UNSHIPPED, OrderStatus.CANCELLED),
        OrderEvent.MOVE: (frozenset({OrderStatus.SHIPPED, OrderStatus.EXCEPTION}), OrderStatus.IN_TRANSIT),
        OrderEvent.DELIVER: (_ON_ITS_WAY, OrderStatus.DELIVERED),
        OrderEvent.REPORT_EXCEPTION: (frozenset({OrderStatus.SHIPPED, OrderStatus.IN_TRANSIT}), OrderStatus.EXCEPTION),
        OrderEvent.RETURN: (_ON_ITS_WAY, OrderStatus.RETURNED),
    }
)

# What a tracking status means for the order (statuses not listed leave it as it is).
TRACKING_EVENTS = MappingProxyType(
    {
        TrackingStatus.COLLECTED: OrderEvent.MOVE,
        TrackingStatus.IN_TRANSIT: OrderEvent.MOVE,
        TrackingStatus.ARRIVED_AT_CITY: OrderEvent.MOVE,
        TrackingStatus.OUT_FOR_DELIVERY: OrderEvent.MOVE,
        TrackingStatus.AVAILABLE_FOR_PICKUP: OrderEvent.MOVE,
        TrackingStatus.DELIVERED: OrderEvent.DELIVER,
        TrackingStatus.DELIVERY_FAILED: OrderEvent.REPORT_EXCEPTION,
        TrackingStatus.PROBLEM: OrderEvent.REPORT_EXCEPTION,
        TrackingStatus.REFUSED: OrderEvent.REPORT_EXCEPTION,
        TrackingStatus.RETURNING: OrderEvent.REPORT_EXCEPTION,
        TrackingStatus.EXPIRED: OrderEvent.REPORT_EXCEPTION,
        TrackingStatus.RETURNED: OrderEvent.RETURN,
    }
)


class InvalidTransition(AppError):
    status_code = 409
    code = ErrorCode.INVALID_TRANSITION


class HasStatus(Protocol):
    """What the machine reads of an order: its id (for the row and the refusal) and its current status."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class EventRow:
    """One row of the order's audit trail (``shipping.order_events``)."""

    order_id: str
    event: str
    from_status: str
    to_status: str
    note: str | None = None

    def values(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class Transition:
    """The machine's answer: the state the order moves to and the row that records it."""

    status: OrderStatus
    row: EventRow


# Unbounded (mypy checks a bound on a type argument before it knows a mapped class's attributes); the
# many-orders form asks for orders that have a status.
AnOrder = TypeVar("AnOrder", covariant=True)


@dataclass(frozen=True)
class Change(Generic[AnOrder]):
    """One order of a many-orders transition, with its own note."""

    order: AnOrder
    note: str | None = None


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


def transition(order: HasStatus, event: OrderEvent, note: str | None = None) -> Transition:
    """The new state of ``order`` after ``event`` and its audit row, or InvalidTransition."""
    target = next_status(order.status, event, order_id=order.id)
    return Transition(target, EventRow(order.id, event.value, order.status, target.value, note))


def transition_many(event: OrderEvent, changes: Iterable[Change[HasStatus]]) -> list[Transition]:
    """``transition`` for many orders, one event: every order is checked before any answer is given, so a
    refusal (the first one found) leaves the caller nothing half applied."""
    return [transition(c.order, event, c.note) for c in changes]


def created(order_id: str, note: str) -> EventRow:
    """The first row of an order's trail: created in the initial state."""
    return EventRow(order_id, OrderNote.CREATE.value, "", INITIAL.value, note)


def noted(order: HasStatus, kind: OrderNote, note: str) -> EventRow:
    """A row that records something about the order without changing its state."""
    return EventRow(order.id, kind.value, order.status, order.status, note)
