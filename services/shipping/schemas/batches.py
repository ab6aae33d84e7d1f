"""Shipment batches and their per-order results."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.carriers import CarrierCode

MAX_BATCH = 10_000


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


_ITEM_EXAMPLE: dict[str, Any] = {
    "seq": 0,
    "order_id": "ord_4b1e9c2a7d3f5e8a0b6c",
    "status": "shipped",
    "message": None,
    "shipment_id": "shp_9d2c4e6a8b1f3d5c7e9a",
    "number": "78345678901234",
}
_PENDING_ITEM_EXAMPLE: dict[str, Any] = {
    "seq": 1,
    "order_id": "ord_7a9c1e3b5d7f9a2c4e6b",
    "status": "pending",
    "message": None,
    "shipment_id": None,
    "number": None,
}
_SUMMARY_EXAMPLE: dict[str, Any] = {
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
}


class BatchItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    seq: int
    order_id: str
    status: str
    message: str | None
    shipment_id: str | None
    number: str | None


class BatchSummaryOut(BaseModel):
    """A batch's progress without its per-order results (the batch list)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

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


class BatchOut(BatchSummaryOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_SUMMARY_EXAMPLE, "items": [_ITEM_EXAMPLE, _PENDING_ITEM_EXAMPLE]}]}
    )

    items: list[BatchItemOut]
