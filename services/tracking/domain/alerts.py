"""When a parcel's alerts open and resolve (物流预警). Event alerts open on the events that report trouble
and on the provider giving up; time alerts open when a threshold passes; each resolves when the parcel has
moved past its cause."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from services.tracking.domain.parcel import Advance, NewEvent, ParcelState
from services.tracking.domain.states import ACTIVE_PROVIDER_STATES
from services.tracking.normalise import EXCEPTIONS, RANK
from shared.tracking import AlertKind, TrackingStatus

COLLECTED_RANK = RANK[TrackingStatus.COLLECTED]
DONE = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED})
ABORTED_MESSAGE = "the provider stopped tracking this parcel (no record or no change for too long)"

# The events that open an alert of their own.
EVENT_ALERTS: Mapping[TrackingStatus, AlertKind] = MappingProxyType(
    {
        TrackingStatus.PROBLEM: AlertKind.PROBLEM,
        TrackingStatus.DELIVERY_FAILED: AlertKind.PROBLEM,
        TrackingStatus.REFUSED: AlertKind.REFUSED,
        TrackingStatus.RETURNING: AlertKind.RETURNING,
    }
)
TIME_ALERTS = (AlertKind.NOT_COLLECTED, AlertKind.NO_UPDATE, AlertKind.LATE)


@dataclass(frozen=True)
class AlertDefaults:
    """The service's thresholds, where a shop has set none for a carrier (nor for all its carriers)."""

    not_collected_hours: float
    no_update_hours: float
    late_grace_hours: float
    transit_days: int

    def params(self) -> dict[str, float]:
        return {
            "not_collected_hours": self.not_collected_hours,
            "no_update_hours": self.no_update_hours,
            "late_grace_hours": self.late_grace_hours,
            "transit_days": self.transit_days,
        }


def alerts_to_open(new: Sequence[NewEvent], aborted_now: bool, active: Collection[AlertKind]) -> dict[AlertKind, str]:
    """The alerts a batch's new events (and the provider giving up) open, each with its message (the first
    event's text of its kind), leaving out the kinds already unresolved for the parcel."""
    wanted: dict[AlertKind, str] = {}
    for ev in sorted(new, key=lambda e: e.occurred_at):
        kind = EVENT_ALERTS.get(ev.status)
        if kind is not None:
            wanted.setdefault(kind, ev.context)
    if aborted_now:
        wanted[AlertKind.ABORTED] = ABORTED_MESSAGE
    return {kind: message for kind, message in wanted.items() if kind not in active}


def alerts_to_resolve(active: Iterable[AlertKind], after: Advance) -> list[AlertKind]:
    """The unresolved alerts the parcel has moved past."""
    return [kind for kind in active if _resolves(kind, after)]


def _resolves(kind: AlertKind, after: Advance) -> bool:
    status = after.state.status
    if status in DONE:
        return True
    if kind == AlertKind.PROBLEM:
        return status not in EXCEPTIONS
    if kind == AlertKind.REFUSED:
        return status != TrackingStatus.REFUSED
    if kind == AlertKind.RETURNING:
        return status != TrackingStatus.RETURNING
    if kind == AlertKind.NOT_COLLECTED:
        return after.state.progress >= COLLECTED_RANK
    if kind in (AlertKind.NO_UPDATE, AlertKind.ABORTED):
        return after.moved and not after.aborted_now
    return False  # late: only delivery (or return) ends it


def time_alert_message(kind: AlertKind, state: ParcelState, amount: float, now: datetime) -> str | None:
    """The message of a time alert the scan found due (``amount``: the threshold in force, hours or days), or
    None when the parcel, read again under its lock, no longer calls for it."""
    if state.provider_state not in ACTIVE_PROVIDER_STATES:
        return None
    if kind == AlertKind.NOT_COLLECTED:
        if state.progress >= COLLECTED_RANK:
            return None  # collected since the scan looked
        return f"not collected {amount:g} h after shipment"
    if kind == AlertKind.NO_UPDATE:
        last = state.last_event_at
        if last is None or (now - last).total_seconds() < amount * 3600:
            return None
        return f"no update for {amount:g} h (last event {last.isoformat()})"
    if state.status in DONE:
        return None
    return f"not delivered within the {amount:g}-day transit time"
