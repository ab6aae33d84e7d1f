"""Shipping's tables, all in the ``shipping`` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from runtime.db import service_metadata
from runtime.jobs import outbox_table

SCHEMA = "shipping"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


Outbox = outbox_table(Base.metadata)
