"""Orders, their audit trail and alerts, and the marketplace messages and tracking updates they were moved by."""

from __future__ import annotations

import uuid
from datetime import datetime
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
from sqlalchemy.orm import Mapped, mapped_column

from services.shipping.channels.base import ChannelName
from services.shipping.models.base import UNSHIPPED_ORDER, AlertKind, AlertState, Base, OrderHold, one_of
from services.shipping.states import OrderStatus


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # One external id per shop across its channels: it is also the order's reference in allocation.
        UniqueConstraint("shop_id", "external_id"),
        CheckConstraint(one_of("status", OrderStatus), name="status"),
        CheckConstraint(one_of("channel", ChannelName), name="channel"),
        # A marketplace order belongs to one of the shop's stores; the shop's own orders to none.
        CheckConstraint("(channel = 'own') = (store_id IS NULL)", name="store"),
        CheckConstraint("weight_g >= 0", name="weight"),
        CheckConstraint(f"held IS NULL OR {one_of('held', OrderHold)}", name="held"),
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
        CheckConstraint(one_of("kind", AlertKind), name="kind"),
        CheckConstraint(one_of("state", AlertState), name="state"),
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


class TrackingUpdateRecord(Base):
    """Tracking updates applied (or ignored), by event id: a redelivery is a no-op."""

    __tablename__ = "tracking_updates"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    applied: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
