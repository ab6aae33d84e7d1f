"""What every shipping table shares: the schema, the declarative base, the outbox, and the status enums and
constants their constraints name."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy.orm import DeclarativeBase

from runtime.db import service_metadata
from runtime.jobs import outbox_table
from services.shipping.states import UNSHIPPED

SCHEMA = "shipping"


class ShipmentStatus(StrEnum):
    PENDING = "pending"
    CONFIRMING = "confirming"  # a worker holds it (``lease_until``) while it talks to the marketplace
    # Confirmed at collection: the label is made and its numbers held; the marketplace is told once the courier
    # collects a parcel (tracking says so) or at the shop's confirmation time, whichever comes first.
    HELD = "held"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    VOIDED = "voided"  # its labels voided before collection (回收单号): the numbers are never used again


class ConfirmMode(StrEnum):
    AT_PRINT = "at_print"  # the marketplace is told as soon as the label is made
    AT_COLLECTION = "at_collection"  # ... when the courier collects it, or at the shop's confirmation time


class LabelSize(StrEnum):
    """The standard e-waybill (电子面单) sizes, width x height in mm."""

    S100X150 = "100x150"  # the common one-part thermal label (一联单)
    S100X180 = "100x180"  # the two-part label (二联单): the courier's stub below the main part
    S76X130 = "76x130"  # the small label of couriers' own narrow printers


class ParcelStatus(StrEnum):
    LIVE = "live"  # on a live shipment: holds its number
    RELEASED = "released"  # its shipment failed or was cancelled: the number went as that outcome says
    VOIDED = "voided"  # voided before collection: the number is voided at the courier and never used again


class ItemStatus(StrEnum):
    """A batch item: pending (not claimed yet), shipping (its order is the batch's), then a result."""

    PENDING = "pending"
    SHIPPING = "shipping"
    SHIPPED = "shipped"
    FAILED = "failed"
    SKIPPED = "skipped"


class ChunkStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class AlertKind(StrEnum):
    """What an order alert is about (``order_alerts``; written only by ``service/order_alerts.py``)."""

    LATE_TO_SHIP = "late_to_ship"  # the ship-by time is near (the shop's lead time) and the order is unshipped
    SHIP_BY_PASSED = "ship_by_passed"  # the ship-by time passed, still unshipped
    NOT_COLLECTED_BY_SHIP_BY = "not_collected_by_ship_by"  # labelled and held, the courier had not collected it
    ADDRESS_CHANGE_AFTER_COLLECTION = "address_change_after_collection"
    ADDRESS_INVALID = "address_invalid"  # the receiver's address failed the intake checks: the order is held


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class OrderHold(StrEnum):
    """Why an order may not ship (``orders.held``; NULL: not held)."""

    ADDRESS_INVALID = "address_invalid"


# A shipment that holds its order and its number (the unique indexes below); failed and cancelled ones do not.
LIVE_SHIPMENT_STATES = (
    ShipmentStatus.PENDING,
    ShipmentStatus.CONFIRMING,
    ShipmentStatus.HELD,
    ShipmentStatus.CONFIRMED,
)


UNCONFIRMED_SHIPMENT_STATES = (ShipmentStatus.PENDING, ShipmentStatus.CONFIRMING)


OPEN_ITEM_STATES = (ItemStatus.PENDING, ItemStatus.SHIPPING)


def one_of(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


LIVE_SHIPMENT = one_of("status", LIVE_SHIPMENT_STATES)


UNSHIPPED_ORDER = one_of("status", sorted(UNSHIPPED))


MAX_LEAD_MINUTES = 7 * 24 * 60  # the longest late_to_ship lead a shop may set


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


Outbox = outbox_table(Base.metadata)
