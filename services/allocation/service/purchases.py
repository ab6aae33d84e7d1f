"""Purchases of waybill numbers as a shop makes them: buying (paid up front, at the shop's negotiated price
when one is in force), reading, asking for a resync, extending their validity. Refunds are ``refunds``; the
courier's side is ``fulfilment``."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
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
from services.allocation.schemas.purchases import ExtendOut, PurchaseCreate, PurchaseOut
from services.allocation.service import prices
from services.allocation.service.balance import extension_fee, insufficient_balance
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
    charge = await prices.charge_for(uow, shop_id, package)
    purchase = _new_purchase(shop_id, pool.id, package, charge, idempotency_key, digest)
    if not await purchases.add_if_new(purchase):
        winner = await purchases.by_key(shop_id, idempotency_key)
        assert winner is not None
        return PurchaseOutcome(_same_request(winner, digest, idempotency_key), created=False)
    await _charge(uow, purchase, f"bought package {package.id}: {package.quantity} numbers {charge.words}")
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


def _new_purchase(
    shop_id: str, pool_id: int, package: CarrierPackage, charge: prices.Charge, idempotency_key: str, digest: str
) -> Purchase:
    return Purchase(
        id="p-" + secrets.token_hex(8),
        shop_id=shop_id,
        pool_id=pool_id,
        carrier=package.carrier,
        package_id=package.id,
        quantity=package.quantity,
        # The price in force now (the shop's negotiated one, else the catalogue's), and which it was.
        price_cents=charge.price_cents,
        price_source=charge.source,
        shop_price_id=charge.shop_price_id,
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


async def _charge(uow: UnitOfWork, purchase: Purchase, note: str) -> None:
    ledger = LedgerRepository(uow.session)
    if await ledger.apply(purchase.shop_id, -purchase.price_cents, LedgerKind.PURCHASE, purchase.id, note) is None:
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


async def extend_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str, days: int) -> ExtendOut:
    """Push back the expiry of the purchase's numbers that can still be used (available or allocated, not
    expired), for the package's fee. Refused when none can: a fee for nothing."""
    purchase = await _own_purchase(uow, shop_id, purchase_id, for_update=True)
    if purchase.status != PurchaseStatus.COMPLETED or purchase.expires_at is None:
        raise Conflict(f"purchase {purchase_id} is {purchase.status}; only completed purchases can be extended")
    done = await extend_numbers(uow, purchase, days, LedgerKind.EXTENSION)
    assert purchase.expires_at is not None
    return ExtendOut(
        purchase_id=purchase_id,
        fee_cents=done.fee_cents,
        numbers_extended=done.numbers,
        expires_at=purchase.expires_at,
        balance_cents=await LedgerRepository(uow.session).balance(shop_id) or 0,
    )


@dataclass(frozen=True)
class Extended:
    numbers: int
    fee_cents: int


async def extend_numbers(uow: UnitOfWork, purchase: Purchase, days: int, kind: LedgerKind, why: str = "") -> Extended:
    """Extend a completed purchase's usable numbers by ``days`` and charge the fee (``kind``; ``why`` before the
    note's particulars), under the caller's lock of the purchase. Raises no_usable_numbers (409) or
    insufficient_balance (402); raising rolls the extension back with the caller's transaction (or savepoint).
    """
    assert purchase.expires_at is not None
    # Extended before charging: the refusal and the ledger note follow what was really extended (the update
    # locks those rows).
    extended = await WaybillRepository(uow.session).extend(purchase.id, days)
    if not extended:
        raise AppError(
            f"no number of purchase {purchase.id} can still be used (printed, shipped, voided, refunded, expired "
            "or superseded); there is nothing to extend",
            code=ErrorCode.NO_USABLE_NUMBERS,
            status_code=409,
            details={"purchase_id": purchase.id},
        )
    package = await CatalogueRepository(uow.session).package(purchase.package_id)
    fee = extension_fee(package.extension_fee_cents_per_30_days if package else 0, days)
    note = f"+{days} days for {extended} usable numbers"
    note = f"{why}: {note}" if why else note
    ledger = LedgerRepository(uow.session)
    if fee and await ledger.apply(purchase.shop_id, -fee, kind, purchase.id, note) is None:
        raise insufficient_balance(
            f"balance is less than the extension fee {fee} cents", {"fee_cents": fee, "purchase_id": purchase.id}
        )
    purchase.expires_at = purchase.expires_at + timedelta(days=days)
    await uow.session.flush()
    return Extended(extended, fee)
