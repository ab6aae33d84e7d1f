"""Allocation API models: a shop's expiry settings (the notice before its numbers expire, and what happens to
them then)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OnExpiryName = Literal["nothing", "extend", "refund"]

_NOTICE_DOC = (
    "The `expiring` event (and `purchase.expiring` webhook) this many days before a purchase's unused numbers "
    "expire, once per purchase and expiry date; 0: no notice."
)
_ON_EXPIRY_DOC = (
    "What happens to a purchase's unused numbers shortly before they expire (`action_lead_hours`): `nothing` "
    "(they expire), `extend` (by `auto_extend_days`, for the package's fee: ledger `auto_extension`; a balance "
    "too low is an `auto_extend_failed` event and webhook, tried again until they expire) or `refund` (as "
    "`POST /v1/purchases/{id}/refund` would: ledger `auto_refund`)."
)


class ExpirySettingsIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"expiring_notice_days": 7, "on_expiry": "extend", "auto_extend_days": 30}]}
    )

    expiring_notice_days: int | None = Field(None, ge=0, le=90, description=_NOTICE_DOC + " Absent: unchanged.")
    on_expiry: OnExpiryName | None = Field(None, description=_ON_EXPIRY_DOC + " Absent: unchanged.")
    auto_extend_days: int | None = Field(None, ge=1, le=365, description="Days an `extend` adds. Absent: unchanged.")


class ExpirySettingsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"expiring_notice_days": 7, "on_expiry": "extend", "auto_extend_days": 30, "action_lead_hours": 24}
            ]
        }
    )

    expiring_notice_days: int = Field(description=_NOTICE_DOC)
    on_expiry: OnExpiryName = Field(description=_ON_EXPIRY_DOC)
    auto_extend_days: int
    action_lead_hours: int = Field(
        description="How long before the numbers expire `on_expiry` acts (the service's setting, the same for all)."
    )
