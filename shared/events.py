"""Envelope for events services emit to each other and to shops (webhooks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Consumers deduplicate on id: delivery is at-least-once.
    id: UUID
    type: str = Field(min_length=1, description='Dotted event name, e.g. "waybill.allocated"')
    # Aware only: a naive timestamp is ambiguous once it crosses a process or a time zone.
    occurred_at: AwareDatetime
    shop_id: str = Field(min_length=1)
    data: dict[str, Any] = Field(default_factory=dict)


def new_event(type: str, shop_id: str, data: dict[str, Any]) -> Event:
    """A fresh event with a random id, stamped now in UTC."""
    return Event(id=uuid4(), type=type, occurred_at=datetime.now(UTC), shop_id=shop_id, data=data)
