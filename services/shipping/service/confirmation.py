"""Confirming one shipment on the channel its order came from, and acting on the answer.

The shop's own orders are confirmed by telling the shop's systems (the ``shipment.confirmed`` webhook):
no marketplace is asked. A marketplace order is confirmed on its store's channel (Taobao's
``taobao.logistics.offline.send``, Pinduoduo's ``pdd.logistics.online.send``), whose refusal is classified
by the channel (``channels.base.Refusal``). Used by the ``confirm_shipment`` job and, for its sends, by the
batch worker. A claim (status ``confirming`` with a lease) makes sure only one worker talks to the channel
about a shipment at a time; a worker that dies mid-call leaves a lease that lapses, and the next attempt asks
again (already shipped with our number is success). Each step runs in its own short transaction: none is
held across a call to the channel or allocation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from runtime.backoff import Backoff
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from services.shipping.channels.base import Channel, ChannelError, ChannelOrder, OrderState, Refusal, StoreAccess
from services.shipping.channels.registry import Channels
from services.shipping.metrics import CONFIRMATION_SECONDS, CONFIRMATIONS, confirmation_outcome
from services.shipping.models import ShipmentStatus
from services.shipping.parcels import allocation_ref, line_count
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.resources import ShippingResources
from services.shipping.service.numbers import mark_many
from services.shipping.service.shipment_outcomes import (
    CONFIRMED_NOTE,
    OWN_CONFIRMED_NOTE,
    back_to_pending,
    finish_confirmed,
    finish_failed,
    replace_number,
)
from services.shipping.service.stores import access
from shared.allocation import MarkItem, MarkState

log = get_logger(__name__)

# Nothing to confirm: settled, or held until collection (its release queues the confirmation again).
FINISHED = (
    ShipmentStatus.CONFIRMED,
    ShipmentStatus.FAILED,
    ShipmentStatus.CANCELLED,
    ShipmentStatus.VOIDED,
    ShipmentStatus.HELD,
)


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"
    FAILED = "failed"
    RETRY = "retry"  # the marketplace or allocation could not answer now: ask again after ``retry_in``
    BUSY = "busy"  # another worker holds the claim: look again once its lease may have lapsed
    GONE = "gone"  # nothing left to confirm (finished meanwhile, or no such shipment)


@dataclass(frozen=True)
class Result:
    outcome: ConfirmOutcome
    retry_in: float = 0.0
    detail: str = ""

    @property
    def again(self) -> bool:
        """The job should run again after ``retry_in``."""
        return self.outcome in (ConfirmOutcome.RETRY, ConfirmOutcome.BUSY)

    def summary(self) -> str:
        return self.outcome.value if not self.detail else f"{self.outcome.value}: {self.detail}"


@dataclass(frozen=True)
class _Attempt:
    """What one confirmation works with, read under its claim."""

    shipment_id: str
    shop_id: str
    tid: str  # the order's id on its channel; also its reference in allocation
    channel: str
    store: StoreAccess | None  # None: an own-channel order, or a store that cannot act (unbound, no token)
    number: str  # the main number (parcel 1's)
    carrier: str
    attempts: int
    reallocations: int
    # Every live parcel's number with its allocation reference, parcel 1 first.
    parcels: tuple[tuple[str, str], ...] = ()
    # A part of a split order: the channel's ids of the lines it carries (None: the whole order), and whether
    # it is the order's first part to be confirmed.
    lines: tuple[str, ...] | None = None
    first: bool = True
    store_id: str | None = None  # the order's store (None: an own-channel order), told to allocation with the marks

    @property
    def numbers(self) -> list[str]:
        return [n for n, _ in self.parcels] or [self.number]

    def ref_of(self, number: str) -> str:
        return next((ref for n, ref in self.parcels if n == number), self.tid)


def retry_backoff(res: ShippingResources) -> Backoff:
    # Nominal (no jitter): the settings document the first delay and its doubling.
    return Backoff(res.settings.confirm_retry_base_s, res.settings.confirm_retry_max_s)


async def send(
    channel: Channel,
    store: StoreAccess,
    tid: str,
    numbers: Sequence[str],
    carrier: str,
    *,
    lines: Sequence[str] | None = None,
    first: bool = True,
) -> None:
    """One confirmation call (every parcel's number, the main one first; a split order's part with its lines),
    timed and counted; any answer but success raises ChannelError."""
    started = time.perf_counter()
    try:
        await channel.confirm(store, tid, numbers, carrier, lines=lines, first=first)
    except ChannelError as exc:
        if exc.refusal is not Refusal.ALREADY_SHIPPED:
            CONFIRMATIONS.labels(channel.name.value, confirmation_outcome(exc.refusal)).inc()
        raise
    finally:
        CONFIRMATION_SECONDS.labels(channel.name.value).observe(time.perf_counter() - started)
    CONFIRMATIONS.labels(channel.name.value, "success").inc()


async def shipped_with(channel: Channel, store: StoreAccess, tid: str, number: str) -> bool:
    """After "already shipped": whether the order carries ``number``, i.e. an earlier attempt of ours got
    through (a worker killed after sending, or a lost answer). Counted as the success it is."""
    found = await channel.fetch_order(store, tid)
    if found is None or not _carries(found, number):
        return False
    CONFIRMATIONS.labels(channel.name.value, "success").inc()
    return True


def _carries(found: ChannelOrder, number: str) -> bool:
    """Whether the channel's order holds ``number`` (as its main number, or among its packages)."""
    return found.shipped_number == number or number in getattr(found, "shipped_numbers", ())


