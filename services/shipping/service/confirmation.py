"""Confirming one shipment on the marketplace (``taobao.logistics.offline.send``) and acting on the answer.

Used by the ``confirm_shipment`` job and, for its sends, by the batch worker. A claim (status ``confirming``
with a lease) makes sure only one worker talks to the marketplace about a shipment at a time; a worker that
dies mid-call leaves a lease that lapses, and the next attempt asks again (B04 with our number is success).
Each step runs in its own short transaction: none is held across a call to the marketplace or allocation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from enum import StrEnum

from runtime.backoff import Backoff
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.client import MarketplaceClient
from services.shipping.channels.taobao.protocol import Outcome, TopError
from services.shipping.metrics import CONFIRMATION_SECONDS, CONFIRMATIONS, confirmation_outcome
from services.shipping.models import ShipmentStatus
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.resources import ShippingResources
from services.shipping.service.shipment_outcomes import back_to_pending, finish_confirmed, finish_failed, replace_number
from shared.allocation import MarkState

log = get_logger(__name__)

FINISHED = (ShipmentStatus.CONFIRMED, ShipmentStatus.FAILED, ShipmentStatus.CANCELLED)


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
    tid: str
    number: str
    carrier: str
    attempts: int
    reallocations: int
    session: str | None


def retry_backoff(res: ShippingResources) -> Backoff:
    # Nominal (no jitter): the settings document the first delay and its doubling.
    return Backoff(res.settings.confirm_retry_base_s, res.settings.confirm_retry_max_s)


async def send(marketplace: MarketplaceClient, session: str, tid: str, number: str, carrier: str) -> None:
    """One ``taobao.logistics.offline.send``, timed and counted; any answer but success raises TopError."""
    started = time.perf_counter()
    try:
        if not await marketplace.offline_send(session, tid, number, carrier):
            raise TopError(15, "offline send answered is_success=false")
    except TopError as exc:
        if exc.outcome is not Outcome.ALREADY_SHIPPED:
            CONFIRMATIONS.labels(confirmation_outcome(exc.outcome)).inc()
        raise
    finally:
        CONFIRMATION_SECONDS.observe(time.perf_counter() - started)
    CONFIRMATIONS.labels("success").inc()


async def shipped_with(marketplace: MarketplaceClient, session: str, tid: str, number: str) -> bool:
    """After B04 (already shipped): whether the trade carries ``number``, i.e. an earlier attempt of ours got
    through (a worker killed after sending, or a lost answer). Counted as the success it is."""
    trade = await marketplace.fullinfo(session, tid)
    if trade.shipped_number != number:
        return False
    CONFIRMATIONS.labels("success").inc()
    return True


async def confirm(res: ShippingResources, shipment_id: str) -> Result:
    """One confirmation attempt, following number replacements until the marketplace gives a definite answer."""
    attempt = await _claim(res, shipment_id)
    if isinstance(attempt, Result):
        return attempt
    if not attempt.session:
        async with res.transaction() as uow:
            await finish_failed(uow, shipment_id, "no_session", "the shop has no marketplace session")
        return Result(ConfirmOutcome.FAILED, detail="no_session")
    while True:
        try:
            await send(res.marketplace, attempt.session, attempt.tid, attempt.number, attempt.carrier)
        except TopError as exc:
            log.info("offline_send_refused", shipment_id=shipment_id, code=exc.short_code, outcome=exc.outcome.value)
            answer = await _refused(res, attempt, attempt.session, exc)
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
        shop = await SettingsRepository(uow.session).get(shipment.shop_id)
        assert order is not None
        return _Attempt(
            shipment_id=shipment_id,
            shop_id=shipment.shop_id,
            tid=order.external_id,
            number=shipment.number,
            carrier=shipment.carrier,
            attempts=shipment.attempts,
            reallocations=shipment.reallocations,
            session=shop.session if shop else None,
        )


async def _refused(res: ShippingResources, attempt: _Attempt, session: str, exc: TopError) -> Result | _Attempt:
    """What a refusal means: settled (a Result), or a replacement number to send (the attempt to go on with)."""
    settings = res.settings
    sid = attempt.shipment_id
    if exc.outcome is Outcome.ALREADY_SHIPPED:
        return await _already_shipped(res, attempt, session, exc)
    if exc.outcome in (Outcome.NUMBER_REJECTED, Outcome.NUMBER_EXPIRED):
        if attempt.reallocations >= settings.max_reallocations:
            message = f"{exc.message} (numbers replaced {attempt.reallocations} times)"
            return await _fail(res, sid, exc.short_code, message)
        return await _replace(res, attempt, exc)
    if exc.outcome is Outcome.TRANSIENT:
        if attempt.attempts >= settings.confirm_max_tries:
            return await _fail(res, sid, exc.short_code, f"gave up after {attempt.attempts} tries: {exc.message}")
        async with res.transaction() as uow:
            await back_to_pending(uow, sid, exc.short_code, exc.message)
        delay = retry_backoff(res).nominal(attempt.attempts)
        return Result(ConfirmOutcome.RETRY, retry_in=delay, detail=exc.short_code)
    return await _fail(res, sid, exc.short_code, exc.message)


async def _confirmed(res: ShippingResources, attempt: _Attempt) -> Result:
    try:
        await res.allocation.mark(attempt.shop_id, attempt.number, MarkState.SHIPPED, attempt.tid)
    except ServiceError as exc:
        # The marketplace has it: the shipment is confirmed whatever allocation says; the mark is retried.
        log.warning("mark_shipped_failed", number=attempt.number, error=str(exc))
        async with res.transaction() as uow:
            uow.enqueue(
                "mark_number",
                shop_id=attempt.shop_id,
                number=attempt.number,
                status=MarkState.SHIPPED.value,
                order_ref=attempt.tid,
            )
    async with res.transaction() as uow:
        await finish_confirmed(uow, [attempt.shipment_id])
    return Result(ConfirmOutcome.CONFIRMED)


async def _already_shipped(res: ShippingResources, attempt: _Attempt, session: str, exc: TopError) -> Result:
    sid = attempt.shipment_id
    try:
        trade = await res.marketplace.fullinfo(session, attempt.tid)
    except TopError as fetch_error:
        if fetch_error.outcome is Outcome.TRANSIENT:
            CONFIRMATIONS.labels("retry").inc()
            async with res.transaction() as uow:
                await back_to_pending(uow, sid, "B04", "checking the trade after B04")
            return Result(ConfirmOutcome.RETRY, retry_in=res.settings.confirm_retry_base_s, detail="B04-check")
        CONFIRMATIONS.labels("failed").inc()
        return await _fail(res, sid, "B04", f"{exc.message}; trade lookup failed: {fetch_error.message}")
    if trade.shipped_number == attempt.number:
        CONFIRMATIONS.labels("success").inc()
        return await _confirmed(res, attempt)
    CONFIRMATIONS.labels("failed").inc()
    other = f" with {trade.shipped_company} {trade.shipped_number}" if trade.shipped_number else ""
    message = f"{exc.message} (trade is {trade.status}{other})"
    return await _fail(res, sid, "B04", message, trade_closed=trade.status in protocol.CLOSED_STATUSES)


async def _fail(
    res: ShippingResources, shipment_id: str, code: str, message: str, *, trade_closed: bool = False
) -> Result:
    async with res.transaction() as uow:
        await finish_failed(uow, shipment_id, code, message, trade_closed=trade_closed)
    return Result(ConfirmOutcome.FAILED, detail=f"{code}: {message}")


async def _replace(res: ShippingResources, attempt: _Attempt, exc: TopError) -> Result | _Attempt:
    """Put the refused number out of use (quarantined or expired), take another for the same order, and claim
    the shipment again to send it."""
    allocation, sid = res.allocation, attempt.shipment_id
    state = MarkState.EXPIRED if exc.outcome is Outcome.NUMBER_EXPIRED else MarkState.QUARANTINED
    try:
        reason = f"marketplace {exc.short_code}: {exc.message}"
        await allocation.mark(attempt.shop_id, attempt.number, state, attempt.tid, reason=reason)
        got = await allocation.allocate(attempt.shop_id, attempt.carrier, attempt.tid)
        await allocation.mark(attempt.shop_id, got.number, MarkState.PRINTED, attempt.tid)
    except ServiceError as alloc_error:
        if alloc_error.transient:
            async with res.transaction() as uow:
                await back_to_pending(uow, sid, exc.short_code, exc.message)
            detail = "allocation unavailable"
            return Result(ConfirmOutcome.RETRY, retry_in=res.settings.confirm_retry_base_s, detail=detail)
        message = f"{exc.message}; no replacement number: {alloc_error.message}"
        return await _fail(res, sid, alloc_error.code, message)
    async with res.transaction() as uow:
        await replace_number(uow, sid, attempt.number, got.number, f"{state.value} ({exc.short_code})")
    async with res.transaction() as uow:
        again = await ShipmentRepository(uow.session).claim(sid, res.settings.confirm_lease_s)
    if again is None:
        return Result(ConfirmOutcome.BUSY, retry_in=res.settings.confirm_lease_s)
    return replace(attempt, number=got.number, reallocations=attempt.reallocations + 1)
