"""Balances and the ledger: top-ups, the balance a shop reads, and what a purchase is paid back."""

from __future__ import annotations

from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from services.allocation import ledger_reasons
from services.allocation.models import LedgerKind, Purchase
from services.allocation.repository.ledger import LedgerRepository
from services.allocation.schemas.balance import BalanceOut, LedgerEntryOut
from shared.errors import ErrorCode


async def topup(uow: UnitOfWork, shop_id: str, amount_cents: int, reference: str | None) -> BalanceOut:
    ledger = LedgerRepository(uow.session)
    if await ledger.balance(shop_id) is None:
        raise NotFound(f"shop {shop_id} not found")
    note = "top-up by an operator" + (f" ({reference})" if reference else "")
    await ledger.apply(shop_id, amount_cents, LedgerKind.TOPUP, reference, note)
    return await balance(uow, shop_id)


async def balance(uow: UnitOfWork, shop_id: str, limit: int = 100) -> BalanceOut:
    ledger = LedgerRepository(uow.session)
    current = await ledger.balance(shop_id)
    if current is None:
        raise NotFound(f"shop {shop_id} not found")
    return BalanceOut(
        shop_id=shop_id,
        balance_cents=current,
        ledger_total_cents=await ledger.total(shop_id),
        ledger=[
            LedgerEntryOut.model_validate(e).model_copy(update={"reason": ledger_reasons.reason(e.kind)})
            for e in await ledger.recent(shop_id, limit)
        ],
    )


def insufficient_balance(message: str, details: dict[str, Any]) -> AppError:
    """The refusal of a debit the balance cannot cover (raising it rolls back everything the request did)."""
    return AppError(message, code=ErrorCode.INSUFFICIENT_BALANCE, status_code=402, details=details)


def pay_back(purchase: Purchase, count: int) -> int:
    """Record ``count`` more of the purchase's numbers as paid back (refunded or credited) and return the
    amount: pro rata, each rounded down, from running totals, so that what is paid back never exceeds the
    price and every number is paid back at the price actually paid for it."""
    total = min(purchase.refunded_quantity + count, purchase.quantity)
    amount = purchase.price_cents * total // purchase.quantity - purchase.refunded_cents
    purchase.refunded_quantity = total
    purchase.refunded_cents += amount
    return amount


async def credit(uow: UnitOfWork, purchase: Purchase, count: int, kind: LedgerKind, note: str) -> None:
    """Credit ``count`` numbers of the purchase at the price it paid (a ledger row when that is not 0)."""
    purchase.numbers_credited += count
    amount = pay_back(purchase, count)
    if amount:
        await LedgerRepository(uow.session).apply(purchase.shop_id, amount, kind, purchase.id, note)


def extension_fee(fee_cents_per_30_days: int, days: int) -> int:
    """The package's per-30-days fee, pro rata, rounded up: never undercharge a partial month."""
    return -(-fee_cents_per_30_days * days // 30)
