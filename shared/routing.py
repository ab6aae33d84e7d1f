"""Wire contract of allocation's routing of numbers (``POST /v1/waybills/routes``): each number's destination
in, the courier's sort code (三段码 / 大头笔) and consolidation centre (集包地) out, for the label."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_ROUTES = 1000

# Outside input, passed on to the courier: bounded, and no control characters.
_Text = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$")]


class WaybillDestination(BaseModel):
    """One number and where its parcel goes (the receiver's place: no name or phone is needed to route it)."""

    number: str = Field(min_length=1, max_length=40, description="The waybill number (case and spaces ignored).")
    province: Annotated[_Text, Field(min_length=1, max_length=50)]
    city: Annotated[_Text, Field(min_length=1, max_length=50)]
    district: Annotated[_Text, Field(max_length=50)] = ""
    address: Annotated[_Text, Field(max_length=300, description="Street and house; routing may use it.")] = ""

    @field_validator("number")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return value.strip().upper()


class RoutesRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "waybills": [
                        {
                            "number": "783456789012",
                            "province": "浙江省",
                            "city": "杭州市",
                            "district": "余杭区",
                            "address": "文一西路 969 号",
                        },
                        {"number": "783456789013", "province": "浙江省", "city": "金华市", "district": "义乌市"},
                    ]
                }
            ]
        }
    )

    waybills: list[WaybillDestination] = Field(min_length=1, max_length=MAX_ROUTES)

    @field_validator("waybills")
    @classmethod
    def _unique(cls, value: list[WaybillDestination]) -> list[WaybillDestination]:
        if len({w.number for w in value}) != len(value):
            raise ValueError("numbers must not repeat")
        return value


class WaybillRoute(BaseModel):
    """One number's routing (``sort_code``, ``package_center``; either may be null when the courier gave none
    usable), or why it has none (``error_code``, ``error``)."""

    number: str
    sort_code: str | None = Field(None, description="三段码 (or the courier's 大头笔): printed largest on the label.")
    package_center: str | None = Field(None, description="集包地: the centre the parcel is bagged for.")
    error_code: str | None = None
    error: str | None = None


class RoutesResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "routed": 1,
                    "refused": 1,
                    "routes": [
                        {
                            "number": "783456789012",
                            "sort_code": "571-A12 03",
                            "package_center": "杭州包",
                            "error_code": None,
                            "error": None,
                        },
                        {
                            "number": "783456789099",
                            "sort_code": None,
                            "package_center": None,
                            "error_code": "not_found",
                            "error": "waybill 783456789099 not found",
                        },
                    ],
                }
            ]
        }
    )

    routed: int
    refused: int
    routes: list[WaybillRoute] = Field(description="One per asked number, in the order asked.")
