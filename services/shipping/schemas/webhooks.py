"""Shops' webhook endpoints and the deliveries of events to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

# A shop's active webhook endpoints (409 webhook_limit_reached beyond) and event types per endpoint (422).
MAX_WEBHOOK_ENDPOINTS = 10
MAX_WEBHOOK_EVENT_TYPES = 20
MAX_WEBHOOK_EVENT_TYPE_LENGTH = 64


class WebhookEndpointIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"url": "https://shop.example.com/hooks/waybill", "events": []},
                {"url": "https://erp.example.com:8443/waybill", "events": ["shipment.confirmed", "shipment.failed"]},
            ]
        }
    )

    url: AnyHttpUrl = Field(
        description=(
            "https URL of a host whose every address is public. Refused (422 webhook_url_refused): plain http "
            "(unless the operator allows it), user info, ports browsers refuse (25, 22...), numeric hosts in "
            "non-standard forms, and hosts that are or resolve to loopback, private, link-local, carrier-grade "
            "NAT, multicast or reserved addresses. Checked again before every delivery."
        ),
        examples=["https://shop.example.com/hooks/waybill"],
    )
    events: list[str] = Field(
        default_factory=list,
        max_length=MAX_WEBHOOK_EVENT_TYPES,
        description=f"Event types to send (at most {MAX_WEBHOOK_EVENT_TYPES}); empty: every event.",
        examples=[["shipment.confirmed", "tracking.status_changed"]],
    )

    @field_validator("events")
    @classmethod
    def _event_type_lengths(cls, value: list[str]) -> list[str]:
        if any(not 0 < len(e) <= MAX_WEBHOOK_EVENT_TYPE_LENGTH for e in value):
            raise ValueError(f"an event type is 1 to {MAX_WEBHOOK_EVENT_TYPE_LENGTH} characters")
        return list(dict.fromkeys(value))  # the same type twice sends once anyway


class WebhookEndpointOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "whe_1c3e5a7b9d2f4a6c8e0b",
                    "url": "https://shop.example.com/hooks/waybill",
                    "events": ["shipment.confirmed", "shipment.failed"],
                    "active": True,
                    "created_at": "2026-11-28T10:00:00+08:00",
                    "secret": "whsec_3f7a9c1e5b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d",
                }
            ]
        }
    )

    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    secret: str | None = Field(None, description="Signing secret; shown only when the endpoint is created.")


class WebhookDeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "2b8e4f6a-1c3d-4e5f-9a7b-8c6d5e4f3a2b",
                    "event_id": "7c1d3e5f-2a4b-4c6d-8e0f-1a2b3c4d5e6f",
                    "endpoint_id": "whe_1c3e5a7b9d2f4a6c8e0b",
                    "event_type": "shipment.confirmed",
                    "status": "failed",
                    "attempts": 8,
                    "last_status_code": 502,
                    "last_error": "HTTP 502 from the endpoint",
                    "created_at": "2026-11-28T10:00:00+08:00",
                    "delivered_at": None,
                    "payload": {
                        "id": "7c1d3e5f-2a4b-4c6d-8e0f-1a2b3c4d5e6f",
                        "type": "shipment.confirmed",
                        "occurred_at": "2026-11-28T02:00:00Z",
                        "shop_id": "s-9a3f1c2b7e4d",
                        "data": {"order_id": "ord_4b1e9c2a7d3f5e8a0b6c", "carrier": "ZTO", "number": "78345678901234"},
                    },
                }
            ]
        },
    )

    id: uuid.UUID
    event_id: uuid.UUID
    endpoint_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
