"""Wire contracts between shipping and tracking (and for shop systems reading tracking)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from shared.allocation import OrderId
from shared.carriers import CarrierCode
from shared.waybill import WaybillNumberStr


class TrackingStatus(StrEnum):
    """One status set for every provider (the providers' codes are mapped in tracking)."""

    PENDING = "pending"
    INFO_RECEIVED = "info_received"
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    ARRIVED_AT_CITY = "arrived_at_city"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    PROBLEM = "problem"
    REFUSED = "refused"
    RETURNING = "returning"
    RETURNED = "returned"
    EXPIRED = "expired"


class AlertKind(StrEnum):
    """物流预警: the abnormal situations a shop is told about."""

    NOT_COLLECTED = "not_collected"
    NO_UPDATE = "no_update"
    PROBLEM = "problem"
    REFUSED = "refused"
    RETURNING = "returning"
    LATE = "late"
    ABORTED = "aborted"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class SubscriptionRequest(BaseModel):
    """Shipping asks tracking to follow a confirmed shipment (internal key + X-Shop-Id)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "3927481123456789",
                    "carrier": "ZTO",
                    "number": "78345678901234",
                    "shipped_at": "2026-11-28T10:00:00+08:00",
                    "destination_province": "广东省",
                    "promised_days": 3,
                }
            ]
        }
    )

    order_id: OrderId
    carrier: CarrierCode
    number: WaybillNumberStr
    shipped_at: AwareDatetime
    destination_province: str | None = Field(None, max_length=50)
    promised_days: int | None = Field(None, ge=0, le=60, description="Carrier's typical transit days for the route.")


class SubscriptionInfo(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carrier": "ZTO",
                    "number": "78345678901234",
                    "order_id": "3927481123456789",
                    "status": "pending",
                    "subscribed": True,
                }
            ]
        }
    )

    carrier: CarrierCode
    number: str
    order_id: str
    status: TrackingStatus
    subscribed: bool = Field(description="True once the provider accepted the subscription.")


MAX_BATCH_SUBSCRIPTIONS = 1000


class SubscriptionBatch(BaseModel):
    """Many confirmed shipments of one shop handed to tracking at once (a batch chunk's worth)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "order_id": "3927481123456789",
                            "carrier": "ZTO",
                            "number": "78345678901234",
                            "shipped_at": "2026-11-28T10:00:00+08:00",
                            "destination_province": "广东省",
                        }
                    ]
                }
            ]
        }
    )

    items: list[SubscriptionRequest] = Field(min_length=1, max_length=MAX_BATCH_SUBSCRIPTIONS)


class SubscriptionOutcome(StrEnum):
    CREATED = "created"
    EXISTING = "existing"  # already followed for this order: nothing changes (a flagged one is retried)
    CONFLICT = "conflict"  # the number is followed for another order or shop: refused


class SubscriptionBatchItem(BaseModel):
    carrier: CarrierCode
    number: str
    outcome: SubscriptionOutcome
    subscription: SubscriptionInfo | None = Field(None, description="Absent for a conflict.")
    message: str | None = Field(None, description="Why a conflict was refused.")


class SubscriptionBatchResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "created": 1,
                    "existing": 0,
                    "conflicts": 0,
                    "results": [
                        {
                            "carrier": "ZTO",
                            "number": "78345678901234",
                            "outcome": "created",
                            "subscription": {
                                "carrier": "ZTO",
                                "number": "78345678901234",
                                "order_id": "3927481123456789",
                                "status": "pending",
                                "subscribed": False,
                            },
                            "message": None,
                        }
                    ],
                }
            ]
        }
    )

    created: int
    existing: int
    conflicts: int
    results: list[SubscriptionBatchItem] = Field(description="One per item, in the request's order.")


class AlertInfo(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 311,
                    "kind": "no_update",
                    "state": "open",
                    "opened_at": "2026-11-30T09:00:00Z",
                    "message": "no new event for 36 hours (last: 【杭州市】快件已到达 杭州转运中心)",
                }
            ]
        }
    )

    id: int
    kind: AlertKind
    state: AlertState
    opened_at: datetime
    message: str


UPDATE_EXAMPLE: JsonDict = {
    "event_id": "6f1c2b9e-3d4a-4f5b-8c7d-1e2f3a4b5c6d",
    "kind": "status_changed",
    "order_id": "3927481123456789",
    "carrier": "ZTO",
    "number": "78345678901234",
    "status": "delivered",
    "occurred_at": "2026-11-30T15:42:00+08:00",
    "description": "【广州市】快件已签收，签收人：本人，如有疑问请电联快递员",
    "alert": None,
}


class TrackingUpdate(BaseModel):
    """Tracking tells shipping what happened to a parcel; shipping moves the order and notifies the
    shop. ``event_id`` makes a repeated delivery harmless."""

    model_config = ConfigDict(json_schema_extra={"examples": [UPDATE_EXAMPLE]})

    event_id: uuid.UUID
    kind: str = Field(description="status_changed, alert_opened or alert_resolved")
    order_id: str
    carrier: CarrierCode
    number: str
    status: TrackingStatus
    occurred_at: AwareDatetime
    description: str = ""
    alert: AlertInfo | None = None


class TrackingUpdateResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"applied": True, "duplicate": False, "order_status": "delivered"}]}
    )

    applied: bool
    duplicate: bool = False
    order_status: str | None = None


MAX_BATCH_TRACKING_UPDATES = 500


class TrackingUpdateBatch(BaseModel):
    """Many updates of one shop's parcels at once, in the order tracking recorded them (each parcel's own
    updates in the order they happened)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"updates": [UPDATE_EXAMPLE]}]})

    updates: list[TrackingUpdate] = Field(min_length=1, max_length=MAX_BATCH_TRACKING_UPDATES)


class TrackingUpdateOutcome(BaseModel):
    """What became of one update of a batch. ``error`` names an update shipping can never apply (its order
    is unknown to that shop): repeating it will not help."""

    event_id: uuid.UUID
    applied: bool
    duplicate: bool = False
    order_status: str | None = None
    error: str | None = Field(None, description="`not_found` when the shop has no such order")


class TrackingUpdateBatchResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "event_id": "6f1c2b9e-3d4a-4f5b-8c7d-1e2f3a4b5c6d",
                            "applied": True,
                            "duplicate": False,
                            "order_status": "delivered",
                            "error": None,
                        }
                    ]
                }
            ]
        }
    )

    results: list[TrackingUpdateOutcome]
