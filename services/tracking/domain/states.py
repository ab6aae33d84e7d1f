"""The named states and outcomes tracking stores and compares (never bare strings)."""

from __future__ import annotations

from enum import StrEnum


class ProviderState(StrEnum):
    """Where a subscription stands with the provider."""

    PENDING = "pending"
    SUBSCRIBED = "subscribed"
    REFUSED = "refused"  # the provider or the carrier said no
    FAILED = "failed"  # gave up retrying
    FINISHED = "finished"  # the journey is over
    ABORTED = "aborted"  # the provider gave up tracking the parcel


# Still followed: pushes may come, time-based alerts apply.
ACTIVE_PROVIDER_STATES = frozenset({ProviderState.PENDING, ProviderState.SUBSCRIBED})
# Flagged for an operator; shipping asking again retries them.
FLAGGED_PROVIDER_STATES = frozenset({ProviderState.REFUSED, ProviderState.FAILED})
# The provider took the subscription at some point (what SubscriptionInfo.subscribed says).
TAKEN_PROVIDER_STATES = frozenset({ProviderState.SUBSCRIBED, ProviderState.FINISHED, ProviderState.ABORTED})


class UpdateKind(StrEnum):
    """What a TrackingUpdate to shipping reports."""

    STATUS_CHANGED = "status_changed"
    ALERT_OPENED = "alert_opened"
    ALERT_RESOLVED = "alert_resolved"


class PushOutcome(StrEnum):
    """What the webhook made of a push (also the label of the ingestion counter)."""

    STORED = "stored"  # acknowledged: kept, or identical to a push already kept for the parcel
    BAD_SIGNATURE = "bad_signature"  # the number is followed, but no subscription's salt matches the sign
    UNKNOWN_NUMBER = "unknown_number"  # no subscription has the number (so no salt can match either)
    UNREADABLE = "unreadable"  # the param is not a push we can read a number from


class PushSource(StrEnum):
    PUSH = "push"  # the provider's callback
    POLL = "poll"  # our query's answer, stored like a push