async def confirm(res: ShippingResources, shipment_id: str) -> Result:
    """One confirmation attempt, following number replacements until the channel gives a definite answer."""
    attempt = await _claim(res, shipment_id)
    if isinstance(attempt, Result):
        return attempt
    if Channels.is_own(attempt.channel):
        # The shop's own order: confirmed by telling the shop's systems (finish_confirmed's webhook).
        CONFIRMATIONS.labels("own", "success").inc()
        return await _confirmed(res, attempt, OWN_CONFIRMED_NOTE)
    if attempt.store is None:
        message = "the order's store is unbound or holds no authorisation: bind it again (POST /v1/stores)"
        return await _fail(res, shipment_id, "store_unbound", message)
    channel = res.channels.marketplace(attempt.channel)
    while True:
        try:
            await send(
                channel,
                attempt.store,
                attempt.tid,
                attempt.numbers,
                attempt.carrier,
                lines=attempt.lines,
                first=attempt.first,
            )
        except ChannelError as exc:
            log.info("confirmation_refused", shipment_id=shipment_id, code=exc.code, refusal=exc.refusal.value)
            answer = await _refused(res, channel, attempt, attempt.store, exc)
            if isinstance(answer, Result):
                return answer
            attempt = answer  # a replacement number, claimed again: send that one
            continue
        return await _confirmed(res, attempt)


async def _claim(res: ShippingResources, shipment_id: str) -> _Attempt | Result:
    lease_s = res.settings.confirm_lease_s
    async with res.transaction() as uow:
        shipments = ShipmentRepository(uow.session)
        shipment = await shipments.claim(shipment_id, lease_s)
        if shipment is None:
            current = await shipments.get(shipment_id)
            if current is None or current.status in FINISHED:
                return Result(ConfirmOutcome.GONE, detail=current.status if current else "missing")
            return Result(ConfirmOutcome.BUSY, retry_in=lease_s)
        order = await OrderRepository(uow.session).get(shipment.order_id)
        assert order is not None
        store = await StoreRepository(uow.session).get(order.store_id) if order.store_id else None
        boxes = await ParcelRepository(uow.session).live_of_shipment(shipment_id)
        carried = await shipments.lines_of(shipment_id)
        # No lines recorded: a shipment of the whole order (as every one was before split orders).
        whole = not carried or set(carried) >= set(range(1, line_count(order.items) + 1))
        first = not await shipments.others_confirmed(order.id, shipment_id)
        lines: tuple[str, ...] | None = None
        if not whole and not Channels.is_own(order.channel):
            ids = res.channels.marketplace(order.channel).line_ids(order.items)
            lines = tuple(ids[line - 1] for line in carried if line <= len(ids))
        return _Attempt(
            shipment_id=shipment_id,
            shop_id=shipment.shop_id,
            tid=order.external_id,
            channel=order.channel,
            store=access(store),
            number=shipment.number,
            carrier=shipment.carrier,
            attempts=shipment.attempts,
            reallocations=shipment.reallocations,
            parcels=tuple((p.number, allocation_ref(order.external_id, p.ordinal)) for p in boxes),
            lines=lines,
            first=first,
            store_id=order.store_id,
        )


async def _refused(
    res: ShippingResources, channel: Channel, attempt: _Attempt, store: StoreAccess, exc: ChannelError
) -> Result | _Attempt:
    """What a refusal means: settled (a Result), or a replacement number to send (the attempt to go on with)."""
    settings = res.settings
    sid = attempt.shipment_id
    if exc.refusal is Refusal.ALREADY_SHIPPED:
        return await _already_shipped(res, channel, attempt, store, exc)
    if exc.refusal.number_related:
        if attempt.reallocations >= settings.max_reallocations:
            message = f"{exc.message} (numbers replaced {attempt.reallocations} times)"
            return await _fail(res, sid, exc.code, message, retire=_retired(exc))
        return await _replace(res, attempt, exc)
    if exc.refusal is Refusal.RETRY:
        if attempt.attempts >= settings.confirm_max_tries:
            return await _fail(res, sid, exc.code, f"gave up after {attempt.attempts} tries: {exc.message}")
        async with res.transaction() as uow:
            await back_to_pending(uow, sid, exc.code, exc.message)
        delay = retry_backoff(res).nominal(attempt.attempts)
        return Result(ConfirmOutcome.RETRY, retry_in=delay, detail=exc.code)
    return await _fail(res, sid, exc.code, exc.message)


