"""Allocation's tables, all in the ``allocation`` schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from runtime.db import service_metadata
from runtime.jobs import outbox_table

SCHEMA = "allocation"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


Outbox = outbox_table(Base.metadata)


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey(Shop.id), index=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text, server_default="default")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
