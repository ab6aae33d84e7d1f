"""Confirming one shipment on the marketplace (``taobao.logistics.offline.send``) and acting on the answer.

Used by the ``confirm_shipment`` job and, inline, by the batch worker. A claim (status ``confirming`` with a
lease) makes sure only one worker talks to the marketplace about a shipment at a time; a worker that dies
mid-call leaves a lease that lapses, and the next attempt asks again (B04 with our number is success).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal

from runtime.db import UnitOfWork
from runtime.logging import get_logger
from services.shipping import service
from services.shipping.allocation_client import AllocationError
from services.shipping.marketplace.protocol import Outcome, TopError
from services.shipping.metrics import CONFIRMATION_SECONDS, CONFIRMATIONS, confirmation_outcome
from services.shipping.repository import OrderRepository, SettingsRepository, ShipmentRepository
from services.shipping.service import CLOSED_TRADES, Clients

log = get_logger(__name__)

Tx = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass(frozen=True)
class Result:
    kind: Literal["confirmed", "failed", "retry", "busy", "gone"]
    retry_in: float = 0.0
    detail: str = ""


def backoff(settings_base: float, attempt: int, cap: float) -> float:
    return float(min(cap, settings_base * 2 ** max(0, attempt - 1)))


async def send(clients: Clients, session: str, tid: str, number: str, carrier: str) -> None:
    """One ``taobao.logistics.offline.send``, timed and counted; any answer but success raises TopError."""
    started = time.perf_counter()
    try:
        if not await clients.marketplace.offline_send(session, tid, number, carrier):
            raise TopError(15, "offline send answered is_success=false")
    except TopError as exc:
        if exc.outcome is not Outcome.ALREADY_SHIPPED:
            CONFIRMATIONS.labels(confirmation_outcome(exc.outcome)).inc()
        raise
    finally:
        CONFIRMATION_SECONDS.observe(time.perf_counter() - started)
    CONFIRMATIONS.labels("success").inc()


async def shipped_with(clients: Clients, session: str, tid: str, number: str) -> bool:
    """After B04 (already shipped): whether the trade carries ``number``, i.e. an earlier attempt of ours got
    through (a worker killed after sending, or a lost answer). Counted as the success it is."""
    trade = await clients.marketplace.fullinfo(session, tid)
    if trade.shipped_number != number:
        return False
    CONFIRMATIONS.labels("success").inc()
    return True


async def confirm(tx: Tx, clients: Clients, shipment_id: str, *, finalize: bool = True) -> Result:
    """One confirmation attempt, following number replacements until the marketplace gives a definite answer.

    ``finalize=False`` leaves a success in ``confirming`` for the caller to finish in bulk."""
    settings = clients.settings
    async with tx() as uow:
        shipment = await ShipmentRepository(uow.session).claim(shipment_id, settings.confirm_lease_s)
        if shipment is None:
            current = await ShipmentRepository(uow.session).get(shipment_id)
            if current is None or current.status in ("confirmed", "failed", "cancelled"):
                return Result("gone", detail=current.status if current else "missing")
            return Result("busy", retry_in=settings.confirm_lease_s)
        order = await OrderRepository(uow.session).get(shipment.order_id)
        shop = await SettingsRepository(uow.session).get(shipment.shop_id)
        assert order is not None
        shop_id, tid, attempts = shipment.shop_id, order.external_id, shipment.attempts
        number, carrier, reallocations = shipment.number, shipment.carrier, shipment.reallocations
        session = shop.session if shop else None
    if not session:
        async with tx() as uow:
            await service.finish_failed(uow, shipment_id, "no_session", "the shop has no marketplace session")
        return Result("failed", detail="no_session")
    while True:
        try:
            await send(clients, session, tid, number, carrier)
        except TopError as exc:
            outcome = exc.outcome
            log.info("offline_send_refused", shipment_id=shipment_id, code=exc.short_code, outcome=outcome.value)
            if outcome is Outcome.ALREADY_SHIPPED:
                return await _already_shipped(tx, clients, shipment_id, session, tid, number, exc, finalize)
            if outcome in (Outcome.NUMBER_REJECTED, Outcome.NUMBER_EXPIRED):
                if reallocations >= settings.max_reallocations:
                    return await _fail(
                        tx, shipment_id, exc.short_code, f"{exc.message} (numbers replaced {reallocations} times)"
                    )
                replaced = await _replace(tx, clients, shipment_id, shop_id, tid, number, exc)
                if isinstance(replaced, Result):
                    return replaced
                number, reallocations = replaced, reallocations + 1
                async with tx() as uow:
                    again = await ShipmentRepository(uow.session).claim(shipment_id, settings.confirm_lease_s)
                if again is None:
                    return Result("busy", retry_in=settings.confirm_lease_s)
                continue
            if outcome is Outcome.TRANSIENT:
                if attempts >= settings.confirm_max_tries:
                    return await _fail(
                        tx, shipment_id, exc.short_code, f"gave up after {attempts} tries: {exc.message}"
                    )
                async with tx() as uow:
                    await service.back_to_pending(uow, shipment_id, exc.short_code, exc.message)
                delay = backoff(settings.confirm_retry_base_s, attempts, settings.confirm_retry_max_s)
                return Result("retry", retry_in=delay, detail=exc.short_code)
            return await _fail(tx, shipment_id, exc.short_code, exc.message)
        return await _confirmed(tx, clients, shipment_id, shop_id, number, tid, finalize)


async def _confirmed(
    tx: Tx, clients: Clients, shipment_id: str, shop_id: str, number: str, tid: str, finalize: bool
) -> Result:
    try:
        await clients.allocation.mark(shop_id, number, "shipped", tid)
    except AllocationError as exc:
        # The marketplace has it: the shipment is confirmed whatever allocation says; the mark is retried.
        log.warning("mark_shipped_failed", number=number, error=str(exc))
        async with tx() as uow:
            uow.enqueue("mark_number", shop_id=shop_id, number=number, status="shipped", order_ref=tid)
    if finalize:
        async with tx() as uow:
            await service.finish_confirmed(uow, [shipment_id])
    return Result("confirmed")


async def _already_shipped(
    tx: Tx, clients: Clients, shipment_id: str, session: str, tid: str, number: str, exc: TopError, finalize: bool
) -> Result:
    try:
        trade = await clients.marketplace.fullinfo(session, tid)
    except TopError as fetch_error:
        if fetch_error.outcome is Outcome.TRANSIENT:
            CONFIRMATIONS.labels("retry").inc()
            async with tx() as uow:
                await service.back_to_pending(uow, shipment_id, "B04", "checking the trade after B04")
            return Result("retry", retry_in=clients.settings.confirm_retry_base_s, detail="B04-check")
        CONFIRMATIONS.labels("failed").inc()
        return await _fail(tx, shipment_id, "B04", f"{exc.message}; trade lookup failed: {fetch_error.message}")
    if trade.shipped_number == number:
        CONFIRMATIONS.labels("success").inc()
        async with tx() as uow:
            shipment = await ShipmentRepository(uow.session).get(shipment_id)
            shop_id = shipment.shop_id if shipment else ""
        return await _confirmed(tx, clients, shipment_id, shop_id, number, tid, finalize)
    CONFIRMATIONS.labels("failed").inc()
    other = f" with {trade.shipped_company} {trade.shipped_number}" if trade.shipped_number else ""
    return await _fail(
        tx,
        shipment_id,
        "B04",
        f"{exc.message} (trade is {trade.status}{other})",
        trade_closed=trade.status in CLOSED_TRADES,
    )


async def _fail(tx: Tx, shipment_id: str, code: str, message: str, *, trade_closed: bool = False) -> Result:
    async with tx() as uow:
        await service.finish_failed(uow, shipment_id, code, message, trade_closed=trade_closed)
    return Result("failed", detail=f"{code}: {message}")


async def _replace(
    tx: Tx, clients: Clients, shipment_id: str, shop_id: str, tid: str, number: str, exc: TopError
) -> str | Result:
    """Put the refused number out of use (quarantined or expired) and take another for the same order."""
    expired = exc.outcome is Outcome.NUMBER_EXPIRED
    status = "expired" if expired else "quarantined"
    try:
        await clients.allocation.mark(
            shop_id, number, status, tid, reason=f"marketplace {exc.short_code}: {exc.message}"
        )
        allocation = await clients.allocation.allocate(shop_id, (await _carrier(tx, shipment_id)), tid)
        await clients.allocation.mark(shop_id, allocation.number, "printed", tid)
    except AllocationError as alloc_error:
        if alloc_error.transient:
            async with tx() as uow:
                await service.back_to_pending(uow, shipment_id, exc.short_code, exc.message)
            return Result("retry", retry_in=clients.settings.confirm_retry_base_s, detail="allocation unavailable")
        return await _fail(
            tx, shipment_id, alloc_error.code, f"{exc.message}; no replacement number: {alloc_error.message}"
        )
    async with tx() as uow:
        await service.replace_number(uow, shipment_id, number, allocation.number, f"{status} ({exc.short_code})")
    return allocation.number


async def _carrier(tx: Tx, shipment_id: str) -> str:
    async with tx() as uow:
        shipment = await ShipmentRepository(uow.session).get(shipment_id)
        assert shipment is not None
        return shipment.carrier
