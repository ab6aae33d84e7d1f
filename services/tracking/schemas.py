"""Tracking's own request and response bodies (the shared contracts are in shared.tracking)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from shared.carriers import CarrierCode
from shared.tracking import AlertKind, AlertState, TrackingStatus


class EventOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_at": "2026-11-30T15:42:00+08:00",
                    "status": "delivered",
                    "description": "【广州市】快件已签收，签收人：本人，如有疑问请电联快递员",
                    "area_code": "CN440100000000",
                    "area_name": "广东,广州市",
                    "provider_code": "3",
                }
            ]
        }
    )

    occurred_at: datetime
    status: TrackingStatus
    description: str
    area_code: str | None = None
    area_name: str | None = None
    provider_code: str | None = Field(None, description="The provider's own state code for this event.")


_ALERT_EXAMPLE: JsonDict = {
    "id": 311,
    "kind": "late",
    "state": "resolved",
    "carrier": "ZTO",
    "number": "78345678901234",
    "order_id": "3927481123456789",
    "message": "not delivered within 3 transit days plus 12 hours",
    "opened_at": "2026-11-30T06:00:00Z",
    "acknowledged_at": "2026-11-30T06:20:00Z",
    "resolved_at": "2026-11-30T07:42:00Z",
}


class AlertOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ALERT_EXAMPLE]})

    id: int
    kind: AlertKind
    state: AlertState
    carrier: CarrierCode
    number: str
    order_id: str
    message: str
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


class ProviderSubscriptionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "state": "finished",
                    "code": "200",
                    "message": "提交成功",
                    "attempts": 1,
                    "subscribed_at": "2026-11-28T10:00:02Z",
                    "ended_at": "2026-11-30T07:42:05Z",
                }
            ]
        }
    )

    state: str = Field(
        description="pending, subscribed, refused (the provider or carrier said no), failed (gave up retrying), "
        "finished (journey over) or aborted (the provider gave up tracking)."
    )
    code: str | None = Field(None, description="The provider's last answer code (200, 501, 700, 701, ...).")
    message: str | None = None
    attempts: int
    subscribed_at: datetime | None = None
    ended_at: datetime | None = None


_TRACKING_EXAMPLE: JsonDict = {
    "carrier": "ZTO",
    "number": "78345678901234",
    "order_id": "3927481123456789",
    "status": "delivered",
    "status_at": "2026-11-30T15:42:00+08:00",
    "last_event_at": "2026-11-30T15:42:00+08:00",
    "shipped_at": "2026-11-28T10:00:00+08:00",
    "promised_days": 3,
    "subscription": {
        "state": "finished",
        "code": "200",
        "message": "提交成功",
        "attempts": 1,
        "subscribed_at": "2026-11-28T10:00:02Z",
        "ended_at": "2026-11-30T07:42:05Z",
    },
    "events": [
        {
            "occurred_at": "2026-11-30T15:42:00+08:00",
            "status": "delivered",
            "description": "【广州市】快件已签收，签收人：本人，如有疑问请电联快递员",
            "area_code": "CN440100000000",
            "area_name": "广东,广州市",
            "provider_code": "3",
        },
        {
            "occurred_at": "2026-11-28T18:05:00+08:00",
            "status": "collected",
            "description": "【杭州市】中通快递 杭州西湖区 已揽收",
            "area_code": "CN330100000000",
            "area_name": "浙江,杭州市",
            "provider_code": "1",
        },
    ],
    "alerts": [_ALERT_EXAMPLE],
}


class TrackingOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TRACKING_EXAMPLE]})

    carrier: CarrierCode
    number: str
    order_id: str
    status: TrackingStatus
    status_at: datetime | None = Field(None, description="Time of the event that set the current status.")
    last_event_at: datetime | None = None
    shipped_at: datetime
    promised_days: int | None = None
    subscription: ProviderSubscriptionOut
    events: list[EventOut] = Field(description="The full timeline, newest first, each event once.")
    alerts: list[AlertOut] = Field(description="Every alert of this parcel, newest first.")


class OrderTrackingOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "3927481123456789",
                    "parcels": [_TRACKING_EXAMPLE],
                }
            ]
        }
    )

    order_id: str
    parcels: list[TrackingOut]


class AlertSettingIn(BaseModel):
    """Thresholds for one carrier (or, without ``carrier``, for every carrier of the shop). Fields left
    out fall back to the shop's all-carrier setting, then to the service defaults."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"carrier": "ZTO", "not_collected_hours": 12, "no_update_hours": 36, "late_grace_hours": 12},
                {"not_collected_hours": 24, "transit_days": 4},
            ]
        }
    )

    carrier: CarrierCode | None = Field(None, description="Omit to set the default for every carrier.")
    not_collected_hours: float | None = Field(None, gt=0, le=24 * 60, description="Not collected within N hours.")
    no_update_hours: float | None = Field(None, gt=0, le=24 * 60, description="No new event for N hours in transit.")
    late_grace_hours: float | None = Field(None, ge=0, le=24 * 60, description="Hours past the transit time.")
    transit_days: int | None = Field(None, gt=0, le=60, description="Transit days when the shipment names none.")


class AlertSettingOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "ZTO",
                    "not_collected_hours": 12.0,
                    "no_update_hours": 36.0,
                    "late_grace_hours": 12.0,
                    "transit_days": 3,
                }
            ]
        }
    )

    carrier: str = Field(description="A carrier code, or * for the shop's default.")
    not_collected_hours: float
    no_update_hours: float
    late_grace_hours: float
    transit_days: int


class ClockIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"now": "2026-11-28T10:00:00+08:00", "factor": 2880}]})

    now: AwareDatetime | None = Field(None, description="Simulated time from now on (default: the current one).")
    factor: float = Field(1.0, gt=0, le=1_000_000, description="Simulated seconds per real second.")
    reset: bool = Field(False, description="Back to real time.")


class ClockOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"now": "2026-11-28T10:00:00+08:00", "factor": 2880.0, "simulated": True}]}
    )

    now: datetime
    factor: float
    simulated: bool


@dataclass(frozen=True)
class AlertFilter:
    """The query of GET /v1/alerts."""

    state: AlertState | None = None
    kind: AlertKind | None = None
    carrier: CarrierCode | None = None
    number: str | None = None
