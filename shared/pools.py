"""A shop's pools (stock per carrier) as other services (and shop systems) read them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PoolCounts(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "available": 412,
                    "allocated": 35,
                    "printed": 8,
                    "shipped": 540,
                    "voided": 3,
                    "expired": 0,
                    "quarantined": 2,
                    "superseded": 0,
                }
            ]
        }
    )

    available: int = 0
    allocated: int = 0
    printed: int = 0
    shipped: int = 0
    voided: int = 0
    expired: int = 0
    quarantined: int = 0
    superseded: int = 0


class PoolOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "ZTO",
                    "counts": {
                        "available": 412,
                        "allocated": 35,
                        "printed": 8,
                        "shipped": 540,
                        "voided": 3,
                        "expired": 0,
                        "quarantined": 2,
                        "superseded": 0,
                    },
                    "expiring_soon": 120,
                    "expiring_within_days": 7,
                    "low_stock_threshold": 500,
                    "low_stock": True,
                    "auto_replenish_package": "ZTO-1000",
                    "cost_per_number_cents": 256.4,
                }
            ]
        }
    )

    carrier: str
    counts: PoolCounts
    expiring_soon: int = Field(description="Available numbers expiring within `expiring_within_days`.")
    expiring_within_days: int
    low_stock_threshold: int
    low_stock: bool
    auto_replenish_package: str | None
    # A default, so that an answer from before the field (and fakes) still reads.
    cost_per_number_cents: float | None = Field(
        None,
        description=(
            "What this shop paid per number for the numbers available in the pool: each purchase's price per "
            "number (`price_cents / quantity`, negotiated or catalogue), averaged over its available numbers. "
            "Null when none is available (or none came from a purchase)."
        ),
    )
