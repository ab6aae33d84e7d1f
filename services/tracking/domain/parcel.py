"""How a parcel's tracking state moves when pushes bring news: the status goes forward only (normalise.advance),
only news newer than what we know can move it, and the provider ending or giving up ends the subscription."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.tracking.domain.states import ACTIVE_PROVIDER_STATES, ProviderState
from services.tracking.normalise import advance
from shared.tracking import TrackingStatus


@dataclass(frozen=True)
class ParcelState:
    """The part of a subscription that processing pushes reads and writes."""

    status: TrackingStatus
    progress: int  # highest rank reached (normalise.RANK); exceptions do not lower it
    status_at: datetime | None
    last_event_at: datetime | None
    last_heard_at: datetime | None
    provider_state: ProviderState
    ended_at: datetime | None


@dataclass(frozen=True)
class NewEvent:
    """An event stored for the first time by this batch."""

    subscription_id: int
    occurred_at: datetime
    status: TrackingStatus
    context: str


@dataclass(frozen=True)
class PushSignals:
    """What a batch's pushes of one parcel say beside their events."""

    aborted_message: str | None  # the first aborting push's message; None when none aborts
    journey_over: bool  # a push says the journey is over (checked, or the provider shut the subscription)


@dataclass(frozen=True)
class StatusChange:
    status: TrackingStatus
    occurred_at: datetime
    description: str


@dataclass(frozen=True)
class Advance:
    """The parcel after a batch: its new state, whether news moved it, whether the provider gave up on it just
    now, and the status change to tell shipping about (None when the status stayed)."""

    state: ParcelState
    moved: bool
    aborted_now: bool
    change: StatusChange | None


@dataclass(frozen=True)
class _Step:
    status: TrackingStatus
    progress: int
    description: str
    changed_at: datetime | None


def advance_parcel(state: ParcelState, new: Sequence[NewEvent], signals: PushSignals, now: datetime) -> Advance:
    """``new``: the parcel's newly stored events, oldest first."""
    step = _Step(state.status, state.progress, "", state.status_at)
    last_event_at, moved = state.last_event_at, False
    # Only news can move the status: events older than what we already know fill the timeline.
    if new and (last_event_at is None or new[-1].occurred_at > last_event_at):
        newest = new[-1]
        last_event_at, moved = newest.occurred_at, True
        step = _towards(step, newest.status, newest.context, newest.occurred_at)
    provider_state, ended_at, aborted_now = state.provider_state, state.ended_at, False
    if provider_state in ACTIVE_PROVIDER_STATES:
        if signals.aborted_message is not None:
            provider_state, ended_at, aborted_now = ProviderState.ABORTED, now, True
            step = _towards(step, TrackingStatus.EXPIRED, signals.aborted_message, now)
        elif signals.journey_over:
            provider_state, ended_at = ProviderState.FINISHED, now
    change = None
    status_at = state.status_at
    if step.status != state.status:
        status_at = step.changed_at
        change = StatusChange(step.status, step.changed_at or now, step.description)
    after = replace(
        state,
        status=step.status,
        progress=step.progress,
        status_at=status_at,
        last_event_at=last_event_at,
        last_heard_at=now,
        provider_state=provider_state,
        ended_at=ended_at,
    )
    return Advance(after, moved, aborted_now, change)


def _towards(step: _Step, candidate: TrackingStatus, description: str, at: datetime) -> _Step:
    """The step after an event saying ``candidate``; the progress moves even when the status stays."""
    status, progress = advance(step.status, step.progress, candidate)
    if status == step.status:
        return replace(step, progress=progress)
    return _Step(status, progress, description, at)
