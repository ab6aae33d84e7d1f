"""Allocation API request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.carriers import CarrierCode
from shared.money import Cents, PositiveCents


class ShopCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "杭州小铺"}]})

    name: str = Field(min_length=1, max_length=200, description="Display name of the shop.")


class ShopOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: datetime


class ShopCreated(ShopOut):
    api_key: str = Field(description="The shop's API key. Shown once: store it now.")
    key_id: str


class KeyCreate(BaseModel):
    label: str = Field("default", min_length=1, max_length=100)


class KeyCreated(BaseModel):
    key_id: str
    api_key: str = Field(description="Shown once.")


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class IntrospectRequest(BaseModel):
    key_id: str = Field(min_length=1, max_length=64)
    secret_hash: str = Field(min_length=64, max_length=64)


class IntrospectResponse(BaseModel):
    shop_id: str


# --- catalogue -------------------------------------------------------------------------------


class RuleAlternativeIn(BaseModel):
    pattern: str = Field(min_length=1, max_length=200)
    check: Literal["none", "s10", "gs1_mod10"] = "none"
    description: str = ""


class PackageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    carrier: str
    quantity: int
    price_cents: int
    validity_days: int
    extension_fee_cents_per_30_days: int
    active: bool


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


class CarrierOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: CarrierCode
    name_zh: str
    name_en: str
    marketplace_code: str
    kdniao_code: str
    kuaidi100_code: str
    number_rule: list[RuleAlternativeIn]
    coverage: list[str]
    transit_days: dict[str, int]
    active: bool
    packages: list[PackageOut] = []


class CarrierUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"transit_days": {"default": 3, "广东省": 2}}]})

    name_zh: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, min_length=1, max_length=100)
    number_rule: list[RuleAlternativeIn] | None = Field(None, min_length=1)
    coverage: list[str] | None = None
    transit_days: dict[str, Annotated[int, Field(ge=0, le=60)]] | None = None
    active: bool | None = None


# --- balance ---------------------------------------------------------------------------------


class TopupRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"amount_cents": 1000000, "reference": "bank-2026-11-28"}]}
    )

    amount_cents: PositiveCents
    reference: str | None = Field(None, max_length=200)


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    amount_cents: int
    balance_after_cents: int
    kind: str
    reference: str | None
    note: str | None
    created_at: datetime


class BalanceOut(BaseModel):
    shop_id: str
    balance_cents: int
    ledger_total_cents: int = Field(description="Sum of every ledger entry; always equals the balance.")
    ledger: list[LedgerEntryOut] = Field(description="The most recent entries, newest first.")


# --- purchases -------------------------------------------------------------------------------


class PurchaseCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"carrier": "ZTO", "package_id": "ZTO-1000"}]})

    carrier: CarrierCode
    package_id: str = Field(min_length=1, max_length=64)


class PurchaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    carrier: str
    package_id: str
    quantity: int
    price_cents: int
    validity_days: int
    status: Literal["pending", "completed", "failed"]
    attempts: int
    numbers_received: int
    numbers_quarantined: int
    refunded_quantity: int
    refunded_cents: int
    error: str | None
    expires_at: datetime | None
    created_at: datetime
    completed_at: datetime | None


class RefundOut(BaseModel):
    purchase_id: str
    refunded_quantity: int = Field(description="Numbers voided by this refund.")
    refunded_cents: int = Field(description="Amount credited by this refund.")
    balance_cents: int


class ExtendRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"days": 30}]})

    days: int = Field(gt=0, le=365)


class ExtendOut(BaseModel):
    purchase_id: str
    fee_cents: int
    numbers_extended: int
    expires_at: datetime
    balance_cents: int


# --- pools -----------------------------------------------------------------------------------


class PoolCounts(BaseModel):
    available: int = 0
    allocated: int = 0
    printed: int = 0
    shipped: int = 0
    voided: int = 0
    expired: int = 0
    quarantined: int = 0


class PoolOut(BaseModel):
    carrier: str
    counts: PoolCounts
    expiring_soon: int = Field(description="Available numbers expiring within `expiring_within_days`.")
    expiring_within_days: int
    low_stock_threshold: int
    low_stock: bool
    auto_replenish_package: str | None


class PoolUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"low_stock_threshold": 500, "auto_replenish_package": "ZTO-1000"}]}
    )

    low_stock_threshold: int = Field(ge=0, le=10_000_000)
    auto_replenish_package: str | None = Field(
        None, description="Buy this package when stock falls below the threshold."
    )


class StockEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    carrier: str
    kind: str
    available: int
    threshold: int
    purchase_id: str | None
    created_at: datetime
