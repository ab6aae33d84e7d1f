"""Shipping one order (in one or several parcels), and its shipment."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.shipping.parcels import MAX_PARCELS
from shared.carriers import CarrierCode


class ParcelIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"weight_g": 1200, "lines": [1]}]})

    weight_g: int | None = Field(None, ge=0, le=1_000_000, description="The box's weight; shared evenly when absent.")
    lines: list[int] = Field(
        default_factory=list,
        max_length=500,
        description="The order's lines (1-based positions in its items) in this box, for the label and the record.",
    )


class ShipRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"carrier": "ZTO"},
                {"carrier": "EMS", "number": "EA123456785CN"},
                {"carrier": "YTO", "parcel_count": 3},
                {"carrier": "SF", "parcels": [{"weight_g": 12000, "lines": [1]}, {"weight_g": 8000, "lines": [2]}]},
                {"carrier": "ZTO", "lines": [2]},
            ]
        }
    )

    carrier: CarrierCode | None = Field(None, description="Recommended when absent.")
    number: str | None = Field(
        None,
        min_length=6,
        max_length=40,
        description="A number the seller typed (one parcel only); taken from the pool when absent.",
    )
    parcel_count: int | None = Field(
        None, ge=1, le=MAX_PARCELS, description="Ship in this many boxes (一单多包), each with its own number."
    )
    parcels: list[ParcelIn] | None = Field(
        None, min_length=1, max_length=MAX_PARCELS, description="The boxes one by one (weight, lines); or parcel_count."
    )
    lines: list[int] | None = Field(
        None,
        min_length=1,
        max_length=500,
        description=(
            "Ship only these lines of the order (1-based positions in its items): a split order (拆单), whose other "
            "lines ship later; every line not shipping yet when absent."
        ),
    )

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if self.parcels is not None and self.parcel_count is not None and self.parcel_count != len(self.parcels):
            raise ValueError("give parcel_count or parcels, not both")
        if self.number is not None and self.count > 1:
            raise ValueError("a typed number ships one parcel: leave number out to take every parcel's from the pool")
        return self

    @property
    def count(self) -> int:
        return len(self.parcels) if self.parcels is not None else (self.parcel_count or 1)


class ParcelOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "pcl_3a5c7e9b1d2f4a6c8e0b",
                    "seq": 1,
                    "number": "78345678901234",
                    "parent_number": None,
                    "weight_g": 1200,
                    "lines": [1],
                    "status": "live",
                    "label_prints": 1,
                    "tracking_status": "in_transit",
                    "collected_at": "2026-11-28T16:20:00+08:00",
                    "sort_code": "571-A12 03",
                    "package_center": "杭州包",
                },
                {
                    "id": "pcl_8b0d2f4a6c8e0b1d3f5a",
                    "seq": 2,
                    "number": "78345678901235",
                    "parent_number": None,
                    "weight_g": 800,
                    "lines": [2],
                    "status": "live",
                    "label_prints": 0,
                    "tracking_status": None,
                    "collected_at": None,
                    "sort_code": None,
                    "package_center": None,
                },
            ]
        },
    )

    id: str
    seq: int
    number: str
    parent_number: str | None = Field(description="Multi-piece freight (子母件): the parent's number, on children.")
    weight_g: int | None
    lines: list[int]
    status: str = Field(description="live, released (its shipment failed or was cancelled) or voided.")
    label_prints: int
    tracking_status: str | None
    collected_at: datetime | None
    sort_code: str | None = Field(
        None,
        description=(
            "The courier's sort code for the destination (三段码, or its 大头笔), printed largest on the label. "
            "Null until the courier has answered (the label prints a placeholder; it is asked again in the "
            "background), and again for a moment after an address change."
        ),
    )
    package_center: str | None = Field(
        None, description="The consolidation centre the courier bags the parcel for (集包地); null until known."
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
                    "confirm_mode": "at_print",
                    "attempts": 1,
                    "reallocations": 0,
                    "error_code": None,
                    "error": None,
                    "history": [{"number": "78345678901234", "event": "assigned", "at": "2026-11-28T09:59:58+08:00"}],
                    "batch_id": "bat_2f4a6c8e0b1d3f5a7c9e",
                    "label_prints": 1,
                    "parcel_count": 1,
                    "parcels": [ParcelOut.model_config["json_schema_extra"]["examples"][0]],  # type: ignore[index]
                    "created_at": "2026-11-28T09:59:58+08:00",
                    "confirmed_at": "2026-11-28T10:00:00+08:00",
                    "voided_at": None,
                }
            ]
        },
    )

    id: str
    order_id: str
    carrier: str
    number: str = Field(description="The main number: parcel 1's.")
    number_source: str
    status: str
    confirm_mode: str = "at_print"
    attempts: int
    reallocations: int
    error_code: str | None
    error: str | None
    history: list[dict[str, Any]]
    batch_id: str | None
    label_prints: int
    parcel_count: int = 1
    parcels: list[ParcelOut] = Field(default_factory=list, description="Every box with its own number, in order.")
    created_at: datetime
    confirmed_at: datetime | None
    voided_at: datetime | None = None


class VoidRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "买家退款，取消发货"}]})

    reason: str = Field("voided by the shop", max_length=200, description="Kept on the shipment and in the event.")


class ChangeNumbersRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"carrier": "YTO"}]})

    carrier: CarrierCode | None = Field(None, description="Ship with another carrier; the shipment's when absent.")
