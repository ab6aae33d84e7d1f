"""Which alerts a batch opens and resolves, and when a time alert's threshold calls for one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.tracking.domain.alerts import (
    ABORTED_MESSAGE,
    AlertDefaults,
    alerts_to_open,
    alerts_to_resolve,
    time_alert_message,
)
from services.tracking.domain.parcel import Advance, NewEvent, ParcelState
from services.tracking.domain.states import ProviderState
from services.tracking.normalise import RANK
from shared.tracking import AlertKind, TrackingStatus

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _event(hours: float, status: TrackingStatus, context: str) -> NewEvent:
    return NewEvent(1, T0 + timedelta(hours=hours), status, context)


def _state(
    status: TrackingStatus,
    progress: int | None = None,
    last_event_at: datetime | None = None,
    provider_state: ProviderState = ProviderState.SUBSCRIBED,
) -> ParcelState:
    rank = RANK.get(status, 30) if progress is None else progress
    return ParcelState(status, rank, None, last_event_at, None, provider_state, None)


def _after(
    status: TrackingStatus, *, moved: bool = True, aborted_now: bool = False, progress: int | None = None
) -> Advance:
    return Advance(_state(status, progress), moved, aborted_now, None)


def test_trouble_events_open_their_kind_once_with_the_first_events_text() -> None:
    new = [
        _event(3, TrackingStatus.DELIVERY_FAILED, "second"),
        _event(2, TrackingStatus.PROBLEM, "first"),
        _event(4, TrackingStatus.REFUSED, "拒收"),
        _event(1, TrackingStatus.IN_TRANSIT, "在途"),
    ]
    assert alerts_to_open(new, False, ()) == {AlertKind.PROBLEM: "first", AlertKind.REFUSED: "拒收"}


def test_a_kind_already_unresolved_is_not_opened_again() -> None:
    new = [_event(1, TrackingStatus.RETURNING, "退回")]
    assert alerts_to_open(new, False, (AlertKind.RETURNING,)) == {}


def test_the_provider_giving_up_opens_aborted() -> None:
    assert alerts_to_open([], True, ()) == {AlertKind.ABORTED: ABORTED_MESSAGE}


RESOLUTIONS = [
    (AlertKind.PROBLEM, _after(TrackingStatus.IN_TRANSIT), True),
    (AlertKind.PROBLEM, _after(TrackingStatus.DELIVERY_FAILED), False),
    (AlertKind.REFUSED, _after(TrackingStatus.RETURNING), True),
    (AlertKind.REFUSED, _after(TrackingStatus.REFUSED), False),
    (AlertKind.RETURNING, _after(TrackingStatus.RETURNING), False),
    (AlertKind.RETURNING, _after(TrackingStatus.RETURNED), True),
    (AlertKind.NOT_COLLECTED, _after(TrackingStatus.PROBLEM, progress=RANK[TrackingStatus.COLLECTED]), True),
    (AlertKind.NOT_COLLECTED, _after(TrackingStatus.INFO_RECEIVED), False),
    (AlertKind.NO_UPDATE, _after(TrackingStatus.IN_TRANSIT), True),
    (AlertKind.NO_UPDATE, _after(TrackingStatus.IN_TRANSIT, moved=False), False),
    (AlertKind.ABORTED, _after(TrackingStatus.EXPIRED, aborted_now=True), False),
    (AlertKind.LATE, _after(TrackingStatus.OUT_FOR_DELIVERY), False),
    (AlertKind.LATE, _after(TrackingStatus.DELIVERED), True),
]


@pytest.mark.parametrize(("kind", "after", "resolves"), RESOLUTIONS)
def test_an_alert_resolves_once_the_parcel_has_moved_past_its_cause(
    kind: AlertKind, after: Advance, resolves: bool
) -> None:
    assert alerts_to_resolve([kind], after) == ([kind] if resolves else [])


def test_resolutions_keep_the_order_of_the_active_alerts() -> None:
    active = [AlertKind.LATE, AlertKind.PROBLEM, AlertKind.NO_UPDATE]
    assert alerts_to_resolve(active, _after(TrackingStatus.DELIVERED)) == active


NOW = T0 + timedelta(days=2)


def test_not_collected_until_collected() -> None:
    assert time_alert_message(AlertKind.NOT_COLLECTED, _state(TrackingStatus.INFO_RECEIVED), 24.0, NOW) == (
        "not collected 24 h after shipment"
    )
    assert time_alert_message(AlertKind.NOT_COLLECTED, _state(TrackingStatus.COLLECTED), 24.0, NOW) is None


def test_no_update_measured_from_the_last_event() -> None:
    stale = _state(TrackingStatus.IN_TRANSIT, last_event_at=NOW - timedelta(hours=48))
    fresh = _state(TrackingStatus.IN_TRANSIT, last_event_at=NOW - timedelta(hours=47))
    last = (NOW - timedelta(hours=48)).isoformat()
    assert time_alert_message(AlertKind.NO_UPDATE, stale, 48.0, NOW) == f"no update for 48 h (last event {last})"
    assert time_alert_message(AlertKind.NO_UPDATE, fresh, 48.0, NOW) is None
    assert time_alert_message(AlertKind.NO_UPDATE, _state(TrackingStatus.IN_TRANSIT), 48.0, NOW) is None


def test_late_until_delivered_or_returned() -> None:
    assert time_alert_message(AlertKind.LATE, _state(TrackingStatus.IN_TRANSIT), 3, NOW) == (
        "not delivered within the 3-day transit time"
    )
    assert time_alert_message(AlertKind.LATE, _state(TrackingStatus.DELIVERED), 3, NOW) is None
    assert time_alert_message(AlertKind.LATE, _state(TrackingStatus.RETURNED), 3, NOW) is None


@pytest.mark.parametrize("kind", [AlertKind.NOT_COLLECTED, AlertKind.NO_UPDATE, AlertKind.LATE])
def test_no_time_alert_for_a_subscription_no_longer_followed(kind: AlertKind) -> None:
    state = _state(TrackingStatus.PENDING, 0, T0, provider_state=ProviderState.FINISHED)
    assert time_alert_message(kind, state, 1.0, NOW) is None


def test_the_defaults_as_query_parameters() -> None:
    assert AlertDefaults(24.0, 48.0, 12.0, 3).params() == {
        "not_collected_hours": 24.0,
        "no_update_hours": 48.0,
        "late_grace_hours": 12.0,
        "transit_days": 3,
    }
