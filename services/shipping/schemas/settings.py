"""The shop's shipping settings: marketplace binding, label sender, courier preferences."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.shipping.models import MAX_LEAD_MINUTES, ConfirmMode, LabelSize
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
                    "confirm_mode": "at_collection",
                    "confirm_time": "18:00",
                    "label_size": "100x180",
                    "label_sizes": {"SF": "100x150", "YTO": "76x130"},
                    "privacy_labels": True,
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
    confirm_mode: ConfirmMode = Field(
        ConfirmMode.AT_PRINT,
        description=(
            "When the marketplace is told an order shipped: `at_print`, as soon as its label is made; "
            "`at_collection`, once the courier collects a parcel (揽收, as tracking reports it) or at "
            "`confirm_time`, whichever comes first (a store may set its own). A held parcel not collected by the "
            "order's ship-by time raises a `not_collected_by_ship_by` alert and is never confirmed silently."
        ),
    )
    confirm_time: str | None = Field(
        None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="at_collection: held shipments are confirmed at this time of day (HH:MM, shop time) at the latest.",
        examples=["18:00"],
    )

    label_size: LabelSize = Field(
        LabelSize.S100X150,
        description=(
            "The labels' size (width x height, mm; the standard e-waybill sizes): `100x150` one part, `100x180` "
            "two parts (the courier's stub below a perforation), `76x130` compact one part. For every carrier "
            "but those in `label_sizes`."
        ),
        examples=["100x180"],
    )
    label_sizes: dict[CarrierCode, LabelSize] = Field(
        default_factory=dict,
        description=(
            "A carrier's own label size where it differs from `label_size` (carrier code -> size). Given, it "
            "replaces the whole map: a carrier left out prints at `label_size`."
        ),
        examples=[{"SF": "100x150", "YTO": "76x130"}],
    )
    privacy_labels: bool = Field(
        True,
        description=(
            "Privacy labels (隐私面单): the receiver's name and phone are masked on labels (张*, 138****5678; "
            "the address stays whole). On unless the shop turns it off."
        ),
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
                    "confirm_mode": "at_collection",
                    "confirm_time": "18:00",
                    "label_size": "100x180",
                    "label_sizes": {"SF": "100x150", "YTO": "76x130"},
                    "privacy_labels": True,
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
    confirm_mode: str = Field(ConfirmMode.AT_PRINT.value, description="at_print or at_collection.")
    confirm_time: str | None = Field(None, description="at_collection's latest confirmation time of day (HH:MM).")
    label_size: str = Field(
        LabelSize.S100X150.value, description="The labels' size (mm) for every carrier but those in label_sizes."
    )
    label_sizes: dict[str, str] = Field(default_factory=dict, description="Carriers' own label sizes (code -> size).")
    privacy_labels: bool = Field(True, description="Whether labels mask the receiver's name and phone (隐私面单).")
