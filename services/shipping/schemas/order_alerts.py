"""Order alerts: ship-by deadlines (发货超时), invalid addresses, and what other checks raise about an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AlertKindName = Literal[
    "late_to_ship", "ship_by_passed", "not_collected_by_ship_by", "address_change_after_collection", "address_invalid"
]
AlertStateName = Literal["open", "acknowledged", "resolved"]

# Webhook events of order alerts (to the shop's endpoints, with an OrderAlertOut as ``data``).
ALERT_OPENED = "order.alert_opened"
ALERT_RESOLVED = "order.alert_resolved"


@dataclass(frozen=True)
class AlertFilter:
    """Which of a shop's order alerts a list shows."""

    state: str | None = None
    kind: str | None = None
    order_id: str | None = None


class OrderAlertOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1042,
                    "order_id": "ord_4b1e9c2a7d3f5e8a0b6c",
                    "kind": "late_to_ship",
                    "state": "open",
                    "message": "订单 3001234567890123456 须在 2026-11-29 18:00 前发货，还剩 3 小时 40 分",
                    "opened_at": "2026-11-29T06:20:00Z",
                    "acknowledged_at": None,
                    "resolved_at": None,
                },
                {
                    "id": 1043,
                    "order_id": "ord_9c2a7d3f5e8a0b6c4b1e",
                    "kind": "address_invalid",
                    "state": "resolved",
                    "message": "区县「XX区」不属于「广州市」",
                    "opened_at": "2026-11-29T06:21:00Z",
                    "acknowledged_at": "2026-11-29T06:30:00Z",
                    "resolved_at": "2026-11-29T07:02:00Z",
                },
            ]
        },
    )

    id: int
    order_id: str
    kind: str = Field(
        description=(
            "late_to_ship (the ship-by time is within the shop's lead time), ship_by_passed, address_invalid "
            "(the order is held until its address is fixed), not_collected_by_ship_by, "
            "address_change_after_collection."
        )
    )
    state: str = Field(description="open, acknowledged (seen by the seller), resolved (by itself: it no longer holds).")
    message: str = Field(description="What is wrong, in Chinese for the seller; times in the shop's time zone.")
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
