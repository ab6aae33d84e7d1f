"""The shop's shipping settings: marketplace binding, label sender, courier preferences."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.shipping.models import MAX_LEAD_MINUTES
from shared.carriers import CarrierCode

# The column's server default too (migration s0006): shops set up before time zones read Beijing time.
DEFAULT_TIME_ZONE = "Asia/Shanghai"
# The column's server default too (migration s0009).
DEFAULT_LATE_TO_SHIP_LEAD_MINUTES = 240


class SettingsIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seller_nick": "杭州小铺",
                    "session": "6100e2b...",
                    "sender_name": "杭州小铺",
                    "sender_phone": "0571-88886666",
                    "sender_address": "浙江省杭州市余杭区文一西路969号",
                    "default_carrier": "ZTO",
                    "weights": {"price": 0.4, "coverage": 0.2, "transit": 0.3, "stock": 0.1},
                    "time_zone": "Asia/Shanghai",
                    "late_to_ship_lead_minutes": 240,
                }
            ]
        }
    )

    seller_nick: str | None = Field(None, min_length=1, max_length=64, description="The shop's seller nick.")
    session: str | None = Field(None, min_length=1, max_length=200, description="Marketplace session token.")
    sender_name: str = Field("", max_length=100)
    sender_phone: str = Field("", max_length=40)
    sender_address: str = Field("", max_length=300)
    default_carrier: CarrierCode | None = None
    weights: dict[Literal["price", "coverage", "transit", "stock"], float] = Field(
        default_factory=dict, description="Weights of the recommendation score (missing ones keep the default)."
    )
    time_zone: str = Field(
        DEFAULT_TIME_ZONE,
        max_length=64,
        description="The shop's time zone (an IANA name), in which the seller reads times; the API itself answers UTC.",
        examples=["Asia/Shanghai", "America/New_York"],
    )
    late_to_ship_lead_minutes: int = Field(
        DEFAULT_LATE_TO_SHIP_LEAD_MINUTES,
        ge=0,
        le=MAX_LEAD_MINUTES,
        description=(
            "A `late_to_ship` order alert opens this many minutes before an unshipped order's ship-by time "
            f"(0: none before it passes; at most {MAX_LEAD_MINUTES}, 7 days)."
        ),
        examples=[240],
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:  # ValueError: not a zone's shape ("../x", "")
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        if any(v < 0 or v > 100 for v in value.values()):
            raise ValueError("weights are between 0 and 100")
        return value


class SettingsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "s-9a3f1c2b7e4d",
                    "seller_nick": "杭州小铺",
                    "session_set": True,
                    "sender_name": "杭州小铺",
                    "sender_phone": "0571-88886666",
                    "sender_address": "浙江省杭州市余杭区文一西路969号",
                    "default_carrier": "ZTO",
                    "weights": {"price": 0.4, "coverage": 0.2, "transit": 0.3, "stock": 0.1},
                    "time_zone": "Asia/Shanghai",
                    "late_to_ship_lead_minutes": 240,
                }
            ]
        }
    )

    shop_id: str
    seller_nick: str | None
    session_set: bool
    sender_name: str
    sender_phone: str
    sender_address: str
    default_carrier: str | None
    weights: dict[str, float]
    time_zone: str = Field(description="The shop's time zone (an IANA name).", examples=["Asia/Shanghai"])
    late_to_ship_lead_minutes: int = Field(
        DEFAULT_LATE_TO_SHIP_LEAD_MINUTES, description="Minutes before ship-by that a late_to_ship alert opens."
    )
