"""Numbers about to expire, run by the worker: the ``expiring`` notice a shop's expiring_notice_days before a
purchase's unused numbers expire, and its on_expiry action shortly before they do (extend them for the fee, or
refund them). Each is a stock event, once per purchase and expiry date, relayed to the shop's webhooks; every
money move has its ledger row with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError
from runtime.logging import get_logger
from services.allocation.models import (
    LedgerKind,
    OnExpiry,
    Purchase,
    PurchaseStatus,
    Shop,
    StockEvent,
    StockEventKind,
)
from services.allocation.repository.expiry import DueNotice, ExpiryRepository
from services.allocation.repository.ledger import LedgerRepository
from services.allocation.repository.pools import PoolRepository
from services.allocation.repository.purchases import PurchaseRepository
from services.allocation.repository.shops import ShopRepository
from services.allocation.repository.waybills import WaybillRepository
from services.allocation.service.jobs import Job
from services.allocation.service.purchases import extend_numbers
from services.allocation.service.refunds import refund_unused
from shared.errors import ErrorCode
from shared.purchase_events import PurchaseEventType, RelayedEvent, relayed_event_id

log = get_logger(__name__)

# How the ledger says why (the particulars follow: the days and numbers, the numbers refunded).
AUTO_EXTEND_WHY = "automatic extension before expiry (on_expiry extend)"
AUTO_REFUND_WHY = "automatic refund before expiry (on_expiry refund)"
# The shop's action on a purchase's expiry date, done: never again for that date.
ACTED = (StockEventKind.AUTO_EXTENDED, StockEventKind.AUTO_REFUNDED)
WEBHOOK_TYPES = {
    StockEventKind.EXPIRING: PurchaseEventType.EXPIRING,
    StockEventKind.AUTO_EXTENDED: PurchaseEventType.AUTO_EXTENDED,
    StockEventKind.AUTO_EXTEND_FAILED: PurchaseEventType.AUTO_EXTEND_FAILED,
    StockEventKind.AUTO_REFUNDED: PurchaseEventType.AUTO_REFUNDED,
}


@dataclass(frozen=True)
class _Ticket:
    """The purchase's fields an event needs, read before a savepoint whose rollback would expire them."""

    id: str
    shop_id: str
    carrier: str
    package_id: str
    pool_id: int
    expires_at: datetime


async def _record(
    uow: UnitOfWork, ticket: _Ticket, kind: StockEventKind, numbers: int, details: dict[str, Any]
) -> bool:
    """The expiry event, once per purchase, kind and expiry date, and its relay to the shop's webhooks (sent
    after the commit). False when it was recorded already."""
    pools = PoolRepository(uow.session)
    pool = await pools.by_id(ticket.pool_id)
    event = StockEvent(
        shop_id=ticket.shop_id,
        carrier=ticket.carrier,
        kind=kind,
        available=await pools.available(ticket.pool_id),
        threshold=pool.low_stock_threshold if pool else 0,
        purchase_id=ticket.id,
        expires_at=ticket.expires_at,
        numbers=numbers,
        details={"package_id": ticket.package_id, **details},
    )
    event_id = await ExpiryRepository(uow.session).add_once(event)
    if event_id is None:
        return False
    uow.enqueue(Job.RELAY_EVENT, event_id=event_id)
    return True


def _notice_details(due: DueNotice, lead: timedelta) -> dict[str, Any]:
    details: dict[str, Any] = {"notice_days": due.notice_days, "on_expiry": due.on_expiry}
    if due.on_expiry != OnExpiry.NOTHING:
        details["action_at"] = (due.expires_at - lead).isoformat()
    if due.on_expiry == OnExpiry.EXTEND:
        details["auto_extend_days"] = due.auto_extend_days
    return details


async def notify_expiring(uow: UnitOfWork, lead: timedelta, limit: int) -> int:
    """Record the ``expiring`` event of each purchase due one (and queue its webhook). Returns how many."""
    told = 0
    for due in await ExpiryRepository(uow.session).due_notices(limit):
        ticket = _Ticket(due.purchase_id, due.shop_id, due.carrier, due.package_id, due.pool_id, due.expires_at)
        told += await _record(uow, ticket, StockEventKind.EXPIRING, due.unused, _notice_details(due, lead))
    return told


async def due_actions(uow: UnitOfWork, lead: timedelta, limit: int) -> list[str]:
    return await ExpiryRepository(uow.session).due_actions(lead, limit)


