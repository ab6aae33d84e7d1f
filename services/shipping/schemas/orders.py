"""Orders, their audit trail and the carriers ranked for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.allocation import OrderId
from shared.money import Cents

OrderChannel = Literal["own", "taobao", "pinduoduo"]


@dataclass(frozen=True)
class OrderFilter:
    """Which of a shop's orders a list shows."""

    status: str | None = None
    external_id: str | None = None
    channel: str | None = None
    store_id: str | None = None


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

    external_id: OrderId = Field(description="The shop's own id of the order (its ERP's); idempotency key per shop.")
    channel: Literal["own"] = Field(
        "own", description="Where the order comes from: `own` (the shop's own store), the only one created over REST."
    )
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
                    "channel": "taobao",
                    "store_id": "sto_3f9a1c2b7e4d5a6b8c0d",
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
    channel: str = Field(description="Where the order came from, and where its shipment is confirmed.")
    store_id: str | None = Field(description="The marketplace store it came from; null for the shop's own orders.")
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
