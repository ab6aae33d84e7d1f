"""Allocation API models: purchases of waybill numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.allocation.schemas.catalogue import VoidCredit
from shared.carriers import CarrierCode


class PurchaseCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"carrier": "ZTO", "package_id": "ZTO-1000"}]})

    carrier: CarrierCode
    package_id: str = Field(min_length=1, max_length=64)


class PurchaseOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "p-3f9c2a1b7d4e6f80",
                    "carrier": "ZTO",
                    "package_id": "ZTO-1000",
                    "quantity": 1000,
                    "price_cents": 240000,
                    "price_source": "negotiated",
                    "shop_price_id": 12,
                    "validity_days": 90,
                    "status": "completed",
                    "attempts": 1,
                    "numbers_received": 1000,
                    "numbers_quarantined": 0,
                    "refunded_quantity": 0,
                    "refunded_cents": 0,
                    "numbers_credited": 0,
                    "void_credit": {"percent": 100, "fee_cents": 0},
                    "voids_credited": 2,
                    "void_credited_cents": 480,
                    "error": None,
                    "expires_at": "2027-02-26T09:30:02Z",
                    "created_at": "2026-11-28T09:30:00Z",
                    "completed_at": "2026-11-28T09:30:02Z",
                }
            ]
        },
    )

    id: str
    carrier: str
    package_id: str
    quantity: int
    price_cents: int = Field(description="What the purchase was charged: the price in force when it was made.")
    # Defaults, so that a client built before these fields (and its fakes) still reads a purchase.
    price_source: Literal["catalogue", "negotiated"] = Field(
        "catalogue",
        description="`negotiated`: the shop's own price of the package (`shop_price_id`); else the catalogue's.",
    )
    shop_price_id: int | None = Field(None, description="The negotiated price charged (GET /v1/shops/{id}/prices).")
    validity_days: int
    status: Literal["pending", "completed", "failed"]
    attempts: int
    numbers_received: int
    numbers_quarantined: int
    refunded_quantity: int = Field(description="Numbers paid back so far, by refund or by credit.")
    refunded_cents: int = Field(description="Paid back so far: the price per number, pro rata, rounded down.")
    numbers_credited: int = Field(
        description=(
            "Numbers of this purchase it cannot use, each credited at the price paid per number: issued by the "
            "courier after a typed (manual) entry had printed them (ledger `number_taken_by_manual_entry`), or "
            "issued twice (quarantined; ledger `number_issued_twice`)."
        )
    )
    # Defaults, so that a client built before these fields (and its fakes) still reads a purchase.
    void_credit: VoidCredit = Field(
        default_factory=VoidCredit,
        description="The package's void-credit policy when it was bought: what its voided numbers are credited by.",
    )
    voids_credited: int = Field(
        0,
        description=(
            "Printed numbers of this purchase voided before collection and cancelled at the courier, each "
            "credited per `void_credit` at the price paid for it (ledger `void_credit`; 0 cents under `none`)."
        ),
    )
    void_credited_cents: int = Field(0, description="What those voids were credited in all.")
    error: str | None
    expires_at: datetime | None
    created_at: datetime
    completed_at: datetime | None


class RefundRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 200}, {}]})

    count: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description=(
            "Refund exactly this many of the numbers never handed out (those the pool would hand out last); "
            "absent: all of them. Needs an `Idempotency-Key`."
        ),
    )


class RefundOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purchase_id": "p-3f9c2a1b7d4e6f80",
                    "refunded_quantity": 400,
                    "refunded_cents": 112000,
                    "balance_cents": 832000,
                }
            ]
        }
    )

    purchase_id: str
    refunded_quantity: int = Field(
        description="Numbers voided by this refund: never handed out (released numbers stay in the pool)."
    )
    refunded_cents: int = Field(description="Amount credited by this refund.")
    balance_cents: int


class ExtendRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"days": 30}]})

    days: int = Field(gt=0, le=365)


class ExtendOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purchase_id": "p-3f9c2a1b7d4e6f80",
                    "fee_cents": 20000,
                    "numbers_extended": 600,
                    "expires_at": "2027-03-28T09:30:02Z",
                    "balance_cents": 812000,
                }
            ]
        }
    )

    purchase_id: str
    fee_cents: int
    numbers_extended: int
    expires_at: datetime
    balance_cents: int
