"""Planning a shipment's parcels (一单多包): how many, which lines and weight each, the allocation reference
of each, and which is the parent of a multi-piece freight shipment (子母件). Pure: no I/O.

Each parcel's allocation reference derives from its ordinal within the order (parcel 1 of the order's first
live shipment is the order's own reference, as before parcels existed), so a ship that is retried after a
crash asks allocation for the same references and gets the same numbers back: none is lost, none doubled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.errors import AppError
from shared.allocation import MAX_BATCH_ALLOCATION
from shared.carriers import CarrierCode
from shared.tracking import TrackingStatus

MAX_PARCELS = min(50, MAX_BATCH_ALLOCATION)
ORDER_REF_MAX = 64  # allocation's order reference (shared.allocation.OrderId)

# Carriers whose multi-piece freight is one waybill with child pieces (子母件): parcel 1 is the parent (母单),
# the others children (子单) that name it; the rest ship each parcel as a waybill of its own.
PARENT_CHILD_CARRIERS = frozenset({CarrierCode.SF, CarrierCode.JD, CarrierCode.DBKD})


class BadParcels(AppError):
    status_code = 422


@dataclass(frozen=True)
class ParcelSpec:
    """What the seller said about one parcel (all optional)."""

    weight_g: int | None = None
    lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class PlannedParcel:
    seq: int
    ordinal: int
    ref: str
    weight_g: int | None
    lines: list[int]


def allocation_ref(external_id: str, ordinal: int) -> str:
    """The order's reference for parcel 1, a derived one for the others (within allocation's 64 characters)."""
    if ordinal == 1:
        return external_id
    suffix = f":P{ordinal}"
    base = external_id
    if len(base) + len(suffix) > ORDER_REF_MAX:
        base = hashlib.sha256(external_id.encode()).hexdigest()[: ORDER_REF_MAX - len(suffix)]
    return base + suffix


def line_count(items: Sequence[object]) -> int:
    """An order's lines are its items, numbered from 1; an order without items is one line."""
    return max(1, len(items))


def specs(parcel_count: int | None, parcels: Sequence[ParcelSpec] | None) -> list[ParcelSpec]:
    if parcels:
        return list(parcels)
    return [ParcelSpec() for _ in range(parcel_count or 1)]


def plan(
    external_id: str,
    order_weight_g: int,
    items: Sequence[object],
    wanted: Sequence[ParcelSpec],
    *,
    next_ordinal: int,
    first_is_order_ref: bool,
) -> list[PlannedParcel]:
    """The shipment's parcels. ``first_is_order_ref``: the order has no live parcel under its own reference,
    so parcel 1 takes it (and a number the order kept from a refused shipment comes back with it); the others
    take fresh ordinals from ``next_ordinal``. Lines out of range are refused (422); a parcel without weights
    shares the order's weight with the others evenly."""
    if not 1 <= len(wanted) <= MAX_PARCELS:
        raise BadParcels(f"a shipment has 1 to {MAX_PARCELS} parcels", details={"parcels": len(wanted)})
    lines_known = line_count(items)
    for spec in wanted:
        bad = [line for line in spec.lines if not 1 <= line <= lines_known]
        if bad:
            raise BadParcels(
                f"the order has lines 1 to {lines_known}; no line {bad[0]}",
                details={"lines": bad, "order_lines": lines_known},
            )
    share = order_weight_g // len(wanted) if all(s.weight_g is None for s in wanted) else None
    out: list[PlannedParcel] = []
    ordinal = next_ordinal
    for seq, spec in enumerate(wanted, start=1):
        if seq == 1 and first_is_order_ref:
            this = 1
        else:
            this, ordinal = ordinal, ordinal + 1
        weight = spec.weight_g if spec.weight_g is not None else share
        out.append(PlannedParcel(seq, this, allocation_ref(external_id, this), weight, sorted(set(spec.lines))))
    return out


def check_parcel_lines(wanted: Sequence[ParcelSpec], carried: Sequence[int]) -> None:
    """A parcel holds lines of its own shipment only (422)."""
    outside = sorted({line for spec in wanted for line in spec.lines} - set(carried))
    if outside:
        raise BadParcels(
            f"line {outside[0]} is not in this shipment (lines {', '.join(map(str, carried))})",
            details={"lines": outside, "shipment_lines": list(carried)},
        )


def parent_child(carrier: str, count: int) -> bool:
    return count > 1 and carrier in PARENT_CHILD_CARRIERS


# Statuses that say a courier has the parcel (or had it): anything past "info received", except tracking having
# given up on a parcel it never saw move.
_NOT_COLLECTED = frozenset({TrackingStatus.PENDING, TrackingStatus.INFO_RECEIVED, TrackingStatus.EXPIRED})
_FINAL = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED})


def collected(status: TrackingStatus) -> bool:
    return status not in _NOT_COLLECTED


def keeps(current: str | None, new: TrackingStatus) -> bool:
    """Whether a parcel's recorded status gives way to ``new`` (a final status is never moved back)."""
    return current is None or TrackingStatus(current) not in _FINAL or TrackingStatus(current) is new


def order_status_from(parcel_statuses: Sequence[str | None], update: TrackingStatus) -> TrackingStatus:
    """What one parcel's new status means for the whole order, given every live parcel's status (the new one
    included): delivered or returned only when every parcel is; one parcel delivered while others travel leaves
    the order in transit, one returned while others travel is an exception of the order."""
    statuses = [TrackingStatus(s) if s else None for s in parcel_statuses]
    if update in _FINAL and any(s is not update for s in statuses):
        if update is TrackingStatus.DELIVERED:
            return TrackingStatus.IN_TRANSIT
        return TrackingStatus.RETURNING
    return update
