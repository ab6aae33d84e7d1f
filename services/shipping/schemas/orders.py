"""Orders, their audit trail and the carriers ranked for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.allocation import OrderId
from shared.money import Cents

OrderChannel = Literal["own", "taobao", "pinduoduo"]
# A list's order: by creation (oldest first, the default) or by ship-by time (the most urgent first).
OrderSort = Literal["created_at", "ship_by"]


@dataclass(frozen=True)
class OrderFilter:
    """Which of a shop's orders a list shows."""

    status: str | None = None
    external_id: str | None = None
    channel: str | None = None
    store_id: str | None = None
    ship_by_before: datetime | None = None  # ship_by < this
    ship_by_after: datetime | None = None  # ship_by >= this
    held: bool | None = None
    sort: OrderSort = "created_at"


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
                },
                {
                    "external_id": "WEB-20261128-0042",
                    "receiver": {
                        "name": "李四",
                        "phone": "13800138000转1234",
                        "state": "北京",
                        "city": "北京市",
                        "district": "朝阳区",
                        "address": "建国路 88 号 SOHO 现代城 2 号楼 1501",
                    },
                    "weight_g": 800,
                    "ship_by": "2026-11-29T18:00:00+08:00",
                },
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
    ship_by: AwareDatetime | None = Field(
        None,
        description=(
            "Ship by then (发货超时), with its time zone. Absent: 48 hours after creation "
            "(SHIPPING_SHIP_BY_DEFAULT_OWN_H)."
        ),
    )


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
                    "ship_by": "2026-11-30T09:12:30+08:00",
                    "held": None,
                },
                {
                    "id": "ord_7a2c4e6b8d0f1a3c5e7b",
                    "external_id": "3001234567890129999",
                    "source": "marketplace",
                    "channel": "pinduoduo",
                    "store_id": "sto_8b0d2f4a6c8e0b2d4f6a",
                    "status": "paid",
                    "buyer_nick": "pdd_lisi",
                    "receiver": {
                        "name": "李四",
                        "phone": "13800138000-1234",
                        "state": "广东省",
                        "city": "广州市",
                        "district": "南山区",
                        "address": "科技园 1 号",
                        "zip": "",
                    },
                    "weight_g": 500,
                    "payment_cents": 1990,
                    "items": [],
                    "carrier": None,
                    "number": None,
                    "shipment_id": None,
                    "flags": [
                        {
                            "kind": "address_invalid",
                            "message": "区县「南山区」不属于「广州市」（它在「深圳市」）",
                            "at": "2026-11-28T01:12:31+00:00",
                        }
                    ],
                    "created_at": "2026-11-28T09:12:30+08:00",
                    "updated_at": "2026-11-28T09:12:30+08:00",
                    "shipped_at": None,
                    "ship_by": "2026-11-29T23:59:59+08:00",
                    "held": "address_invalid",
                },
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
    ship_by: datetime = Field(
        description="Ship by then (发货超时): the channel's deadline (Pinduoduo's last_ship_time), else paid time plus "
        "the channel's default (48 h)."
    )
    held: str | None = Field(
        description=(
            "Why the order may not ship (`address_invalid`: its flags say what is wrong; fix the receiver with PUT "
            "/v1/orders/{id}/receiver or on the marketplace); null: not held."
        )
    )


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
                    "price_per_number_cents": 256.4,
                    "price_source": "stock",
                    "covers_destination": True,
                    "transit_days": 2,
                    "available": 412,
                    "is_default": True,
                    "reasons": [
                        "¥2.56 per number paid for this shop's stock (cheapest)",
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
    price_per_number_cents: float | None = Field(
        description=(
            "What this shop pays per number of the carrier, the price it is ranked by: what it paid for the "
            "numbers in its pool (`price_source: stock`), else the catalogue's cheapest package (`catalogue`)."
        )
    )
    # A default, so that a client built before the field (and its fakes) still reads an option.
    price_source: Literal["stock", "catalogue"] = "catalogue"
    covers_destination: bool
    transit_days: int | None
    available: int
    is_default: bool
    reasons: list[str]
