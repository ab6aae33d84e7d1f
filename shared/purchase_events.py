"""Events allocation tells shops about their purchases, delivered as shipping's webhooks: allocation records
each (its stock events feed) and relays it to shipping's ``POST /internal/v1/events``, which sends it to the
shop's endpoints as any of its own events. The id is derived from allocation's event, so a relay repeated
(at-least-once, like every delivery) carries the same id for consumers to deduplicate on."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Event

# uuid5 namespace of allocation's relayed events (fixed: ids must not change between releases).
_NAMESPACE = uuid.UUID("5b0e4a8e-7c1d-4f39-9a62-3d2e8f1b6c70")


class PurchaseEventType(StrEnum):
    # The purchase's unused numbers expire within the shop's expiring_notice_days (once per expiry date).
    EXPIRING = "purchase.expiring"
    # The shop's on_expiry setting acted before they expired, or could not pay the extension.
    AUTO_EXTENDED = "purchase.auto_extended"
    AUTO_EXTEND_FAILED = "purchase.auto_extend_failed"
    AUTO_REFUNDED = "purchase.auto_refunded"


def relayed_event_id(stock_event_id: int) -> uuid.UUID:
    """The webhook event's id of allocation's stock event: the same however often it is relayed."""
    return uuid.uuid5(_NAMESPACE, f"allocation.stock_events.{stock_event_id}")


class RelayedEvent(Event):
    """An event another service asks shipping to send to the shop's webhook endpoints."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0f3c5a7e-9b1d-5e2f-8a4c-6d8e0f2a4b6c",
                    "type": "purchase.expiring",
                    "occurred_at": "2027-02-19T09:30:00Z",
                    "shop_id": "s-9a3f1c2b7e4d",
                    "data": {
                        "purchase_id": "p-3f9c2a1b7d4e6f80",
                        "carrier": "ZTO",
                        "package_id": "ZTO-1000",
                        "expires_at": "2027-02-26T09:30:02Z",
                        "numbers": 412,
                        "notice_days": 7,
                        "on_expiry": "extend",
                        "action_at": "2027-02-25T09:30:02Z",
                    },
                }
            ]
        },
    )


class EventReceipt(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_id": "0f3c5a7e-9b1d-5e2f-8a4c-6d8e0f2a4b6c", "deliveries": 2}]}
    )

    event_id: uuid.UUID
    deliveries: int = Field(description="Endpoints of the shop the event is queued for (0: none wants it).")