async def act_on_expiry(uow: UnitOfWork, purchase_id: str, lead: timedelta) -> StockEventKind | None:
    """The shop's on_expiry for one purchase whose numbers expire within ``lead``, under the purchase's row
    lock: extended or refunded once for its expiry date (a repeat, or a racing run, finds it done). None when
    there was nothing to do."""
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=True)
    if purchase is None or purchase.status != PurchaseStatus.COMPLETED or purchase.expires_at is None:
        return None
    now = datetime.now(UTC)
    if not now < purchase.expires_at <= now + lead:
        return None
    if await ExpiryRepository(uow.session).recorded(purchase.id, ACTED, purchase.expires_at):
        return None
    shop = await ShopRepository(uow.session).get_shop(purchase.shop_id)
    if shop is None:
        return None
    ticket = _Ticket(
        purchase.id, purchase.shop_id, purchase.carrier, purchase.package_id, purchase.pool_id, purchase.expires_at
    )
    if shop.on_expiry == OnExpiry.EXTEND:
        return await _extend(uow, purchase, ticket, shop)
    if shop.on_expiry == OnExpiry.REFUND:
        return await _refund(uow, purchase, ticket)
    return None


async def _extend(uow: UnitOfWork, purchase: Purchase, ticket: _Ticket, shop: Shop) -> StockEventKind | None:
    """Extend by the shop's auto_extend_days for the fee. A balance too low is recorded (one event and webhook
    per expiry date) and left to the next run, never raised: the shop may top up before the numbers expire."""
    days = shop.auto_extend_days
    try:
        # A savepoint: the extension of the numbers is undone when the fee cannot be paid.
        async with uow.session.begin_nested():
            done = await extend_numbers(uow, purchase, days, LedgerKind.AUTO_EXTENSION, AUTO_EXTEND_WHY)
    except AppError as exc:
        if exc.code == ErrorCode.NO_USABLE_NUMBERS:
            return None  # allocated and printed meanwhile: nothing left to extend
        if exc.code != ErrorCode.INSUFFICIENT_BALANCE:
            raise
        balance = await LedgerRepository(uow.session).balance(ticket.shop_id) or 0
        details = {"days": days, "fee_cents": exc.details.get("fee_cents"), "balance_cents": balance}
        unused = await _unused(uow, ticket.id)
        if await _record(uow, ticket, StockEventKind.AUTO_EXTEND_FAILED, unused, details):
            log.warning("auto_extend_failed", purchase_id=ticket.id, shop_id=ticket.shop_id, **details)
        return StockEventKind.AUTO_EXTEND_FAILED
    assert purchase.expires_at is not None
    details = {
        "days": days,
        "fee_cents": done.fee_cents,
        "new_expires_at": purchase.expires_at.isoformat(),
        "balance_cents": await LedgerRepository(uow.session).balance(ticket.shop_id) or 0,
    }
    await _record(uow, ticket, StockEventKind.AUTO_EXTENDED, done.numbers, details)
    return StockEventKind.AUTO_EXTENDED


async def _refund(uow: UnitOfWork, purchase: Purchase, ticket: _Ticket) -> StockEventKind:
    done = await refund_unused(uow, purchase, None, LedgerKind.AUTO_REFUND, AUTO_REFUND_WHY)
    await uow.session.flush()
    details = {
        "refunded_cents": done.cents,
        "balance_cents": await LedgerRepository(uow.session).balance(ticket.shop_id) or 0,
    }
    await _record(uow, ticket, StockEventKind.AUTO_REFUNDED, done.quantity, details)
    return StockEventKind.AUTO_REFUNDED


async def _unused(uow: UnitOfWork, purchase_id: str) -> int:
    return await WaybillRepository(uow.session).unused_count(purchase_id)


async def relayed_event(uow: UnitOfWork, event_id: int) -> RelayedEvent | None:
    """The webhook event of an expiry stock event (its id derived from the stock event's: the same for every
    relay of it); None for an event of another kind, or none."""
    event = await ExpiryRepository(uow.session).event(event_id)
    if event is None or event.kind not in WEBHOOK_TYPES:
        return None
    data: dict[str, Any] = {
        "stock_event_id": event.id,
        "purchase_id": event.purchase_id,
        "carrier": event.carrier,
        "expires_at": event.expires_at.isoformat() if event.expires_at else None,
        "numbers": event.numbers,
        **(event.details or {}),
    }
    return RelayedEvent(
        id=relayed_event_id(event.id),
        type=WEBHOOK_TYPES[StockEventKind(event.kind)],
        occurred_at=event.created_at,
        shop_id=event.shop_id,
        data=data,
    )
