"""A shop's settings and its marketplace stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.shipping.channels.base import MARKETPLACES
from services.shipping.models.base import MAX_LEAD_MINUTES, Base, ConfirmMode, LabelSize, one_of


class ShopSettings(Base):
    """Per-shop label sender, courier-choice preferences and time zone (its marketplace stores: ``Store``)."""

    __tablename__ = "shop_settings"
    # Bounded, so the ship-by sweep reads one index range: deadlines within the longest lead of any shop.
    __table_args__ = (
        CheckConstraint(f"late_to_ship_lead_minutes BETWEEN 0 AND {MAX_LEAD_MINUTES}", name="late_to_ship_lead"),
        CheckConstraint(one_of("label_size", LabelSize), name="label_size"),
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
    # Labels: the size for every carrier but those in label_sizes (carrier code -> a LabelSize), and whether the
    # receiver's name and phone are masked on them (隐私面单, on unless the shop turns it off).
    label_size: Mapped[str] = mapped_column(Text, server_default=LabelSize.S100X150.value)
    label_sizes: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    privacy_labels: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Store(Base):
    """A marketplace store bound to a shop: a channel's seller (Taobao's seller nick, Pinduoduo's mall id)
    whose order messages route to the shop, and its authorisation (session, access token) proven at binding.
    A seller routes to one shop: the unique index refuses a second binding anywhere."""

    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("channel", "seller_id"),
        CheckConstraint(one_of("channel", MARKETPLACES), name="channel"),
        CheckConstraint(f"confirm_mode IS NULL OR {one_of('confirm_mode', ConfirmMode)}", name="confirm_mode"),
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
