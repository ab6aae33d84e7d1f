"""Voids before collection (回收单号): a release that voids a number opens one, the worker asks the courier to
cancel the number, and the courier's answer settles it: credited then, exactly once, per the purchase's
void-credit policy, or not at all when the courier had collected the parcel. The rules are
``services.allocation.voids``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func

from runtime.db import UnitOfWork
from services.allocation.metrics import VOIDS
from services.allocation.models import LedgerKind, Waybill, WaybillSource, WaybillVoid
from services.allocation.repository.ledger import LedgerRepository
from services.allocation.repository.purchases import PurchaseRepository
from services.allocation.repository.voids import VoidRepository
from services.allocation.service.jobs import Job
from services.allocation.voids import courier_outcome, credits, number_price
from shared.allocation import VoidCourierOutcome, VoidInfo


@dataclass(frozen=True)
class VoidTicket:
    """What the worker needs to ask the courier (a job carries the void's id alone)."""

    void_id: int
    carrier: str
    shop_id: str
    number: str


def void_info(v: WaybillVoid) -> VoidInfo:
    return VoidInfo(
        courier=VoidCourierOutcome(v.courier),
        courier_code=v.courier_code,
        credit_policy=v.credit_policy,
        credited_cents=v.credited_cents,
        voided_at=v.created_at,
        settled_at=v.settled_at,
    )


async def open_void(uow: UnitOfWork, w: Waybill, shop_id: str) -> VoidInfo:
    """Record the void of a number just voided by a release, and queue the courier's cancellation (sent once
    this transaction commits). A typed number is not the courier's to cancel for this shop: nothing to ask,
    nothing to credit."""
    ask = w.source == WaybillSource.COURIER
    purchase = await PurchaseRepository(uow.session).get(w.purchase_id) if ask and w.purchase_id else None
    void = WaybillVoid(
        waybill_id=w.id,
        shop_id=shop_id,
        number=w.number,
        carrier=w.carrier,
        purchase_id=w.purchase_id,
        order_ref=w.order_ref,
        courier=VoidCourierOutcome.PENDING if ask else VoidCourierOutcome.NOT_SENT,
        credit_policy=purchase.void_credit.name if purchase else None,
        settled_at=None if ask else func.now(),
    )
    await VoidRepository(uow.session).open(void)
    if ask:
        uow.enqueue(Job.DISCARD_VOIDED, void_id=void.id)
    return void_info(void)


async def void_of(uow: UnitOfWork, waybill_id: int) -> VoidInfo | None:
    found = await VoidRepository(uow.session).for_waybill(waybill_id)
    return void_info(found) if found else None


async def take_pending(uow: UnitOfWork, void_id: int) -> VoidTicket | None:
    """The void to ask the courier about, or None once it is settled (a repeated job does nothing)."""
    v = await VoidRepository(uow.session).take_pending(void_id)
    return VoidTicket(v.id, v.carrier, v.shop_id, v.number) if v else None


async def settle(uow: UnitOfWork, void_id: int, error_code: str | None) -> VoidInfo | None:
    """Record the courier's answer (``error_code`` None: it cancelled the number) and credit a cancelled number
    in the same transaction. None when another run settled it first: that one credited it, this one must not."""
    outcome = courier_outcome(error_code)
    repo = VoidRepository(uow.session)
    void = await repo.settle(void_id, outcome, None if credits(outcome) else error_code)
    if void is None:
        return None
    if credits(outcome) and void.purchase_id is not None:
        void.credited_cents = await _credit(uow, void, void.purchase_id)  # written with the rest at commit
    VOIDS.labels(void.carrier, outcome.value).inc()
    return void_info(void)


async def _credit(uow: UnitOfWork, void: WaybillVoid, purchase_id: str) -> int:
    """Credit the price this number's purchase paid for it, under the purchase's policy. The purchase row lock
    orders the purchase's void credits, so each takes the next step of its running total."""
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=True)
    if purchase is None:
        return 0
    policy = purchase.void_credit
    amount = policy.credit(number_price(purchase.price_cents, purchase.quantity, purchase.voids_credited))
    purchase.voids_credited += 1
    purchase.void_credited_cents += amount
    if amount:
        note = f"void credit: number {void.number}, policy {policy.name}"
        await LedgerRepository(uow.session).apply(void.shop_id, amount, LedgerKind.VOID_CREDIT, purchase.id, note)
    await uow.session.flush()
    return amount


async def resend_unanswered(uow: UnitOfWork, waited: timedelta, limit: int) -> int:
    """Ask the courier again about voids left pending for ``waited`` (their job ran out of tries while the
    courier was down, or was lost). A repeat is harmless: the courier cancels a number once, we settle once."""
    ids = await VoidRepository(uow.session).claim_unanswered(waited, limit)
    for void_id in ids:
        uow.enqueue(Job.DISCARD_VOIDED, void_id=void_id)
    return len(ids)
