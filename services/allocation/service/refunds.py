"""Refunds of a purchase's numbers never handed out: all of them, or a given count, as the shop asks (or as its
on_expiry setting does before they expire). Each number is paid back at the price paid for it, once."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from services.allocation.models import LedgerKind, Purchase, PurchaseRefund, PurchaseStatus
from services.allocation.repository.ledger import LedgerRepository
from services.allocation.repository.purchases import PurchaseRepository
from services.allocation.repository.refunds import PurchaseRefundRepository
from services.allocation.repository.waybills import WaybillRepository
from services.allocation.schemas.purchases import RefundOut
from services.allocation.service.balance import pay_back
from services.allocation.service.jobs import Job
from services.allocation.service.purchases import request_hash
from shared.errors import ErrorCode


@dataclass(frozen=True)
class Refunded:
    quantity: int
    cents: int


async def refund_unused(
    uow: UnitOfWork, purchase: Purchase, count: int | None, kind: LedgerKind, why: str = ""
) -> Refunded:
    """Void the purchase's numbers never handed out (``count`` of them, or all: None) and credit their share of
    the price, under the purchase's row lock (the caller's: two refunds of one purchase take turns, so they
    never refund more than is unused). Fewer than ``count`` unused: 409 not_enough_unused, nothing done."""
    waybills = WaybillRepository(uow.session)
    voided = await waybills.void_unused(purchase.id, count)
    if count is not None and len(voided) < count:
        # Raising rolls back the voids just made with the rest of the transaction.
        raise AppError(
            f"purchase {purchase.id} has {len(voided)} unused numbers, fewer than the {count} asked to refund",
            code=ErrorCode.NOT_ENOUGH_UNUSED,
            status_code=409,
            details={"purchase_id": purchase.id, "requested": count, "unused": len(voided)},
        )
    amount = 0
    if voided:
        amount = pay_back(purchase, len(voided))
        if amount:
            left = await waybills.unused_count(purchase.id)
            note = f"{len(voided)} numbers never handed out" + (f" ({left} left unused)" if count else "")
            note = f"{why}: {note}" if why else note
            await LedgerRepository(uow.session).apply(purchase.shop_id, amount, kind, purchase.id, note)
        uow.enqueue(Job.DISCARD, carrier=purchase.carrier, shop_id=purchase.shop_id, numbers=voided)
    return Refunded(len(voided), amount)


async def refund_purchase(
    uow: UnitOfWork, shop_id: str, purchase_id: str, count: int | None = None, idempotency_key: str | None = None
) -> RefundOut:
    """The shop's refund of a purchase's unused numbers: all of them (``count`` None, as it always was:
    repeating it refunds nothing more), or exactly ``count``, the ones the pool would hand out last. With an
    Idempotency-Key a repeat answers what the first did (a partial refund is not idempotent by itself)."""
    digest = request_hash({"purchase_id": purchase_id, "count": count})
    refunds = PurchaseRefundRepository(uow.session)
    if idempotency_key is not None and (earlier := await refunds.by_key(shop_id, idempotency_key)) is not None:
        return _replay(earlier, digest, idempotency_key)
    purchase = await PurchaseRepository(uow.session).get_owned(shop_id, purchase_id, for_update=True)
    if purchase is None:
        raise NotFound(f"purchase {purchase_id} not found")
    # A request with the same key that held this lock before us has committed by now: answer as it did.
    if idempotency_key is not None and (earlier := await refunds.by_key(shop_id, idempotency_key)) is not None:
        return _replay(earlier, digest, idempotency_key)
    if purchase.status != PurchaseStatus.COMPLETED:
        raise Conflict(
            f"purchase {purchase_id} is {purchase.status}; only completed purchases can be refunded",
            details={"status": purchase.status},
        )
    # The whole refund's note is as it always was; a partial one says so.
    why = "" if count is None else f"partial refund of {count}"
    done = await refund_unused(uow, purchase, count, LedgerKind.REFUND, why)
    await uow.session.flush()
    answer = RefundOut(
        purchase_id=purchase_id,
        refunded_quantity=done.quantity,
        refunded_cents=done.cents,
        balance_cents=await LedgerRepository(uow.session).balance(shop_id) or 0,
    )
    if idempotency_key is not None:
        record = PurchaseRefund(
            shop_id=shop_id,
            purchase_id=purchase_id,
            idempotency_key=idempotency_key,
            request_hash=digest,
            count=count,
            refunded_quantity=answer.refunded_quantity,
            refunded_cents=answer.refunded_cents,
            balance_cents=answer.balance_cents,
        )
        if not await refunds.add(record):
            # The key went to another purchase's refund meanwhile (this one's lock did not order them).
            raise _key_reused(idempotency_key, purchase_id)
    return answer


def _replay(earlier: PurchaseRefund, digest: str, key: str) -> RefundOut:
    if earlier.request_hash != digest:
        raise _key_reused(key, earlier.purchase_id)
    return RefundOut(
        purchase_id=earlier.purchase_id,
        refunded_quantity=earlier.refunded_quantity,
        refunded_cents=earlier.refunded_cents,
        balance_cents=earlier.balance_cents,
    )


def _key_reused(key: str, purchase_id: str) -> AppError:
    return AppError(
        f"Idempotency-Key {key!r} was used with a different request",
        code=ErrorCode.IDEMPOTENCY_CONFLICT,
        status_code=409,
        details={"purchase_id": purchase_id},
    )
