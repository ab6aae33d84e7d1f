"""Purchases of waybill numbers as a shop makes them: buying (paid up front), reading, asking for a resync,
refunding the numbers never handed out, extending their validity. The courier's side is ``fulfilment``."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from runtime.pagination import PageRequest
from services.allocation.metrics import PURCHASES
from services.allocation.models import CarrierPackage, LedgerKind, Purchase, PurchaseStatus
from services.allocation.repository.catalogue import CatalogueRepository
from services.allocation.repository.ledger import LedgerRepository
from services.allocation.repository.pools import PoolRepository
from services.allocation.repository.purchases import PurchaseRepository
from services.allocation.repository.waybills import WaybillRepository
from services.allocation.schemas.purchases import ExtendOut, PurchaseCreate, PurchaseOut, RefundOut
from services.allocation.service.balance import extension_fee, insufficient_balance, pay_back
from services.allocation.service.jobs import Job
from shared.errors import ErrorCode
from shared.pages import Page


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class PurchaseOutcome:
    purchase: PurchaseOut
    created: bool  # False: an idempotent repeat of an earlier request


async def create_purchase(uow: UnitOfWork, shop_id: str, body: PurchaseCreate, idempotency_key: str) -> PurchaseOutcome:
    """Debit the balance and record a pending purchase; a worker then asks the courier."""
    digest = request_hash(body.model_dump(mode="json"))
    purchases = PurchaseRepository(uow.session)
    existing = await purchases.by_key(shop_id, idempotency_key)
    if existing is not None:
        return PurchaseOutcome(_same_request(existing, digest, idempotency_key), created=False)
    package = await _package_on_sale(uow, body)
    pool = await PoolRepository(uow.session).get_or_create(shop_id, body.carrier)
    purchase = _new_purchase(shop_id, pool.id, package, idempotency_key, digest)
    if not await purchases.add_if_new(purchase):
        winner = await purchases.by_key(shop_id, idempotency_key)
        assert winner is not None
        return PurchaseOutcome(_same_request(winner, digest, idempotency_key), created=False)
    await _charge(uow, purchase)
    uow.enqueue(Job.FETCH_NUMBERS, purchase_id=purchase.id)
    PURCHASES.labels(body.carrier, "created").inc()
    return PurchaseOutcome(PurchaseOut.model_validate(purchase), created=True)


async def _package_on_sale(uow: UnitOfWork, body: PurchaseCreate) -> CarrierPackage:
    package = await CatalogueRepository(uow.session).package(body.package_id)
    if package is None or package.carrier != body.carrier or not package.active:
        raise NotFound(
            f"package {body.package_id} is not on sale for {body.carrier}",
            details={"carrier": body.carrier, "package_id": body.package_id},
        )
    return package


def _new_purchase(shop_id: str, pool_id: int, package: CarrierPackage, idempotency_key: str, digest: str) -> Purchase:
    return Purchase(
        id="p-" + secrets.token_hex(8),
        shop_id=shop_id,
        pool_id=pool_id,
        carrier=package.carrier,
        package_id=package.id,
        quantity=package.quantity,
        price_cents=package.price_cents,
        validity_days=package.validity_days,
        idempotency_key=idempotency_key,
        request_hash=digest,
        status=PurchaseStatus.PENDING,
        attempts=0,
        numbers_received=0,
        numbers_quarantined=0,
        refunded_quantity=0,
        refunded_cents=0,
        numbers_credited=0,
        # The terms of the sale, kept as bought (as the price is): a void is credited by these.
        void_credit_percent=package.void_credit_percent,
        void_fee_cents=package.void_fee_cents,
        voids_credited=0,
        void_credited_cents=0,
    )


async def _charge(uow: UnitOfWork, purchase: Purchase) -> None:
    ledger = LedgerRepository(uow.session)
    if await ledger.apply(purchase.shop_id, -purchase.price_cents, LedgerKind.PURCHASE, purchase.id) is None:
        # Raising rolls the whole transaction back: no purchase, no charge.
        current = await ledger.balance(purchase.shop_id)
        raise insufficient_balance(
            f"balance {current} cents is less than the package price {purchase.price_cents} cents",
            {"balance_cents": current, "price_cents": purchase.price_cents},
        )


def _same_request(purchase: Purchase, digest: str, key: str) -> PurchaseOut:
    if purchase.request_hash != digest:
        raise AppError(
            f"Idempotency-Key {key!r} was used with a different request",
            code=ErrorCode.IDEMPOTENCY_CONFLICT,
            status_code=409,
            details={"purchase_id": purchase.id},
        )
    return PurchaseOut.model_validate(purchase)


async def get_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str) -> PurchaseOut:
    return PurchaseOut.model_validate(await _own_purchase(uow, shop_id, purchase_id))


async def list_purchases(uow: UnitOfWork, shop_id: str, page: PageRequest) -> Page[PurchaseOut]:
    return (await PurchaseRepository(uow.session).recent(shop_id, page)).page(PurchaseOut.model_validate)


async def _own_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str, *, for_update: bool = False) -> Purchase:
    purchase = await PurchaseRepository(uow.session).get_owned(shop_id, purchase_id, for_update=for_update)
    if purchase is None:
        raise NotFound(f"purchase {purchase_id} not found")
    return purchase


async def request_resync(uow: UnitOfWork, shop_id: str, purchase_id: str) -> PurchaseOut:
    purchase = await _own_purchase(uow, shop_id, purchase_id)
    if purchase.status == PurchaseStatus.FAILED:
        raise Conflict(
            f"purchase {purchase_id} failed and was refunded; buy again instead",
            details={"status": purchase.status},
        )
    uow.enqueue(Job.RESYNC, purchase_id=purchase_id)
    return PurchaseOut.model_validate(purchase)


async def refund_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str) -> RefundOut:
    """Void the purchase's unexpired numbers never handed out and credit their share of the price. A number
    allocated and released is back in the pool but not refundable: it stays there for the shop to use.

    Repeating it is harmless: the second call finds nothing left to void and credits nothing."""
    purchase = await _own_purchase(uow, shop_id, purchase_id, for_update=True)
    if purchase.status != PurchaseStatus.COMPLETED:
        raise Conflict(
            f"purchase {purchase_id} is {purchase.status}; only completed purchases can be refunded",
            details={"status": purchase.status},
        )
    started = datetime.now(UTC)
    waybills = WaybillRepository(uow.session)
    voided = await waybills.void_unused(purchase_id)
    ledger = LedgerRepository(uow.session)
    amount = 0
    if voided:
        amount = pay_back(purchase, voided)
        if amount:
            note = f"{voided} numbers never handed out"
            await ledger.apply(shop_id, amount, LedgerKind.REFUND, purchase_id, note)
        numbers = await waybills.voided_numbers(purchase_id, started)
        uow.enqueue(Job.DISCARD, carrier=purchase.carrier, shop_id=shop_id, numbers=numbers)
    await uow.session.flush()
    current = await ledger.balance(shop_id)
    return RefundOut(
        purchase_id=purchase_id, refunded_quantity=voided, refunded_cents=amount, balance_cents=current or 0
    )


async def extend_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str, days: int) -> ExtendOut:
    """Push back the expiry of the purchase's numbers that can still be used (available or allocated, not
    expired), for the package's fee. Refused when none can: a fee for nothing."""
    purchase = await _own_purchase(uow, shop_id, purchase_id, for_update=True)
    if purchase.status != PurchaseStatus.COMPLETED or purchase.expires_at is None:
        raise Conflict(f"purchase {purchase_id} is {purchase.status}; only completed purchases can be extended")
    # Extended before charging: the refusal and the ledger note follow what was really extended (the update
    # locks those rows), and raising rolls the extension back with everything else.
    extended = await WaybillRepository(uow.session).extend(purchase_id, days)
    if not extended:
        raise AppError(
            f"no number of purchase {purchase_id} can still be used (printed, shipped, voided, refunded, expired "
            "or superseded); there is nothing to extend",
            code=ErrorCode.NO_USABLE_NUMBERS,
            status_code=409,
            details={"purchase_id": purchase_id},
        )
    package = await CatalogueRepository(uow.session).package(purchase.package_id)
    fee = extension_fee(package.extension_fee_cents_per_30_days if package else 0, days)
    ledger = LedgerRepository(uow.session)
    note = f"+{days} days for {extended} usable numbers"
    if fee and await ledger.apply(shop_id, -fee, LedgerKind.EXTENSION, purchase_id, note) is None:
        raise insufficient_balance(f"balance is less than the extension fee {fee} cents", {"fee_cents": fee})
    purchase.expires_at = purchase.expires_at + timedelta(days=days)
    await uow.session.flush()
    return ExtendOut(
        purchase_id=purchase_id,
        fee_cents=fee,
        numbers_extended=extended,
        expires_at=purchase.expires_at,
        balance_cents=await ledger.balance(shop_id) or 0,
    )
