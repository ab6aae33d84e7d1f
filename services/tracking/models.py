"""Tracking's tables, all in the ``tracking`` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from runtime.db import service_metadata
from runtime.jobs import outbox_table

SCHEMA = "tracking"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


Outbox = outbox_table(Base.metadata)
