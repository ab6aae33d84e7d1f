"""The TrackingUpdates tracking owes shipping: how one is written down, and what became of a round of
sending them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.tracking.domain.states import UpdateKind
from shared.tracking import TrackingStatus


@dataclass(frozen=True)
class Parcel:
    """Who an update is about."""

    shop_id: str
    subscription_id: int
    order_id: str
    carrier: str
    number: str


@dataclass(frozen=True)
class AlertNote:
    id: int
    kind: str
    state: str
    opened_at: datetime
    message: str


@dataclass(frozen=True)
class NewUpdate:
    parcel: Parcel
    event_id: uuid.UUID
    kind: UpdateKind
    payload: dict[str, Any]


def new_update(
    parcel: Parcel,
    kind: UpdateKind,
    status: TrackingStatus,
    occurred_at: datetime,
    description: str,
    alert: AlertNote | None = None,
) -> NewUpdate:
    """A TrackingUpdate in its JSON form, built directly (hundreds per batch; the tests check it parses as a
    TrackingUpdate, and the notifier reads it as one before sending)."""
    event_id = uuid.uuid4()
    payload = {
        "event_id": str(event_id),
        "kind": kind.value,
        "order_id": parcel.order_id,
        "carrier": parcel.carrier,
        "number": parcel.number,
        "status": status.value,
        "occurred_at": occurred_at.isoformat(),
        "description": description[:500],
        "alert": None if alert is None else _alert_payload(alert),
    }
    return NewUpdate(parcel, event_id, kind, payload)


def _alert_payload(alert: AlertNote) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "state": alert.state,
        "opened_at": alert.opened_at.isoformat(),
        "message": alert.message,
    }


@dataclass(frozen=True)
class DueNotification:
    """A stored update leased for sending."""

    id: int
    shop_id: str
    subscription_id: int
    payload: dict[str, Any]
    attempts: int  # this one included


@dataclass(frozen=True)
class Refused:
    """Shipping can never take it (or it cannot be read): recorded as done, with the reason."""

    notification_id: int
    error: str


@dataclass(frozen=True)
class Deferred:
    notification_id: int
    delay_s: float
    error: str


@dataclass
class RoundOutcome:
    """What became of one round's updates: sent, refused for good, or to be tried again later."""

    sent: list[int] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    later: list[Deferred] = field(default_factory=list)
