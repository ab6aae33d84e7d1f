"""Allocation API models: the carrier catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from services.allocation.schemas.prices import ShopPackagePrice
from shared import catalogue
from shared.catalogue import RuleAlternativeIn
from shared.money import Cents


class VoidCredit(BaseModel):
    """A package's void-credit policy (回收单号): what a printed number voided before the courier collected it
    earns back once the courier has cancelled it: ``percent`` of the price paid for that number, less
    ``fee_cents``, never below 0. Nothing when the courier had already collected the parcel."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"percent": 100, "fee_cents": 0},
                {"percent": 100, "fee_cents": 50},
                {"percent": 0, "fee_cents": 0},
            ]
        },
    )

    percent: int = Field(100, ge=0, le=100, description="Share of the price paid credited: 100 full, 0 none.")
    fee_cents: Cents = Field(0, description="Kept out of that share per voided number.")


_VOID_CREDIT_DOC = (
    "What a printed number voided before collection earns back, once the courier has cancelled it: `percent` "
    "of the price paid for that number, less `fee_cents`. A purchase keeps its package's policy."
)


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
    void_credit: VoidCredit = Field(default_factory=VoidCredit, description=_VOID_CREDIT_DOC)


class CarrierUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"transit_days": {"default": 3, "广东省": 2}}]})

    name_zh: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, min_length=1, max_length=100)
    number_rule: list[RuleAlternativeIn] | None = Field(None, min_length=1)
    coverage: list[str] | None = None
    transit_days: dict[str, Annotated[int, Field(ge=0, le=60)]] | None = None
    active: bool | None = None


_PACKAGE_EXAMPLE: dict[str, Any] = {
    "id": "ZTO-1000",
    "carrier": "ZTO",
    "quantity": 1000,
    "price_cents": 300000,
    "validity_days": 90,
    "extension_fee_cents_per_30_days": 3000,
    "active": True,
    "void_credit": {"percent": 100, "fee_cents": 0},
    "shop_price": {
        "price_cents": 240000,
        "price_source": "negotiated",
        "price_id": 12,
        "valid_from": "2026-12-31T16:00:00Z",
        "valid_to": "2027-06-30T16:00:00Z",
    },
}


class PackageOut(catalogue.PackageOut):
    """A package as the allocation API shows it: the shared contract (what shipping reads) and the void-credit
    policy, which shops and operators read. The same name as the shared model, so that the API's schema keeps
    its name."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_PACKAGE_EXAMPLE]})

    # Defaults, so that a client built before the fields (and its fakes) still reads a package.
    void_credit: VoidCredit = Field(default_factory=VoidCredit, description=_VOID_CREDIT_DOC)
    shop_price: ShopPackagePrice | None = Field(
        None,
        description=(
            "What the shop asking (its key, or X-Shop-Id) pays for this package bought now: its negotiated price "
            "in force (`price_source: negotiated`, with the price's id and validity), else the catalogue's "
            "`price_cents`. Null for the admin key without X-Shop-Id."
        ),
    )


class CarrierOut(catalogue.CarrierOut):
    """A carrier as the allocation API shows it: the shared contract, its packages with their void credit."""

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
                    "packages": [_PACKAGE_EXAMPLE],
                }
            ]
        },
    )

    # The shared field's items narrowed to this API's packages (mypy reads list as invariant; it is only read).
    packages: list[PackageOut] = Field([])  # type: ignore[assignment]
