"""Allocation API request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from shared.carriers import CarrierCode
from shared.money import Cents, PositiveCents
from shared.waybill import MAX_PATTERN_LENGTH


class ShopCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "杭州小铺"}]})

    name: str = Field(min_length=1, max_length=200, description="Display name of the shop.")


class ShopOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"id": "s-9a3f1c2b7e4d", "name": "杭州小铺", "created_at": "2026-11-28T09:30:00Z"}]
        },
    )

    id: str
    name: str
    created_at: datetime


class ShopCreated(ShopOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "s-9a3f1c2b7e4d",
                    "name": "杭州小铺",
                    "created_at": "2026-11-28T09:30:00Z",
                    "api_key": "wbk_5c1e9a7b3d2f4e60_8f2a4c6e1b3d5f7092a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2",
                    "key_id": "5c1e9a7b3d2f4e60",
                }
            ]
        }
    )

    api_key: str = Field(description="The shop's API key. Shown once: store it now.")
    key_id: str


class KeyCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "仓库打单机"}]})

    label: str = Field("default", min_length=1, max_length=100)


class KeyCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key_id": "7d3b5f9a1c2e4068",
                    "api_key": "wbk_7d3b5f9a1c2e4068_1a3c5e7f9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d",
                }
            ]
        }
    )

    key_id: str
    api_key: str = Field(description="Shown once.")


class KeyOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "7d3b5f9a1c2e4068",
                    "label": "仓库打单机",
                    "created_at": "2026-11-28T09:30:00Z",
                    "revoked_at": None,
                }
            ]
        },
    )

    id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class IntrospectRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key_id": "5c1e9a7b3d2f4e60",
                    "secret_hash": "3b1f4c9e0a7d2b6f8e1c5a9d3f7b2e6a0c4d8f1b5e9a3c7d2f6b0e4a8c1d5f9e",
                }
            ]
        }
    )

    key_id: str = Field(min_length=1, max_length=64)
    secret_hash: str = Field(min_length=64, max_length=64)


class IntrospectResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"shop_id": "s-9a3f1c2b7e4d"}]})

    shop_id: str


# --- catalogue -------------------------------------------------------------------------------


class RuleAlternativeIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"pattern": "\\d{12}|\\d{14}", "check": "none", "description": "12 or 14 digits"}]
        }
    )

    pattern: str = Field(
        min_length=1,
        max_length=MAX_PATTERN_LENGTH,
        description="Must match the whole number (uppercased). RE2 syntax, matched in linear time: look-arounds "
        "and back-references are refused (422 `invalid_number_pattern`).",
    )
    check: Literal["none", "s10", "gs1_mod10"] = "none"
    description: str = ""


class PackageOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "ZTO-1000",
                    "carrier": "ZTO",
                    "quantity": 1000,
                    "price_cents": 280000,
                    "validity_days": 90,
                    "extension_fee_cents_per_30_days": 20000,
                    "active": True,
                }
            ]
        },
    )

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
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "code": "ZTO",
                    "name_zh": "中通快递",
                    "name_en": "ZTO Express",
                    "marketplace_code": "ZTO",
                    "kdniao_code": "ZTO",
                    "kuaidi100_code": "zhongtong",
                    "number_rule": [{"pattern": "\\d{12}|\\d{14}", "check": "none", "description": "12 or 14 digits"}],
                    "coverage": ["浙江省", "江苏省", "上海市", "广东省"],
                    "transit_days": {"default": 3, "广东省": 2},
                    "active": True,
                    "packages": [
                        {
                            "id": "ZTO-1000",
                            "carrier": "ZTO",
                            "quantity": 1000,
                            "price_cents": 280000,
                            "validity_days": 90,
                            "extension_fee_cents_per_30_days": 20000,
                            "active": True,
                        }
                    ],
                }
            ]
        },
    )

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
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "amount_cents": -280000,
                    "balance_after_cents": 720000,
                    "kind": "purchase",
                    "reference": "p-3f9c2a1b7d4e6f80",
                    "note": "ZTO-1000",
                    "created_at": "2026-11-28T09:30:00Z",
                }
            ]
        },
    )

    id: int
    amount_cents: int
    balance_after_cents: int
    kind: str
    reference: str | None
    note: str | None
    created_at: datetime


class BalanceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "s-9a3f1c2b7e4d",
                    "balance_cents": 720000,
                    "ledger_total_cents": 720000,
                    "ledger": [
                        {
                            "id": 42,
                            "amount_cents": -280000,
                            "balance_after_cents": 720000,
                            "kind": "purchase",
                            "reference": "p-3f9c2a1b7d4e6f80",
                            "note": "ZTO-1000",
                            "created_at": "2026-11-28T09:30:00Z",
                        },
                        {
                            "id": 41,
                            "amount_cents": 1000000,
                            "balance_after_cents": 1000000,
                            "kind": "topup",
                            "reference": "bank-2026-11-28",
                            "note": None,
                            "created_at": "2026-11-28T09:00:00Z",
                        },
                    ],
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "p-3f9c2a1b7d4e6f80",
                    "carrier": "ZTO",
                    "package_id": "ZTO-1000",
                    "quantity": 1000,
                    "price_cents": 280000,
                    "validity_days": 90,
                    "status": "completed",
                    "attempts": 1,
                    "numbers_received": 1000,
                    "numbers_quarantined": 0,
                    "refunded_quantity": 0,
                    "refunded_cents": 0,
                    "numbers_credited": 0,
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
    price_cents: int
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
    error: str | None
    expires_at: datetime | None
    created_at: datetime
    completed_at: datetime | None


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


# --- pools -----------------------------------------------------------------------------------


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
    created_at: datetime
