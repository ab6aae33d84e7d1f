"""Shipping's tables, all in the ``shipping`` schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from runtime.db import service_metadata
from runtime.jobs import outbox_table
from services.shipping.channels.base import MARKETPLACES, ChannelName
from services.shipping.states import UNSHIPPED, OrderStatus

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


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


LIVE_SHIPMENT = _in("status", LIVE_SHIPMENT_STATES)
UNSHIPPED_ORDER = _in("status", sorted(UNSHIPPED))
MAX_LEAD_MINUTES = 7 * 24 * 60  # the longest late_to_ship lead a shop may set


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


Outbox = outbox_table(Base.metadata)


class ShopSettings(Base):
    """Per-shop label sender, courier-choice preferences and time zone (its marketplace stores: ``Store``)."""

    __tablename__ = "shop_settings"
    # Bounded, so the ship-by sweep reads one index range: deadlines within the longest lead of any shop.
    __table_args__ = (
        CheckConstraint(f"late_to_ship_lead_minutes BETWEEN 0 AND {MAX_LEAD_MINUTES}", name="late_to_ship_lead"),
    )

    shop_id: Mapped[str] = mapped_column(Text, primary_key=True)
    sender_name: Mapped[str] = mapped_column(Text, server_default="")
    sender_phone: Mapped[str] = mapped_column(Text, server_default="")
    sender_address: Mapped[str] = mapped_column(Text, server_default="")
    default_carrier: Mapped[str | None] = mapped_column(Text)
    weights: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # A late_to_ship alert opens this long before an unshipped order's ship-by time.
    late_to_ship_lead_minutes: Mapped[int] = mapped_column(Integer, server_default="240")
    time_zone: Mapped[str] = mapped_column(Text, server_default="Asia/Shanghai")
    confirm_mode: Mapped[str] = mapped_column(Text, server_default=ConfirmMode.AT_PRINT.value)
    # at_collection: held shipments are confirmed at this time of day (shop's time zone, "HH:MM") at the latest.
    confirm_time: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Store(Base):
    """A marketplace store bound to a shop: a channel's seller (Taobao's seller nick, Pinduoduo's mall id)
    whose order messages route to the shop, and its authorisation (session, access token) proven at binding.
    A seller routes to one shop: the unique index refuses a second binding anywhere."""

    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("channel", "seller_id"),
        CheckConstraint(_in("channel", MARKETPLACES), name="channel"),
        CheckConstraint(f"confirm_mode IS NULL OR {_in('confirm_mode', ConfirmMode)}", name="confirm_mode"),
        Index("ix_stores_shop", "shop_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    seller_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, server_default="")
    token: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    confirm_mode: Mapped[str | None] = mapped_column(Text)  # None: the shop's
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # One external id per shop across its channels: it is also the order's reference in allocation.
        UniqueConstraint("shop_id", "external_id"),
        CheckConstraint(_in("status", OrderStatus), name="status"),
        CheckConstraint(_in("channel", ChannelName), name="channel"),
        # A marketplace order belongs to one of the shop's stores; the shop's own orders to none.
        CheckConstraint("(channel = 'own') = (store_id IS NULL)", name="store"),
        CheckConstraint("weight_g >= 0", name="weight"),
        CheckConstraint(f"held IS NULL OR {_in('held', OrderHold)}", name="held"),
        Index("ix_orders_shop_status", "shop_id", "status", "created_at"),
        # The ship-by sweep walks the unshipped orders by deadline; lists filter and sort a shop's by it.
        Index("ix_orders_unshipped_ship_by", "ship_by", "id", postgresql_where=text(UNSHIPPED_ORDER)),
        Index("ix_orders_shop_ship_by", "shop_id", "ship_by", "id"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text, server_default=ChannelName.OWN.value)
    store_id: Mapped[str | None] = mapped_column(Text, ForeignKey("stores.id"))
    status: Mapped[str] = mapped_column(Text)
    buyer_nick: Mapped[str | None] = mapped_column(Text)
    receiver_name: Mapped[str] = mapped_column(Text)
    receiver_phone: Mapped[str] = mapped_column(Text)
    receiver_state: Mapped[str] = mapped_column(Text)
    receiver_city: Mapped[str] = mapped_column(Text)
    receiver_district: Mapped[str] = mapped_column(Text, server_default="")
    receiver_address: Mapped[str] = mapped_column(Text)
    receiver_zip: Mapped[str] = mapped_column(Text, server_default="")
    weight_g: Mapped[int] = mapped_column(Integer)
    payment_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    items: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    carrier: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(Text)
    shipment_id: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # Parcel ordinals handed out (each parcel's allocation reference is derived from its ordinal, so a retried
    # ship asks allocation for the same references and gets the same numbers back: none is lost to a crash).
    parcel_seq: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Ship by then (发货超时): the channel's deadline, else paid time plus the channel's default.
    ship_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    held: Mapped[str | None] = mapped_column(Text)  # an OrderHold: the order may not ship until it is released


class OrderEvent(Base):
    """Every state change of an order, for the audit trail."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(Text, ForeignKey("orders.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderAlert(Base):
    """Something about an order a seller must act on (发货超时, a bad address, ...). At most one unresolved
    alert per order and kind: the partial unique index makes a second opener a no-op, however many race."""

    __tablename__ = "order_alerts"
    __table_args__ = (
        CheckConstraint(_in("kind", AlertKind), name="kind"),
        CheckConstraint(_in("state", AlertState), name="state"),
        Index(
            "uq_order_alerts_unresolved", "order_id", "kind", unique=True, postgresql_where=text("state <> 'resolved'")
        ),
        Index("ix_order_alerts_shop", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    order_id: Mapped[str] = mapped_column(Text, ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=AlertState.OPEN.value)
    message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MarketplaceMessage(Base):
    """Every order message we accepted, by the channel's message id: a repeat is a no-op."""

    __tablename__ = "marketplace_messages"
    __table_args__ = (PrimaryKeyConstraint("channel", "id"),)

    channel: Mapped[str] = mapped_column(Text, server_default=ChannelName.TAOBAO.value)
    id: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    seller_id: Mapped[str] = mapped_column(Text)
    shop_id: Mapped[str | None] = mapped_column(Text)
    tid: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(_in("status", ShipmentStatus), name="status"),
        CheckConstraint(_in("confirm_mode", ConfirmMode), name="confirm_mode"),
        # The database refuses one number on two live shipments (and one line of an order on two: ShipmentLine).
        Index("uq_shipments_live_number", "number", unique=True, postgresql_where=text(LIVE_SHIPMENT)),
        Index("ix_shipments_order", "order_id"),
        Index("ix_shipments_shop", "shop_id", "created_at"),
        Index("ix_shipments_batch", "batch_id"),
        Index(
            "ix_shipments_unconfirmed", "updated_at", postgresql_where=text(_in("status", UNCONFIRMED_SHIPMENT_STATES))
        ),
        Index("ix_shipments_held_due", "confirm_due_at", postgresql_where=text("status = 'held'")),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    order_id: Mapped[str] = mapped_column(Text, ForeignKey("orders.id"))
    carrier: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    number_source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    reallocations: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    history: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    batch_id: Mapped[str | None] = mapped_column(Text)
    label_prints: Mapped[int] = mapped_column(Integer, server_default="0")
    parcel_count: Mapped[int] = mapped_column(Integer, server_default="1")
    confirm_mode: Mapped[str] = mapped_column(Text, server_default=ConfirmMode.AT_PRINT.value)
    # A held shipment is confirmed at this time at the latest (the shop's confirmation time of day).
    confirm_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShipmentLine(Base):
    """Which of its order's lines a shipment carries (拆单: a split order ships its lines in several shipments).
    The database refuses one line of an order on two live shipments; a shipment that fails, is cancelled or
    voided gives its lines up (``live`` false) for the next one."""

    __tablename__ = "shipment_lines"
    __table_args__ = (
        PrimaryKeyConstraint("shipment_id", "line"),
        CheckConstraint("line >= 1", name="line"),
        Index("uq_shipment_lines_live", "order_id", "line", unique=True, postgresql_where=text("live")),
    )

    shipment_id: Mapped[str] = mapped_column(Text, ForeignKey("shipments.id"))
    line: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(Text, ForeignKey("orders.id"))
    live: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Parcel(Base):
    """One box of a shipment (一单多包): its own number, label and tracking. Parcel 1's number is the shipment's
    (``Shipment.number``, the main number the marketplace shows first). The database refuses one number on two
    live parcels, and one allocation reference (the order's parcel ordinal) twice."""

    __tablename__ = "parcels"
    __table_args__ = (
        CheckConstraint(_in("status", ParcelStatus), name="status"),
        CheckConstraint("seq >= 1 AND ordinal >= 1", name="seq"),
        CheckConstraint("weight_g IS NULL OR weight_g >= 0", name="weight"),
        # A parcel whose number changed keeps its row (voided); its successor takes its place.
        Index("uq_parcels_live_seq", "shipment_id", "seq", unique=True, postgresql_where=text("status = 'live'")),
        Index("uq_parcels_live_number", "number", unique=True, postgresql_where=text("status = 'live'")),
        Index("uq_parcels_live_ordinal", "order_id", "ordinal", unique=True, postgresql_where=text("status = 'live'")),
        Index("ix_parcels_shop_number", "shop_id", "number"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    order_id: Mapped[str] = mapped_column(Text, ForeignKey("orders.id"))
    shipment_id: Mapped[str] = mapped_column(Text, ForeignKey("shipments.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1..n within its shipment
    ordinal: Mapped[int] = mapped_column(Integer)  # within its order: the allocation reference
    carrier: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    # Multi-piece freight (子母件): the child parcels name the parent's number.
    parent_number: Mapped[str | None] = mapped_column(Text)
    weight_g: Mapped[int | None] = mapped_column(Integer)
    lines: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))  # order line numbers
    status: Mapped[str] = mapped_column(Text, server_default=ParcelStatus.LIVE.value)
    label_prints: Mapped[int] = mapped_column(Integer, server_default="0")
    tracking_status: Mapped[str | None] = mapped_column(Text)
    collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShipmentBatch(Base):
    __tablename__ = "shipment_batches"
    __table_args__ = (Index("ix_shipment_batches_shop", "shop_id", "created_at"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    carrier: Mapped[str | None] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer)
    label_prints: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BatchChunk(Base):
    """A slice of a batch that one worker claims at a time; a lapsed lease lets another take it over."""

    __tablename__ = "batch_chunks"
    __table_args__ = (
        PrimaryKeyConstraint("batch_id", "chunk_no"),
        CheckConstraint(_in("status", ChunkStatus), name="status"),
        Index("ix_batch_chunks_open", "status", "lease_until", postgresql_where=text("status <> 'done'")),
    )

    batch_id: Mapped[str] = mapped_column(Text, ForeignKey("shipment_batches.id", ondelete="CASCADE"))
    chunk_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claims: Mapped[int] = mapped_column(Integer, server_default="0")


class BatchItem(Base):
    __tablename__ = "batch_items"
    __table_args__ = (
        PrimaryKeyConstraint("batch_id", "seq"),
        CheckConstraint(_in("status", ItemStatus), name="status"),
        Index("ix_batch_items_chunk", "batch_id", "chunk_no"),
        Index("ix_batch_items_shipment", "shipment_id"),
        Index("ix_batch_items_open", "batch_id", postgresql_where=text(_in("status", OPEN_ITEM_STATES))),
        # The auto-ship sweep leaves out orders in an open batch or one that failed them a moment ago.
        Index("ix_batch_items_order", "order_id", "updated_at"),
    )

    batch_id: Mapped[str] = mapped_column(Text, ForeignKey("shipment_batches.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    chunk_no: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    message: Mapped[str | None] = mapped_column(Text)
    shipment_id: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TrackingUpdateRecord(Base):
    """Tracking updates applied (or ignored), by event id: a redelivery is a no-op."""

    __tablename__ = "tracking_updates"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    applied: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_shop", "shop_id"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookDelivery(Base):
    """One event for one endpoint: retried with backoff, kept as failed after the last try."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", DeliveryStatus), name="status"),
        Index("ix_webhook_deliveries_shop", "shop_id", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    endpoint_id: Mapped[str] = mapped_column(Text, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    shop_id: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AutoShipRule(Base):
    """A shop's rule for shipping its paid orders in batches by itself (自动发货规则): the sweep tries a shop's
    active rules in priority order and each order is the first matching rule's (``auto_ship_rules``)."""

    __tablename__ = "auto_ship_rules"
    __table_args__ = (
        CheckConstraint("priority >= 0", name="priority"),
        CheckConstraint("min_age_minutes >= 0", name="min_age"),
        CheckConstraint("max_batch >= 1", name="max_batch"),
        Index("ix_auto_ship_rules_shop", "shop_id", "priority", "created_at"),
        Index("ix_auto_ship_rules_active", "shop_id", postgresql_where=text("active")),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    carrier: Mapped[str] = mapped_column(Text)
    # schemas.auto_ship.RuleConditions as JSON: provinces, weight bounds, stores, time windows.
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    min_age_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    max_batch: Mapped[int] = mapped_column(Integer, server_default="500")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AutoShipRun(Base):
    """What one sweep did with one rule: the batch it made, the orders it took, and a bounded record of what it
    left and why (counts per reason, the first orders)."""

    __tablename__ = "auto_ship_runs"
    __table_args__ = (Index("ix_auto_ship_runs_rule", "rule_id", "at", "id"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[str] = mapped_column(Text, ForeignKey("auto_ship_rules.id", ondelete="CASCADE"))
    batch_id: Mapped[str] = mapped_column(Text, ForeignKey("shipment_batches.id"))
    carrier: Mapped[str] = mapped_column(Text)
    taken: Mapped[int] = mapped_column(Integer)
    order_ids: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    skipped: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped_by_reason: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    skipped_orders: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
