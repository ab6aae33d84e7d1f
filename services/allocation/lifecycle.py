"""A number's lifecycle as plain rules, no database: which status a mark or a release moves a number to,
when a label with it may exist, what a purchase issued a number some live row holds does about that row,
and the name the API gives each status.

The other moves are single statements of the repository, each from one status: allocation (available to
allocated), expiry, refund and quarantine of available numbers, and supersession of a typed entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, auto

from services.allocation.models import WaybillSource, WaybillStatus
from shared.allocation import MarkState, WaybillState


def public_state(status: WaybillStatus) -> WaybillState:
    """The status as the API names it."""
    return WaybillState[status.name]


@dataclass(frozen=True)
class MarkRule:
    target: WaybillStatus
    # Statuses the mark may start from; the target among them makes a repeat harmless.
    allowed_from: frozenset[WaybillStatus]


MARK_RULES: Mapping[MarkState, MarkRule] = {
    MarkState.PRINTED: MarkRule(WaybillStatus.PRINTED, frozenset({WaybillStatus.ALLOCATED, WaybillStatus.PRINTED})),
    MarkState.SHIPPED: MarkRule(
        WaybillStatus.SHIPPED, frozenset({WaybillStatus.ALLOCATED, WaybillStatus.PRINTED, WaybillStatus.SHIPPED})
    ),
    MarkState.QUARANTINED: MarkRule(
        WaybillStatus.QUARANTINED,
        frozenset({WaybillStatus.AVAILABLE, WaybillStatus.ALLOCATED, WaybillStatus.PRINTED, WaybillStatus.QUARANTINED}),
    ),
    MarkState.EXPIRED: MarkRule(
        WaybillStatus.EXPIRED,
        frozenset({WaybillStatus.AVAILABLE, WaybillStatus.ALLOCATED, WaybillStatus.PRINTED, WaybillStatus.EXPIRED}),
    ),
}


def mark_target(current: WaybillStatus, wanted: MarkState) -> WaybillStatus | None:
    """The status a mark moves a number to (its own status for a repeat), or None when it may not."""
    rule = MARK_RULES[wanted]
    return rule.target if current in rule.allowed_from else None


def release_target(current: WaybillStatus, source: WaybillSource) -> WaybillStatus | None:
    """The status a release moves a number to, or None when it may not be released.

    Allocated and never printed: back to the pool, unless it was typed (never ours to hand out again: voided).
    Printed: voided, since a physical label may exist. Shipped: voided too, a label voided after the marketplace
    was told but before the courier collected the parcel (回收单号; changing a shipment's numbers): the courier's
    refusal to cancel a collected one is what settles such a void uncredited. (Releasing a voided number again is
    a repeat, not a move: the caller answers it as the first release.)"""
    if current == WaybillStatus.ALLOCATED:
        return WaybillStatus.AVAILABLE if source == WaybillSource.COURIER else WaybillStatus.VOIDED
    if current in (WaybillStatus.PRINTED, WaybillStatus.SHIPPED):
        return WaybillStatus.VOIDED
    return None


def prints_label(status: WaybillStatus) -> bool:
    """Moving to this status means a label with the number may exist from now on (``ever_printed``)."""
    return status in (WaybillStatus.PRINTED, WaybillStatus.SHIPPED)


def label_may_exist(status: WaybillStatus, ever_printed: bool) -> bool:
    """A typed number counts as used once it was printed: printed and shipped, and voided, expired or
    quarantined after printing (the label may still be on a parcel). Allocated only, or voided, expired or
    quarantined without ever being printed, it is not: a purchase that receives it takes it over."""
    return ever_printed or prints_label(status)


class Claim(Enum):
    """What a purchase the courier issued a number to does about the live row already holding it."""

    ISSUED_TWICE = auto()  # another purchase's number: quarantined, each purchase credited
    KEPT_BY_ENTRY = auto()  # a typed entry that may be on a label: it keeps the number, the purchase is credited
    TAKE_OVER = auto()  # a typed entry never printed: superseded, the purchase takes the number


def claim_on(source: WaybillSource, status: WaybillStatus, ever_printed: bool) -> Claim:
    """A paid purchase wins over a typed number unless a label with it may exist."""
    if source != WaybillSource.MANUAL:
        return Claim.ISSUED_TWICE
    if label_may_exist(status, ever_printed):
        return Claim.KEPT_BY_ENTRY
    return Claim.TAKE_OVER
