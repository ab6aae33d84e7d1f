"""Tracking's tables, all in the ``tracking`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from runtime.db import service_metadata
from runtime.jobs import outbox_table
from services.tracking.domain.states import ProviderState
from shared.tracking import AlertKind, AlertState, TrackingStatus

SCHEMA = "tracking"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


Outbox = outbox_table(Base.metadata)


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Subscription(Base):
    """One parcel followed with the provider: its shop and order, its salt, and its current status."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("carrier", "number"),
        CheckConstraint(_in("status", TrackingStatus), name="status_known"),
        CheckConstraint(_in("provider_state", ProviderState), name="provider_state_known"),
        Index("ix_subscriptions_number", "number"),
        Index("ix_subscriptions_shop_order", "shop_id", "order_id"),
        # Polling looks for active subscriptions that have gone quiet.
        Index("ix_subscriptions_quiet", "last_heard_at", postgresql_where=text("provider_state = 'subscribed'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    order_id: Mapped[str] = mapped_column(Text)
    carrier: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(Text)
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    destination_province: Mapped[str | None] = mapped_column(Text)
    promised_days: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(Text, server_default=TrackingStatus.PENDING.value)
    # Highest rank reached (see normalise.RANK); exceptions do not lower it.
    progress: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When a push or a query last told us anything (service clock); polling measures quiet from it.
    last_heard_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_state: Mapped[str] = mapped_column(Text, server_default=ProviderState.PENDING.value)
    provider_code: Mapped[str | None] = mapped_column(Text)
    provider_message: Mapped[str | None] = mapped_column(Text)
    subscribe_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    subscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RawPush(Base):
    """A push exactly as received (or a query answer), stored before we acknowledge it; workers take
    unprocessed ones in batches. A push identical to one already kept for the parcel is acknowledged
    without a second row (the webhook's insert skips it on the unique (subscription_id, body_hash))."""

    __tablename__ = "raw_pushes"
    __table_args__ = (
        CheckConstraint("source IN ('push', 'poll')", name="source_known"),
        Index("ix_raw_pushes_unprocessed", "id", postgresql_where=text("processed_at IS NULL")),
        # Its leading column also serves the lookups by subscription (it replaced that index).
        UniqueConstraint("subscription_id", "body_hash"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey(Subscription.id))
    source: Mapped[str] = mapped_column(Text, server_default="push")
    param: Mapped[str] = mapped_column(Text)
    # md5(param) as a uuid (16 bytes): collisions are no concern, as only pushes signed with the parcel's salt
    # get here. NULL for query answers (source 'poll') and for rows older than this column: NULLs never
    # conflict, so those are never deduplicated.
    body_hash: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class TrackingEvent(Base):
    """One event of a parcel's timeline, stored once however many pushes repeat it."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("subscription_id", "fingerprint"),
        CheckConstraint(_in("status", TrackingStatus), name="status_known"),
        Index("ix_events_subscription_time", "subscription_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey(Subscription.id))
    # Hash of (time, context, code): what makes two reports the same event.
    fingerprint: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text)
    provider_code: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text)
    area_code: Mapped[str | None] = mapped_column(Text)
    area_name: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Alert(Base):
    """物流预警: open -> acknowledged -> resolved; at most one unresolved alert per parcel and kind."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_in("kind", AlertKind), name="kind_known"),
        CheckConstraint(_in("state", AlertState), name="state_known"),
        Index(
            "uq_alerts_active_kind",
            "subscription_id",
            "kind",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index("ix_alerts_shop_state", "shop_id", "state", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    subscription_id: Mapped[int] = mapped_column(ForeignKey(Subscription.id))
    carrier: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    order_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=AlertState.OPEN.value)
    message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertSetting(Base):
    """A shop's alert thresholds for one carrier, or for all its carriers (carrier ``*``)."""

    __tablename__ = "alert_settings"
    __table_args__ = (
        CheckConstraint("not_collected_hours > 0", name="not_collected_positive"),
        CheckConstraint("no_update_hours > 0", name="no_update_positive"),
        CheckConstraint("late_grace_hours >= 0", name="late_grace_not_negative"),
        CheckConstraint("transit_days > 0", name="transit_days_positive"),
    )

    shop_id: Mapped[str] = mapped_column(Text, primary_key=True)
    carrier: Mapped[str] = mapped_column(Text, primary_key=True)
    not_collected_hours: Mapped[float | None] = mapped_column(Float)
    no_update_hours: Mapped[float | None] = mapped_column(Float)
    late_grace_hours: Mapped[float | None] = mapped_column(Float)
    transit_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Notification(Base):
    """A TrackingUpdate owed to the shipping service; sent by workers with retries (at least once;
    shipping deduplicates on ``event_id``)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id"),
        Index("ix_notifications_due", "next_attempt_at", postgresql_where=text("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text)
    subscription_id: Mapped[int] = mapped_column(ForeignKey(Subscription.id))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class ClockOverride(Base):
    """The simulated clock every process follows when set (tests, accelerated demos); one row at most."""

    __tablename__ = "clock"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("factor > 0", name="factor_positive"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="1")
    anchor_real: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    anchor_sim: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    factor: Mapped[float] = mapped_column(Float)
