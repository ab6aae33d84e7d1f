"""The carrier catalogue as other services (and shop systems) read it: carriers, their number rules and packages."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.carriers import CarrierCode
from shared.waybill import MAX_PATTERN_LENGTH


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
