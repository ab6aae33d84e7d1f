"""Shipments, the order lines each carries, and their parcels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.shipping.models.base import (
    LIVE_SHIPMENT,
    UNCONFIRMED_SHIPMENT_STATES,
    Base,
    ConfirmMode,
    ParcelStatus,
    ShipmentStatus,
    one_of,
)


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(one_of("status", ShipmentStatus), name="status"),
        CheckConstraint(one_of("confirm_mode", ConfirmMode), name="confirm_mode"),
        # The database refuses one number on two live shipments (and one line of an order on two: ShipmentLine).
        Index("uq_shipments_live_number", "number", unique=True, postgresql_where=text(LIVE_SHIPMENT)),
        Index("ix_shipments_order", "order_id"),
        Index("ix_shipments_shop", "shop_id", "created_at"),
        Index("ix_shipments_batch", "batch_id"),
        Index(
            "ix_shipments_unconfirmed",
            "updated_at",
            postgresql_where=text(one_of("status", UNCONFIRMED_SHIPMENT_STATES)),
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
        CheckConstraint(one_of("status", ParcelStatus), name="status"),
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
    # The courier's routing for the number's destination, from its e-waybill service: the sort code (三段码 /
    # 大头笔) printed large, and the consolidation centre (集包地). Null until the courier has answered.
    sort_code: Mapped[str | None] = mapped_column(Text)
    package_center: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
