"""Shipping API request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from shared.allocation import OrderId
from shared.carriers import CarrierCode
from shared.money import Cents

MAX_BATCH = 10_000


class SettingsIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seller_nick": "杭州小铺",
                    "session": "6100e2b...",
                    "sender_name": "杭州小铺",
                    "sender_phone": "0571-88886666",
                    "sender_address": "浙江省杭州市余杭区文一西路969号",
                    "default_carrier": "ZTO",
                    "weights": {"price": 0.4, "coverage": 0.2, "transit": 0.3, "stock": 0.1},
                }
            ]
        }
    )

    seller_nick: str | None = Field(None, min_length=1, max_length=64, description="The shop's seller nick.")
    session: str | None = Field(None, min_length=1, max_length=200, description="Marketplace session token.")
    sender_name: str = Field("", max_length=100)
    sender_phone: str = Field("", max_length=40)
    sender_address: str = Field("", max_length=300)
    default_carrier: CarrierCode | None = None
    weights: dict[Literal["price", "coverage", "transit", "stock"], float] = Field(
        default_factory=dict, description="Weights of the recommendation score (missing ones keep the default)."
    )

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        if any(v < 0 or v > 100 for v in value.values()):
            raise ValueError("weights are between 0 and 100")
        return value


class SettingsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "s-9a3f1c2b7e4d",
                    "seller_nick": "杭州小铺",
                    "session_set": True,
                    "sender_name": "杭州小铺",
                    "sender_phone": "0571-88886666",
                    "sender_address": "浙江省杭州市余杭区文一西路969号",
                    "default_carrier": "ZTO",
                    "weights": {"price": 0.4, "coverage": 0.2, "transit": 0.3, "stock": 0.1},
                }
            ]
        }
    )

    shop_id: str
    seller_nick: str | None
    session_set: bool
    sender_name: str
    sender_phone: str
    sender_address: str
    default_carrier: str | None
    weights: dict[str, float]


class Receiver(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "张三",
                    "phone": "13911112222",
                    "state": "广东省",
                    "city": "深圳市",
                    "district": "南山区",
                    "address": "科技园南区高新南七道 4 栋 1201 室",
                    "zip": "518057",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=40)
    state: str = Field(min_length=1, max_length=50, description="Province, e.g. 广东省")
    city: str = Field(min_length=1, max_length=50)
    district: str = Field("", max_length=50)
    address: str = Field(min_length=1, max_length=300)
    zip: str = Field("", max_length=12)


class Item(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "保温杯", "num": 1, "price_cents": 5990}]})

    title: str = Field(max_length=200)
    num: int = Field(1, ge=1, le=100_000)
    price_cents: Cents = 0


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_id": "3001234567890123456",
                    "receiver": {
                        "name": "张三",
                        "phone": "13911112222",
                        "state": "广东省",
                        "city": "深圳市",
                        "district": "南山区",
                        "address": "科技园南区高新南七道 4 栋 1201 室",
                    },
                    "weight_g": 1250,
                    "payment_cents": 5990,
                    "items": [{"title": "保温杯", "num": 1, "price_cents": 5990}],
                }
            ]
        }
    )

    external_id: OrderId = Field(description="The marketplace order id (tid); idempotency key per shop.")
    buyer_nick: str | None = Field(None, max_length=100)
    receiver: Receiver
    weight_g: int = Field(ge=1, le=1_000_000)
    payment_cents: Cents = 0
    items: list[Item] = Field(default_factory=list, max_length=500)


class OrderOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ord_4b1e9c2a7d3f5e8a0b6c",
                    "external_id": "3001234567890123456",
                    "source": "marketplace",
                    "status": "shipped",
                    "buyer_nick": "tb_zhangsan88",
                    "receiver": {
                        "name": "张三",
                        "phone": "13911112222",
                        "state": "广东省",
                        "city": "深圳市",
                        "district": "南山区",
                        "address": "科技园南区高新南七道 4 栋 1201 室",
                        "zip": "518057",
                    },
                    "weight_g": 1250,
                    "payment_cents": 5990,
                    "items": [{"title": "保温杯", "num": 1, "price_cents": 5990}],
                    "carrier": "ZTO",
                    "number": "78345678901234",
                    "shipment_id": "shp_9d2c4e6a8b1f3d5c7e9a",
                    "flags": [],
                    "created_at": "2026-11-28T09:12:30+08:00",
                    "updated_at": "2026-11-28T10:00:00+08:00",
                    "shipped_at": "2026-11-28T10:00:00+08:00",
                }
            ]
        }
    )

    id: str
    external_id: str
    source: str
    status: str
    buyer_nick: str | None
    receiver: Receiver
    weight_g: int
    payment_cents: int
    items: list[dict[str, Any]]
    carrier: str | None
    number: str | None
    shipment_id: str | None
    flags: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None


class OrderEventOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "event": "confirm_shipment",
                    "from_status": "label_printed",
                    "to_status": "shipped",
                    "note": "ZTO 78345678901234",
                    "at": "2026-11-28T10:00:00+08:00",
                }
            ]
        },
    )

    event: str
    from_status: str
    to_status: str
    note: str | None
    at: datetime


class CarrierOptionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "ZTO",
                    "name": "中通快递",
                    "score": 0.87,
                    "usable": True,
                    "recommended": True,
                    "price_per_number_cents": 280.0,
                    "covers_destination": True,
                    "transit_days": 2,
                    "available": 412,
                    "is_default": True,
                    "reasons": [
                        "¥2.80 per number (cheapest)",
                        "covers 广东省",
                        "typically 2 day(s) to 广东省 (fastest)",
                        "412 numbers in stock",
                    ],
                }
            ]
        }
    )

    carrier: str
    name: str
    score: float
    usable: bool
    recommended: bool
    price_per_number_cents: float | None
    covers_destination: bool
    transit_days: int | None
    available: int
    is_default: bool
    reasons: list[str]


class ShipRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"carrier": "ZTO"}, {"carrier": "EMS", "number": "EA123456785CN"}]}
    )

    carrier: CarrierCode | None = Field(None, description="Recommended when absent.")
    number: str | None = Field(
        None, min_length=6, max_length=40, description="A number the seller typed; taken from the pool when absent."
    )


class ShipmentOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "shp_9d2c4e6a8b1f3d5c7e9a",
                    "order_id": "ord_4b1e9c2a7d3f5e8a0b6c",
                    "carrier": "ZTO",
                    "number": "78345678901234",
                    "number_source": "pool",
                    "status": "confirmed",
                    "attempts": 1,
                    "reallocations": 0,
                    "error_code": None,
                    "error": None,
                    "history": [{"number": "78345678901234", "event": "assigned", "at": "2026-11-28T09:59:58+08:00"}],
                    "batch_id": "bat_2f4a6c8e0b1d3f5a7c9e",
                    "label_prints": 1,
                    "created_at": "2026-11-28T09:59:58+08:00",
                    "confirmed_at": "2026-11-28T10:00:00+08:00",
                }
            ]
        },
    )

    id: str
    order_id: str
    carrier: str
    number: str
    number_source: str
    status: str
    attempts: int
    reallocations: int
    error_code: str | None
    error: str | None
    history: list[dict[str, Any]]
    batch_id: str | None
    label_prints: int
    created_at: datetime
    confirmed_at: datetime | None


class BatchCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"order_ids": ["ord_4b1e9c2a7d3f5e8a0b6c", "ord_7a9c1e3b5d7f9a2c4e6b"], "carrier": "ZTO"}]
        }
    )

    order_ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    carrier: CarrierCode | None = Field(None, description="Recommended per order when absent.")

    @field_validator("order_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("order_ids must not repeat")
        return value


class BatchItemOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "seq": 0,
                    "order_id": "ord_4b1e9c2a7d3f5e8a0b6c",
                    "status": "shipped",
                    "message": None,
                    "shipment_id": "shp_9d2c4e6a8b1f3d5c7e9a",
                    "number": "78345678901234",
                }
            ]
        },
    )

    seq: int
    order_id: str
    status: str
    message: str | None
    shipment_id: str | None
    number: str | None


class BatchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "bat_2f4a6c8e0b1d3f5a7c9e",
                    "carrier": "ZTO",
                    "total": 2,
                    "done": 1,
                    "failed": 0,
                    "skipped": 0,
                    "pending": 1,
                    "status": "processing",
                    "label_prints": 0,
                    "created_at": "2026-11-28T09:59:57+08:00",
                    "completed_at": None,
                    "items": [
                        {
                            "seq": 0,
                            "order_id": "ord_4b1e9c2a7d3f5e8a0b6c",
                            "status": "shipped",
                            "message": None,
                            "shipment_id": "shp_9d2c4e6a8b1f3d5c7e9a",
                            "number": "78345678901234",
                        },
                        {
                            "seq": 1,
                            "order_id": "ord_7a9c1e3b5d7f9a2c4e6b",
                            "status": "pending",
                            "message": None,
                            "shipment_id": None,
                            "number": None,
                        },
                    ],
                }
            ]
        }
    )

    id: str
    carrier: str | None
    total: int
    done: int = Field(description="Orders confirmed on the marketplace by this batch.")
    failed: int
    skipped: int = Field(description="Orders this batch did not ship: already shipped or shipping, cancelled...")
    pending: int
    status: Literal["processing", "completed"]
    label_prints: int
    created_at: datetime
    completed_at: datetime | None
    items: list[BatchItemOut]


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


class TrackingUpdateResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"applied": True, "duplicate": False, "order_status": "delivered"}]}
    )

    applied: bool
    duplicate: bool = False
    order_status: str | None = None
