"""Shipping one order, and its shipment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.carriers import CarrierCode


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
