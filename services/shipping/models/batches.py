"""Batches of shipments (chunks, items) and the auto-ship rules that make some of them."""

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

from services.shipping.models.base import OPEN_ITEM_STATES, Base, ChunkStatus, ItemStatus, one_of


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
        CheckConstraint(one_of("status", ChunkStatus), name="status"),
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
        CheckConstraint(one_of("status", ItemStatus), name="status"),
        Index("ix_batch_items_chunk", "batch_id", "chunk_no"),
        Index("ix_batch_items_shipment", "shipment_id"),
        Index("ix_batch_items_open", "batch_id", postgresql_where=text(one_of("status", OPEN_ITEM_STATES))),
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
