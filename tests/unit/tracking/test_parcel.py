"""The status advance of a parcel given its state and a batch's news: forward only, news only, and the
provider finishing or giving up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.tracking.domain.parcel import NewEvent, ParcelState, PushSignals, advance_parcel
from services.tracking.domain.states import ProviderState
from services.tracking.normalise import RANK
from shared.tracking import TrackingStatus

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
QUIET = PushSignals(aborted_message=None, journey_over=False)


def _state(
    status: TrackingStatus = TrackingStatus.PENDING,
    last_event_at: datetime | None = None,
    provider_state: ProviderState = ProviderState.SUBSCRIBED,
) -> ParcelState:
    return ParcelState(status, RANK.get(status, 0), None, last_event_at, None, provider_state, None)


def _event(hours: float, status: TrackingStatus, context: str = "") -> NewEvent:
    return NewEvent(1, T0 + timedelta(hours=hours), status, context or status.value)


def test_the_newest_event_moves_the_status_and_is_what_shipping_hears() -> None:
    events = [_event(1, TrackingStatus.COLLECTED), _event(2, TrackingStatus.IN_TRANSIT, "离开杭州")]
    after = advance_parcel(_state(), events, QUIET, NOW)
    assert after.state.status is TrackingStatus.IN_TRANSIT
    assert after.state.progress == RANK[TrackingStatus.IN_TRANSIT]
    assert after.state.status_at == events[-1].occurred_at
    assert after.state.last_event_at == events[-1].occurred_at
    assert after.state.last_heard_at == NOW
    assert after.moved
    assert not after.aborted_now
    assert after.change is not None
    assert (after.change.status, after.change.occurred_at, after.change.description) == (
        TrackingStatus.IN_TRANSIT,
        events[-1].occurred_at,
        "离开杭州",
    )


def test_an_event_older_than_what_we_know_fills_the_timeline_only() -> None:
    state = _state(TrackingStatus.OUT_FOR_DELIVERY, last_event_at=T0 + timedelta(hours=10))
    after = advance_parcel(state, [_event(3, TrackingStatus.IN_TRANSIT)], QUIET, NOW)
    assert after.state.status is TrackingStatus.OUT_FOR_DELIVERY
    assert after.state.last_event_at == state.last_event_at
    assert not after.moved
    assert after.change is None
    assert after.state.last_heard_at == NOW  # still heard of


def test_news_of_an_earlier_stage_never_moves_the_parcel_back() -> None:
    state = _state(TrackingStatus.OUT_FOR_DELIVERY, last_event_at=T0)
    after = advance_parcel(state, [_event(5, TrackingStatus.IN_TRANSIT)], QUIET, NOW)
    assert after.moved
    assert after.state.status is TrackingStatus.OUT_FOR_DELIVERY
    assert after.state.last_event_at == T0 + timedelta(hours=5)
    assert after.change is None


def test_an_exception_keeps_the_progress_reached() -> None:
    state = _state(TrackingStatus.IN_TRANSIT, last_event_at=T0)
    after = advance_parcel(state, [_event(5, TrackingStatus.PROBLEM)], QUIET, NOW)
    assert after.state.status is TrackingStatus.PROBLEM
    assert after.state.progress == RANK[TrackingStatus.IN_TRANSIT]


def test_the_provider_giving_up_ends_the_subscription_and_expires_the_parcel() -> None:
    state = _state(TrackingStatus.IN_TRANSIT, last_event_at=T0)
    after = advance_parcel(state, [], PushSignals("3天无更新", journey_over=False), NOW)
    assert after.aborted_now
    assert after.state.provider_state is ProviderState.ABORTED
    assert after.state.ended_at == NOW
    assert after.change is not None
    assert (after.change.status, after.change.occurred_at, after.change.description) == (
        TrackingStatus.EXPIRED,
        NOW,
        "3天无更新",
    )


def test_the_provider_giving_up_on_a_delivered_parcel_changes_no_status() -> None:
    state = _state(TrackingStatus.DELIVERED, last_event_at=T0)
    after = advance_parcel(state, [], PushSignals("", journey_over=False), NOW)
    assert after.state.provider_state is ProviderState.ABORTED
    assert after.state.status is TrackingStatus.DELIVERED
    assert after.change is None


def test_a_journey_over_finishes_the_subscription() -> None:
    state = _state(TrackingStatus.OUT_FOR_DELIVERY, last_event_at=T0)
    after = advance_parcel(state, [_event(5, TrackingStatus.DELIVERED)], PushSignals(None, journey_over=True), NOW)
    assert after.state.provider_state is ProviderState.FINISHED
    assert after.state.ended_at == NOW
    assert after.state.status is TrackingStatus.DELIVERED
    assert not after.aborted_now


def test_a_subscription_no_longer_active_is_not_ended_again() -> None:
    ended = T0 + timedelta(hours=1)
    state = ParcelState(TrackingStatus.DELIVERED, 100, T0, T0, T0, ProviderState.FINISHED, ended)
    after = advance_parcel(state, [], PushSignals("gone", journey_over=True), NOW)
    assert after.state.provider_state is ProviderState.FINISHED
    assert after.state.ended_at == ended
    assert not after.aborted_now
