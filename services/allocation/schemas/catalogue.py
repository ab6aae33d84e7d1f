"""Allocation API models: the carrier catalogue."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.catalogue import RuleAlternativeIn
from shared.money import Cents


class PackageCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "ZTO-500", "quantity": 500, "price_cents": 150000, "validity_days": 60}]}
    )

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    quantity: int = Field(gt=0, le=100_000)
    price_cents: Cents
    validity_days: int = Field(gt=0, le=3650)
    extension_fee_cents_per_30_days: Cents = 0
    active: bool = True


class CarrierUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"transit_days": {"default": 3, "广东省": 2}}]})

    name_zh: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, min_length=1, max_length=100)
    number_rule: list[RuleAlternativeIn] | None = Field(None, min_length=1)
    coverage: list[str] | None = None
    transit_days: dict[str, Annotated[int, Field(ge=0, le=60)]] | None = None
    active: bool | None = None
