"""Allocation API models: pools and their stock events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class PoolUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"low_stock_threshold": 500, "auto_replenish_package": "ZTO-1000"}]}
    )

    low_stock_threshold: int = Field(ge=0, le=10_000_000)
    auto_replenish_package: str | None = Field(
        None, description="Buy this package when stock falls below the threshold."
    )


class StockEventOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "carrier": "ZTO",
                    "kind": "replenish_ordered",
                    "available": 412,
                    "threshold": 500,
                    "purchase_id": "p-8e2d4f6a1c3b5d70",
                    "number": None,
                    "order_id": None,
                    "created_at": "2026-11-28T09:30:00Z",
                },
                {
                    "id": 18,
                    "carrier": "EMS",
                    "kind": "manual_superseded",
                    "available": 0,
                    "threshold": 100,
                    "purchase_id": None,
                    "number": "EA123456785CN",
                    "order_id": "39274811",
                    "created_at": "2026-11-28T10:02:00Z",
                },
                {
                    "id": 19,
                    "carrier": "ZTO",
                    "kind": "expiring",
                    "available": 412,
                    "threshold": 500,
                    "purchase_id": "p-3f9c2a1b7d4e6f80",
                    "number": None,
                    "order_id": None,
                    "expires_at": "2027-02-26T09:30:02Z",
                    "numbers": 312,
                    "details": {
                        "package_id": "ZTO-1000",
                        "notice_days": 7,
                        "on_expiry": "extend",
                        "action_at": "2027-02-25T09:30:02Z",
                        "auto_extend_days": 30,
                    },
                    "created_at": "2027-02-19T09:30:25Z",
                },
            ]
        },
    )

    id: int
    carrier: str
    kind: str
    available: int
    threshold: int
    purchase_id: str | None
    number: str | None = Field(None, description="`manual_superseded`: the typed number a purchase took over.")
    order_id: str | None = Field(
        None,
        validation_alias=AliasChoices("order_ref", "order_id"),
        description="`manual_superseded`: the order it had been typed for.",
    )
    expires_at: datetime | None = Field(None, description="A purchase's expiry events: the expiry date concerned.")
    numbers: int | None = Field(None, description="A purchase's expiry events: its numbers concerned.")
    details: dict[str, Any] | None = Field(
        None,
        description=(
            "A purchase's expiry events: `expiring` the notice days, `on_expiry` and `action_at`; "
            "`auto_extended` the days, `fee_cents`, `new_expires_at`; `auto_extend_failed` the fee the balance "
            "could not pay; `auto_refunded` `refunded_cents`; each with `package_id` and `balance_cents`."
        ),
    )
    created_at: datetime
