"""What the marketplace's answer to a confirmation does to the shipment, its order and its batch item
(called by the confirmation job and the batch worker).

Rows are locked in the order every writer in shipping uses: orders, then shipments, then parcels. A worker
holds only a shipment's id, so it reads the shipment unlocked to learn its order, locks the order, then the
shipment: locking the shipment first deadlocked with the sort-code writer (order, then parcels) and with voids
and number changes (order, then shipment)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from runtime.db import UnitOfWork
from services.shipping import parcels, states
from services.shipping.metrics import BATCH_ORDERS, SHIPMENTS
from services.shipping.models import ItemStatus, Order, ParcelStatus, Shipment, ShipmentStatus
from services.shipping.parcels import allocation_ref
from services.shipping.repository.batches import BatchRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.service.events import Endpoints, emit
from services.shipping.service.orders import flag, transition, transition_many
from services.shipping.states import Change, OrderEvent, OrderNote, OrderStatus
from shared.allocation import MarkState

CONFIRMED_NOTE = "confirmed on the marketplace"
OWN_CONFIRMED_NOTE = "confirmed to the shop's systems (own channel)"


class NumberOutcome(StrEnum):
    """What became of the number of a shipment that failed for good, as the shop is told."""

    RETURNED = "returned"  # no label was printed: back to the pool, to be used again
    KEPT = "kept"  # a label was printed but the number is fine: it stays the order's, for shipping it again
    VOIDED = "voided"  # a label was printed and the order was closed on its channel: never used again
    QUARANTINED = "quarantined"  # the channel said the number itself is bad (used, not the carrier's)
    EXPIRED = "expired"  # the channel said the number has expired


async def finish_confirmed(uow: UnitOfWork, shipment_ids: Sequence[str], note: str = CONFIRMED_NOTE) -> int:
    """Confirmed shipments: order shipped, batch items done, tracking handoff and shop events queued."""
    if not shipment_ids:
        return 0
    srepo = ShipmentRepository(uow.session)
    orders = OrderRepository(uow.session)
    locked = await orders.lock_many(sorted({s.order_id for s in await srepo.by_ids(shipment_ids)}))
    confirmed = await srepo.confirm_many(shipment_ids)
    if not confirmed:
        return 0
    shipments = {s.id: s for s in await srepo.by_ids(confirmed)}
    shipped: list[Change[Order]] = []
    parts: list[Change[Order]] = []  # a split order's first part: some lines remain
    endpoints = Endpoints(uow)
    boxes = await ParcelRepository(uow.session).of_shipments(list(shipments))
    done_lines = await srepo.confirmed_lines(sorted(locked))
    for s in shipments.values():
        SHIPMENTS.labels(s.carrier, "confirmed").inc()
        if s.batch_id:
            BATCH_ORDERS.labels(ItemStatus.SHIPPED.value).inc()
        order = locked[s.order_id]
        numbers = [p.number for p in boxes.get(s.id, []) if p.status == ParcelStatus.LIVE] or [s.number]
        change = Change(order, f"{note}: {s.carrier} {', '.join(numbers)}")
        whole = done_lines[order.id] >= set(range(1, parcels.line_count(order.items) + 1))
        # An order moved on meanwhile (cancelled while its confirmation was in flight) keeps its state.
        if whole and states.can(order.status, OrderEvent.CONFIRM_SHIPMENT):
            shipped.append(change)
        elif not whole and states.can(order.status, OrderEvent.CONFIRM_PART):
            parts.append(change)
        await _emit_confirmed(uow, endpoints, s, order, numbers)
    # One job hands the lot to tracking (a job per shipment costs more than the calls themselves).
    uow.enqueue("subscribe_tracking_many", shipment_ids=list(shipments))
    await transition_many(orders, OrderEvent.CONFIRM_SHIPMENT, shipped)
    await transition_many(orders, OrderEvent.CONFIRM_PART, parts)
    await BatchRepository(uow.session).finish_items_for_shipments(confirmed, ItemStatus.SHIPPED, None)
    await uow.session.flush()
    return len(confirmed)


async def _emit_confirmed(
    uow: UnitOfWork, endpoints: Endpoints, shipment: Shipment, order: Order, numbers: list[str]
) -> None:
    wanted = await endpoints.of(shipment.shop_id)
    if not wanted:
        return
    data = {
        "shipment_id": shipment.id,
        "order_id": order.id,
        "external_id": order.external_id,
        "carrier": shipment.carrier,
        "number": shipment.number,
        "numbers": numbers,
    }
    await emit(uow, shipment.shop_id, "shipment.confirmed", data, endpoints=wanted)


async def finish_failed(
    uow: UnitOfWork,
    shipment_id: str,
    code: str,
    message: str,
    *,
    trade_closed: bool = False,
    retire: MarkState | None = None,
) -> None:
    """A shipment the channel refused for good: the order back to paid (cancelled when its trade closed) and
    flagged, the shop told. A paid number is never lost to a refusal that is not about it: unprinted, it goes
    back to the pool; printed, it stays the order's (shipping it again with the same carrier reuses it and its
    label), unless the order closed (voided). A number the channel said is bad is put out of use as
    ``retire`` says (quarantined, expired), printed or not."""
    found = await _lock_with_order(uow, shipment_id)
    if found is None:
        return
    shipment, order = found
    if shipment.status not in (ShipmentStatus.PENDING, ShipmentStatus.CONFIRMING):
        return
    shipment.status, shipment.error_code, shipment.error, shipment.lease_until = (
        ShipmentStatus.FAILED,
        code,
        message,
        None,
    )
    SHIPMENTS.labels(shipment.carrier, "failed").inc()
    if shipment.batch_id:
        BATCH_ORDERS.labels(ItemStatus.FAILED.value).inc()
    orders = OrderRepository(uow.session)
    printed = await label_printed(uow, shipment)
    main = next((p for p in await ParcelRepository(uow.session).live_of_shipment(shipment.id) if p.seq == 1), None)
    main_ref = allocation_ref(order.external_id, main.ordinal) if main is not None else order.external_id
    # Kept only under the order's own reference (so shipping it again is handed it back), never by a later part.
    own_ref = main_ref == order.external_id and order.status != OrderStatus.PARTLY_SHIPPED
    kept = printed and retire is None and not trade_closed and order.shipment_id == shipment.id and own_ref
    outcome = _number_outcome(printed, kept, retire)
    if order.shipment_id == shipment.id:
        event = OrderEvent.CANCEL if trade_closed else OrderEvent.FAIL_SHIPMENT
        if states.can(order.status, event):
            transition(orders, order, event, f"{code}: {message}")
        flag(order, "shipment_failed", f"{code}: {message}; number {shipment.number} {outcome.value}")
        order.shipment_id = None
        if not kept:
            order.number, order.carrier = None, None
    if retire is not None:
        uow.enqueue(
            "mark_number",
            shop_id=shipment.shop_id,
            number=shipment.number,
            status=retire.value,
            order_ref=main_ref,
        )
    elif not kept:
        uow.enqueue(
            "release_number",
            shop_id=shipment.shop_id,
            number=shipment.number,
            order_ref=main_ref,
            void=printed,
        )
    await release_other_parcels(uow, shipment, order, printed=printed)
    await BatchRepository(uow.session).finish_items_for_shipments(
        [shipment.id], ItemStatus.FAILED, f"{code}: {message}"
    )
    data = {
        "shipment_id": shipment.id,
        "order_id": order.id,
        "external_id": order.external_id,
        "code": code,
        "message": message,
        "number": shipment.number,
        "number_outcome": outcome.value,
    }
    await emit(uow, shipment.shop_id, "shipment.failed", data)
    await uow.session.flush()


async def _lock_with_order(uow: UnitOfWork, shipment_id: str) -> tuple[Shipment, Order] | None:
    """The shipment and its order, both locked, the order first (the module's lock order); None when there is
    no such shipment. A shipment never changes its order, so the unlocked read names the right one."""
    shipments = ShipmentRepository(uow.session)
    seen = await shipments.get(shipment_id)
    if seen is None:
        return None
    order = await OrderRepository(uow.session).get(seen.order_id, for_update=True)
    shipment = await shipments.get(shipment_id, for_update=True)
    assert order is not None
    assert shipment is not None
    return shipment, order


async def release_other_parcels(
    uow: UnitOfWork, shipment: Shipment, order: Order, *, printed: bool, keep_main: bool = True
) -> None:
    """A shipment that will not ship: every parcel gives its number up. Parcel 1's number went as its caller
    decided (kept, returned, voided or retired); the others go back to the pool, or are voided once a label
    with them may exist (they are never kept: shipping again takes fresh ones)."""
    repo = ParcelRepository(uow.session)
    for parcel in await repo.of_shipment(shipment.id, for_update=True):
        if parcel.status == ParcelStatus.LIVE and (parcel.number != shipment.number or not keep_main):
            uow.enqueue(
                "release_number",
                shop_id=shipment.shop_id,
                number=parcel.number,
                order_ref=allocation_ref(order.external_id, parcel.ordinal),
                void=printed or parcel.label_prints > 0,
            )
    await repo.set_status_of_shipments([shipment.id], ParcelStatus.RELEASED)
    await ShipmentRepository(uow.session).free_lines([shipment.id])


def _number_outcome(printed: bool, kept: bool, retire: MarkState | None) -> NumberOutcome:
    if retire is not None:
        return NumberOutcome.EXPIRED if retire is MarkState.EXPIRED else NumberOutcome.QUARANTINED
    if kept:
        return NumberOutcome.KEPT
    return NumberOutcome.VOIDED if printed else NumberOutcome.RETURNED


async def label_printed(uow: UnitOfWork, shipment: Shipment) -> bool:
    """Whether a label with the shipment's number may exist: its own label was fetched, or its batch's PDF
    was. The batch row is read under a share lock: a PDF download starting now waits for this transaction,
    and then leaves a failed shipment out."""
    if shipment.label_prints > 0:
        return True
    if shipment.batch_id is None:
        return False
    return await BatchRepository(uow.session).label_prints_locked(shipment.batch_id) > 0


async def back_to_pending(uow: UnitOfWork, shipment_id: str, code: str, message: str) -> None:
    """Not confirmed this time (a retry follows): the claim given up, the reason kept."""
    await ShipmentRepository(uow.session).set_fields(
        shipment_id, status=ShipmentStatus.PENDING, lease_until=None, error_code=code, error=message
    )


async def replace_number(uow: UnitOfWork, shipment_id: str, old: str, new: str, reason: str) -> None:
    """The marketplace refused ``old`` (used, invalid, expired): the shipment, its order and its batch item
    carry ``new`` from now on, and the shipment is pending again."""
    found = await _lock_with_order(uow, shipment_id)
    assert found is not None
    shipment, order = found
    now = datetime.now(UTC).isoformat()
    shipment.history = [
        *shipment.history,
        {"number": old, "event": reason, "at": now},
        {"number": new, "event": "assigned", "at": now},
    ]
    printed_old = shipment.label_prints > 0
    main = old == shipment.number
    for parcel in await ParcelRepository(uow.session).of_shipment(shipment_id, for_update=True):
        if parcel.number == old and parcel.status == ParcelStatus.LIVE:
            parcel.number, parcel.label_prints = new, 0
        if main and parcel.parent_number == old:
            parcel.parent_number = new  # a child piece names its parent's new number
    if main:
        shipment.number, shipment.number_source = new, "pool"
        shipment.label_prints = 0  # the new number's label is not printed yet
    shipment.reallocations += 1
    shipment.status, shipment.lease_until = ShipmentStatus.PENDING, None
    orders = OrderRepository(uow.session)
    if order.shipment_id == shipment.id:
        if main:
            order.number = new
        orders.add_event(states.noted(order, OrderNote.NUMBER_REPLACED, f"{old} -> {new}: {reason}"))
        if printed_old:
            flag(order, "label_outdated", f"number {old} was refused and replaced by {new}: reprint the label")
    if main:
        await BatchRepository(uow.session).set_number_for_shipment(shipment_id, new)
    # The new number bound to the destination at the courier; its routing (the old one's meanwhile: same
    # carrier, same destination) comes with the answer.
    uow.enqueue("route_parcels", shop_id=shipment.shop_id, shipment_ids=[shipment_id])
    await uow.session.flush()