async def _confirmed(res: ShippingResources, attempt: _Attempt, note: str = CONFIRMED_NOTE) -> Result:
    store_id, channel = attempt.store_id, attempt.channel  # where the numbers were used: spend reports
    try:
        if len(attempt.numbers) == 1:
            ref = attempt.ref_of(attempt.number)
            await res.allocation.mark(
                attempt.shop_id, attempt.number, MarkState.SHIPPED, ref, store_id=store_id, channel=channel
            )
        else:
            items = [MarkItem(number=n, order_id=ref, store_id=store_id, channel=channel) for n, ref in attempt.parcels]
            await mark_many(res.allocation, attempt.shop_id, MarkState.SHIPPED, items)
    except ServiceError as exc:
        # The channel has it: the shipment is confirmed whatever allocation says; the marks are retried.
        log.warning("mark_shipped_failed", number=attempt.number, error=str(exc))
        async with res.transaction() as uow:
            for number in attempt.numbers:
                uow.enqueue(
                    "mark_number",
                    shop_id=attempt.shop_id,
                    number=number,
                    status=MarkState.SHIPPED.value,
                    order_ref=attempt.ref_of(number),
                    store_id=store_id,
                    channel=channel,
                )
    async with res.transaction() as uow:
        await finish_confirmed(uow, [attempt.shipment_id], note)
    return Result(ConfirmOutcome.CONFIRMED)


async def _already_shipped(
    res: ShippingResources, channel: Channel, attempt: _Attempt, store: StoreAccess, exc: ChannelError
) -> Result:
    sid = attempt.shipment_id
    try:
        found = await channel.fetch_order(store, attempt.tid)
    except ChannelError as fetch_error:
        if fetch_error.refusal is Refusal.RETRY:
            CONFIRMATIONS.labels(channel.name.value, "retry").inc()
            async with res.transaction() as uow:
                await back_to_pending(uow, sid, exc.code, "checking the order after already shipped")
            return Result(ConfirmOutcome.RETRY, retry_in=res.settings.confirm_retry_base_s, detail=f"{exc.code}-check")
        CONFIRMATIONS.labels(channel.name.value, "failed").inc()
        return await _fail(res, sid, exc.code, f"{exc.message}; order lookup failed: {fetch_error.message}")
    if found is not None and _carries(found, attempt.number):
        CONFIRMATIONS.labels(channel.name.value, "success").inc()
        return await _confirmed(res, attempt)
    CONFIRMATIONS.labels(channel.name.value, "failed").inc()
    if found is None:
        return await _fail(res, sid, exc.code, f"{exc.message} (the order no longer exists)")
    other = f" with {found.shipped_carrier} {found.shipped_number}" if found.shipped_number else ""
    message = f"{exc.message} (order is {found.status}{other})"
    return await _fail(res, sid, exc.code, message, trade_closed=found.state is OrderState.CLOSED)


async def _fail(
    res: ShippingResources,
    shipment_id: str,
    code: str,
    message: str,
    *,
    trade_closed: bool = False,
    retire: MarkState | None = None,
) -> Result:
    async with res.transaction() as uow:
        await finish_failed(uow, shipment_id, code, message, trade_closed=trade_closed, retire=retire)
    return Result(ConfirmOutcome.FAILED, detail=f"{code}: {message}")


def _retired(exc: ChannelError) -> MarkState:
    """How a number the channel refused is put out of use."""
    return MarkState.EXPIRED if exc.refusal is Refusal.NUMBER_EXPIRED else MarkState.QUARANTINED


async def _replace(res: ShippingResources, attempt: _Attempt, exc: ChannelError) -> Result | _Attempt:
    """Put the refused number out of use (quarantined or expired), take another for the same order, and claim
    the shipment again to send it."""
    allocation, sid = res.allocation, attempt.shipment_id
    state = _retired(exc)
    # The refused number, when the channel names it (a multi-parcel send); else the main one.
    named = getattr(exc, "number", None)
    old = named if named in attempt.numbers else attempt.number
    ref = attempt.ref_of(old)
    try:
        reason = f"{attempt.channel} {exc.code}: {exc.message}"
        await allocation.mark(attempt.shop_id, old, state, ref, reason=reason)
        got = await allocation.allocate(attempt.shop_id, attempt.carrier, ref)
    except ServiceError as alloc_error:
        if alloc_error.transient:
            async with res.transaction() as uow:
                await back_to_pending(uow, sid, exc.code, exc.message)
            detail = "allocation unavailable"
            return Result(ConfirmOutcome.RETRY, retry_in=res.settings.confirm_retry_base_s, detail=detail)
        message = f"{exc.message}; no replacement number: {alloc_error.message}"
        return await _fail(res, sid, alloc_error.code, message, retire=state)
    async with res.transaction() as uow:
        await replace_number(uow, sid, old, got.number, f"{state.value} ({exc.code})")
    async with res.transaction() as uow:
        again = await ShipmentRepository(uow.session).claim(sid, res.settings.confirm_lease_s)
    if again is None:
        return Result(ConfirmOutcome.BUSY, retry_in=res.settings.confirm_lease_s)
    boxes = tuple((got.number if n == old else n, r) for n, r in attempt.parcels)
    main = got.number if old == attempt.number else attempt.number
    return replace(attempt, number=main, parcels=boxes, reallocations=attempt.reallocations + 1)
