"""Allocation API models: shops' negotiated package prices, and the price a shop pays for a package."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.money import Cents

PriceSourceName = Literal["catalogue", "negotiated"]


class ShopPriceCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "package_id": "ZTO-1000",
                    "price_cents": 240000,
                    "valid_from": "2027-01-01T00:00:00+08:00",
                    "valid_to": "2027-07-01T00:00:00+08:00",
                    "note": "2027 H1 contract",
                }
            ]
        }
    )

    package_id: str = Field(min_length=1, max_length=64)
    price_cents: Cents = Field(description="What the shop pays for the whole package, in integer cents.")
    valid_from: AwareDatetime | None = Field(None, description="From this moment (inclusive); default: now.")
    valid_to: AwareDatetime | None = Field(None, description="Up to this moment (exclusive); null: open-ended.")
    note: str | None = Field(None, max_length=200, description="The operator's words: a contract, a reason.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.valid_from is not None and self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


_PRICE_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "shop_id": "s-9a3f1c2b7e4d",
    "package_id": "ZTO-1000",
    "carrier": "ZTO",
    "price_cents": 240000,
    "catalogue_price_cents": 280000,
    "valid_from": "2026-12-31T16:00:00Z",
    "valid_to": "2027-06-30T16:00:00Z",
    "note": "2027 H1 contract",
    "created_at": "2026-12-09T08:00:00Z",
    "revoked_at": None,
    "in_force": False,
}


class ShopPriceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PRICE_EXAMPLE]})

    id: int
    shop_id: str
    package_id: str
    carrier: str
    price_cents: int
    catalogue_price_cents: int = Field(description="The package's catalogue price now, for comparison.")
    valid_from: datetime
    valid_to: datetime | None
    note: str | None
    created_at: datetime
    revoked_at: datetime | None = Field(description="Revoked: no longer charged (kept as the record).")
    in_force: bool = Field(description="Charged by a purchase made now.")


class ShopPackagePrice(BaseModel):
    """What the shop asking would pay for a package bought now: its negotiated price in force, else the
    catalogue's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "price_cents": 240000,
                    "price_source": "negotiated",
                    "price_id": 12,
                    "valid_from": "2026-12-31T16:00:00Z",
                    "valid_to": "2027-06-30T16:00:00Z",
                },
                {"price_cents": 280000, "price_source": "catalogue", "price_id": None},
            ]
        }
    )

    price_cents: int
    price_source: PriceSourceName
    price_id: int | None = Field(None, description="The negotiated price's id (GET /v1/shops/{id}/prices).")
    valid_from: datetime | None = Field(None, description="Negotiated: in force from.")
    valid_to: datetime | None = Field(None, description="Negotiated: in force until (null: open-ended).")
