"""A TrackingUpdate as tracking writes it down: its JSON form reads as the shared model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.tracking.domain.states import UpdateKind
from services.tracking.domain.updates import AlertNote, Parcel, new_update
from shared.tracking import AlertKind, AlertState, TrackingStatus, TrackingUpdate

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PARCEL = Parcel("shop-a", 7, "o-1", "ZTO", "78000000001")


def test_a_status_change_reads_as_a_tracking_update() -> None:
    made = new_update(PARCEL, UpdateKind.STATUS_CHANGED, TrackingStatus.DELIVERED, T0, "签收" * 400)
    update = TrackingUpdate.model_validate(made.payload)
    assert update.event_id == made.event_id
    assert (update.kind, update.order_id, update.carrier.value, update.number) == (
        "status_changed",
        "o-1",
        "ZTO",
        "78000000001",
    )
    assert update.status is TrackingStatus.DELIVERED
    assert update.occurred_at == T0
    assert len(update.description) == 500
    assert update.alert is None


def test_an_alert_update_carries_the_alert() -> None:
    note = AlertNote(311, "late", "open", T0, "not delivered within the 3-day transit time")
    made = new_update(PARCEL, UpdateKind.ALERT_OPENED, TrackingStatus.IN_TRANSIT, T0, note.message, note)
    update = TrackingUpdate.model_validate(made.payload)
    assert update.alert is not None
    assert (update.alert.id, update.alert.kind, update.alert.state) == (311, AlertKind.LATE, AlertState.OPEN)
    assert made.kind is UpdateKind.ALERT_OPENED


def test_every_update_has_its_own_event_id() -> None:
    ids = {new_update(PARCEL, UpdateKind.STATUS_CHANGED, TrackingStatus.IN_TRANSIT, T0, "").event_id for _ in range(5)}
    assert len(ids) == 5
    assert all(isinstance(i, uuid.UUID) for i in ids)
