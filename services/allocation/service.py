"""Allocation business logic. Services flush; the request or job boundary commits."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.auth import generate_key
from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from services.allocation.metrics import ALLOCATIONS, POOL_AVAILABLE, POOL_EXPIRING, PURCHASES
from services.allocation.models import (
    ApiKey,
    CarrierPackage,
    Pool,
    Purchase,
    QuarantineIncident,
    Shop,
    StockEvent,
    Waybill,
    WaybillStatus,
)
from services.allocation.repository import (
    AllocationStatements,
    CatalogueRepository,
    LedgerRepository,
    PoolRepository,
    PurchaseRepository,
    ShopRepository,
    ShortOfStock,
    WaybillRepository,
)
from services.allocation.schemas import (
    BalanceOut,
    CarrierOut,
    CarrierUpdate,
    ExtendOut,
    KeyCreated,
    LedgerEntryOut,
    PackageCreate,
    PackageOut,
    PoolCounts,
    PoolOut,
    PoolUpdate,
    PurchaseCreate,
    PurchaseOut,
    RefundOut,
    ShopCreated,
    ShopOut,
    StockEventOut,
)
from shared.allocation import (
    Allocation,
    BatchAllocation,
    BatchMarkRequest,
    BatchMarkResult,
    ManualWaybillRequest,
    MarkOutcome,
    MarkRequest,
    MarkState,
    ReleaseResult,
    WaybillInfo,
    WaybillState,
)
from shared.carriers import CarrierCode
from shared.errors import ErrorCode
from shared.waybill import CheckDigit, InvalidWaybillNumber, NumberRule, RuleAlternative, pattern_problem

S = WaybillStatus
# Jobs run by the allocation worker (names are the wire contract between API and worker).
JOB_FETCH_NUMBERS = "fetch_purchase_numbers"
JOB_RESYNC = "resync_purchase"
JOB_DISCARD = "discard_numbers"
JOB_LOW_STOCK = "handle_low_stock"
# A manual number's expiry is not known to us; the marketplace refuses it if the courier expired it.
MANUAL_VALIDITY = timedelta(days=365)
# Ledger kind of the credit for a number a purchase paid for but a typed entry had already printed.
CREDIT_TAKEN_BY_MANUAL = "number_taken_by_manual_entry"
# Ledger kind of the credit for a number the courier issued twice (quarantined: nobody can use it).
CREDIT_ISSUED_TWICE = "number_issued_twice"
# Stock-event kind telling a shop that a purchase took over one of its typed numbers.
EVENT_MANUAL_SUPERSEDED = "manual_superseded"


# --- shops and keys ---------------------------------------------------------------------------


def new_shop_id() -> str:
    return "s-" + secrets.token_hex(6)


async def create_shop(uow: UnitOfWork, name: str) -> ShopCreated:
    repo = ShopRepository(uow.session)
    shop = await repo.add_shop(Shop(id=new_shop_id(), name=name))
    key = await _new_key(repo, shop.id, "default")
    return ShopCreated(id=shop.id, name=shop.name, created_at=shop.created_at, api_key=key.api_key, key_id=key.key_id)


async def get_shop(uow: UnitOfWork, shop_id: str) -> ShopOut:
    shop = await ShopRepository(uow.session).get_shop(shop_id)
    if shop is None:
        raise NotFound(f"shop {shop_id} not found")
    return ShopOut.model_validate(shop)


async def list_shops(uow: UnitOfWork, limit: int, after: str | None) -> list[ShopOut]:
    return [ShopOut.model_validate(s) for s in await ShopRepository(uow.session).list_shops(limit, after)]


async def add_key(uow: UnitOfWork, shop_id: str, label: str) -> KeyCreated:
    repo = ShopRepository(uow.session)
    if await repo.get_shop(shop_id) is None:
        raise NotFound(f"shop {shop_id} not found")
    return await _new_key(repo, shop_id, label)


async def revoke_key(uow: UnitOfWork, shop_id: str, key_id: str) -> None:
    if not await ShopRepository(uow.session).revoke_key(shop_id, key_id):
        raise NotFound(f"active key {key_id} not found for shop {shop_id}")


async def _new_key(repo: ShopRepository, shop_id: str, label: str) -> KeyCreated:
    key = generate_key()
    await repo.add_key(ApiKey(id=key.key_id, shop_id=shop_id, secret_hash=key.secret_hash, label=label))
    return KeyCreated(key_id=key.key_id, api_key=key.plaintext)


# --- catalogue --------------------------------------------------------------------------------


def rule_of(number_rule: list[dict[str, Any]]) -> NumberRule:
    return NumberRule(
        tuple(
            RuleAlternative(a["pattern"], CheckDigit(a.get("check", "none")), a.get("description", ""))
            for a in number_rule
        )
    )


async def list_carriers(uow: UnitOfWork) -> list[CarrierOut]:
    repo = CatalogueRepository(uow.session)
    packages: dict[str, list[PackageOut]] = {}
    for p in await repo.packages():
        packages.setdefault(p.carrier, []).append(PackageOut.model_validate(p))
    return [
        CarrierOut.model_validate(c).model_copy(update={"packages": packages.get(c.code, [])})
        for c in await repo.carriers()
    ]


async def get_carrier(uow: UnitOfWork, code: str) -> CarrierOut:
    repo = CatalogueRepository(uow.session)
    carrier = await repo.carrier(code)
    if carrier is None:
        raise NotFound(f"carrier {code} not found")
    packages = [PackageOut.model_validate(p) for p in await repo.packages(code)]
    return CarrierOut.model_validate(carrier).model_copy(update={"packages": packages})


async def update_carrier(uow: UnitOfWork, code: str, body: CarrierUpdate) -> CarrierOut:
    repo = CatalogueRepository(uow.session)
    if await repo.carrier(code) is None:
        raise NotFound(f"carrier {code} not found")
    values = body.model_dump(exclude_none=True)
    if body.number_rule is not None:
        # Refused when it is set, not when numbers are checked: numbers are matched by RE2 (linear time).
        for i, alternative in enumerate(body.number_rule):
            problem = pattern_problem(alternative.pattern)
            if problem is not None:
                raise AppError(
                    f"number_rule.{i}.pattern is refused: {problem}",
                    code=ErrorCode.INVALID_NUMBER_PATTERN,
                    status_code=422,
                    details={"field": f"number_rule.{i}.pattern", "reason": problem},
                )
        try:
            rule_of([a.model_dump() for a in body.number_rule])
        except ValueError as exc:
            raise AppError(f"invalid number rule: {exc}", status_code=422) from exc
        values["number_rule"] = [a.model_dump() for a in body.number_rule]
    await repo.update_carrier(code, values)
    uow.session.expire_all()
    return await get_carrier(uow, code)


async def add_package(uow: UnitOfWork, code: str, body: PackageCreate) -> PackageOut:
    repo = CatalogueRepository(uow.session)
    if await repo.carrier(code) is None:
        raise NotFound(f"carrier {code} not found")
    package = CarrierPackage(carrier=code, **body.model_dump())
    if not await repo.add_package(package):
        raise Conflict(f"package {body.id} already exists", details={"package_id": body.id})
    return PackageOut.model_validate(package)


# --- balance ----------------------------------------------------------------------------------


async def topup(uow: UnitOfWork, shop_id: str, amount_cents: int, reference: str | None) -> BalanceOut:
    ledger = LedgerRepository(uow.session)
    if await ledger.balance(shop_id) is None:
        raise NotFound(f"shop {shop_id} not found")
    await ledger.apply(shop_id, amount_cents, "topup", reference)
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
        ledger=[LedgerEntryOut.model_validate(e) for e in await ledger.recent(shop_id, limit)],
    )


# --- purchases --------------------------------------------------------------------------------


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def create_purchase(
    uow: UnitOfWork, shop_id: str, body: PurchaseCreate, idempotency_key: str
) -> tuple[PurchaseOut, bool]:
    """Debit the balance and record a pending purchase; a worker then asks the courier.

    Returns the purchase and whether this call created it (False: an idempotent repeat)."""
    digest = request_hash(body.model_dump(mode="json"))
    purchases = PurchaseRepository(uow.session)
    existing = await purchases.by_key(shop_id, idempotency_key)
    if existing is not None:
        return _same_request(existing, digest, idempotency_key), False

    package = await CatalogueRepository(uow.session).package(body.package_id)
    if package is None or package.carrier != body.carrier or not package.active:
        raise NotFound(
            f"package {body.package_id} is not on sale for {body.carrier}",
            details={"carrier": body.carrier, "package_id": body.package_id},
        )
    pool = await PoolRepository(uow.session).get_or_create(shop_id, body.carrier)
    purchase_id = "p-" + secrets.token_hex(8)
    purchase = Purchase(
        id=purchase_id,
        shop_id=shop_id,
        pool_id=pool.id,
        carrier=body.carrier,
        package_id=package.id,
        quantity=package.quantity,
        price_cents=package.price_cents,
        validity_days=package.validity_days,
        idempotency_key=idempotency_key,
        request_hash=digest,
        status="pending",
        attempts=0,
        numbers_received=0,
        numbers_quarantined=0,
        refunded_quantity=0,
        refunded_cents=0,
        numbers_credited=0,
    )
    if not await purchases.add_if_new(purchase):
        winner = await purchases.by_key(shop_id, idempotency_key)
        assert winner is not None
        return _same_request(winner, digest, idempotency_key), False
    ledger = LedgerRepository(uow.session)
    if await ledger.apply(shop_id, -package.price_cents, "purchase", purchase_id) is None:
        # Raising rolls the whole transaction back: no purchase, no charge.
        current = await ledger.balance(shop_id)
        raise AppError(
            f"balance {current} cents is less than the package price {package.price_cents} cents",
            code=ErrorCode.INSUFFICIENT_BALANCE,
            status_code=402,
            details={"balance_cents": current, "price_cents": package.price_cents},
        )
    uow.enqueue(JOB_FETCH_NUMBERS, purchase_id=purchase_id)
    PURCHASES.labels(body.carrier, "created").inc()
    return PurchaseOut.model_validate(purchase), True


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


async def list_purchases(uow: UnitOfWork, shop_id: str, limit: int) -> list[PurchaseOut]:
    return [PurchaseOut.model_validate(p) for p in await PurchaseRepository(uow.session).recent(shop_id, limit)]


async def _own_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str, *, for_update: bool = False) -> Purchase:
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=for_update)
    if purchase is None or purchase.shop_id != shop_id:
        raise NotFound(f"purchase {purchase_id} not found")
    return purchase


async def request_resync(uow: UnitOfWork, shop_id: str, purchase_id: str) -> PurchaseOut:
    purchase = await _own_purchase(uow, shop_id, purchase_id)
    if purchase.status == "failed":
        raise Conflict(
            f"purchase {purchase_id} failed and was refunded; buy again instead",
            details={"status": purchase.status},
        )
    uow.enqueue(JOB_RESYNC, purchase_id=purchase_id)
    return PurchaseOut.model_validate(purchase)


async def refund_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str) -> RefundOut:
    """Void the purchase's unexpired numbers never handed out and credit their share of the price. A number
    allocated and released is back in the pool but not refundable: it stays there for the shop to use.

    Repeating it is harmless: the second call finds nothing left to void and credits nothing."""
    purchase = await _own_purchase(uow, shop_id, purchase_id, for_update=True)
    if purchase.status != "completed":
        raise Conflict(
            f"purchase {purchase_id} is {purchase.status}; only completed purchases can be refunded",
            details={"status": purchase.status},
        )
    started = datetime.now(UTC)
    voided = await WaybillRepository(uow.session).void_unused(purchase_id)
    ledger = LedgerRepository(uow.session)
    amount = 0
    if voided:
        amount = _pay_back(purchase, voided)
        if amount:
            await ledger.apply(shop_id, amount, "refund", purchase_id, f"{voided} numbers never handed out")
        numbers = await WaybillRepository(uow.session).voided_numbers(purchase_id, started)
        uow.enqueue(JOB_DISCARD, carrier=purchase.carrier, shop_id=shop_id, numbers=numbers)
    await uow.session.flush()
    current = await ledger.balance(shop_id)
    return RefundOut(
        purchase_id=purchase_id, refunded_quantity=voided, refunded_cents=amount, balance_cents=current or 0
    )


def _pay_back(purchase: Purchase, count: int) -> int:
    """Record ``count`` more of the purchase's numbers as paid back (refunded or credited) and return the
    amount: pro rata, each rounded down, from running totals, so that what is paid back never exceeds the
    price and every number is paid back at the price actually paid for it."""
    total = min(purchase.refunded_quantity + count, purchase.quantity)
    amount = purchase.price_cents * total // purchase.quantity - purchase.refunded_cents
    purchase.refunded_quantity = total
    purchase.refunded_cents += amount
    return amount


async def extend_purchase(uow: UnitOfWork, shop_id: str, purchase_id: str, days: int) -> ExtendOut:
    """Push back the expiry of the purchase's numbers that can still be used (available or allocated, not
    expired), for the package's fee. Refused when none can: a fee for nothing."""
    purchase = await _own_purchase(uow, shop_id, purchase_id, for_update=True)
    if purchase.status != "completed" or purchase.expires_at is None:
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
    per_30 = package.extension_fee_cents_per_30_days if package else 0
    fee = -(-per_30 * days // 30)  # ceiling: never undercharge a partial month
    ledger = LedgerRepository(uow.session)
    note = f"+{days} days for {extended} usable numbers"
    if fee and await ledger.apply(shop_id, -fee, "extension", purchase_id, note) is None:
        raise AppError(
            f"balance is less than the extension fee {fee} cents",
            code=ErrorCode.INSUFFICIENT_BALANCE,
            status_code=402,
            details={"fee_cents": fee},
        )
    purchase.expires_at = purchase.expires_at + timedelta(days=days)
    await uow.session.flush()
    return ExtendOut(
        purchase_id=purchase_id,
        fee_cents=fee,
        numbers_extended=extended,
        expires_at=purchase.expires_at,
        balance_cents=await ledger.balance(shop_id) or 0,
    )


# --- allocation (hot path: raw statements, no session) -----------------------------------------


def _exhausted(shop_id: str, carrier: str, details: dict[str, Any] | None = None) -> AppError:
    return AppError(
        f"no available {carrier} numbers for shop {shop_id}",
        code=ErrorCode.POOL_EXHAUSTED,
        status_code=409,
        details={"carrier": carrier, "shop_id": shop_id, **(details or {})},
    )


async def allocate(stmts: AllocationStatements, shop_id: str, carrier: CarrierCode, order_id: str) -> Allocation:
    pool_id = await stmts.pool_id(shop_id, carrier)
    row = None if pool_id is None else await stmts.allocate_one(pool_id, order_id)
    if row is None:
        ALLOCATIONS.labels(carrier, "exhausted").inc()
        raise _exhausted(shop_id, carrier)
    ALLOCATIONS.labels(carrier, "allocated" if row.created else "repeated").inc()
    return Allocation(
        carrier=carrier, order_id=order_id, number=row.number, expires_at=row.expires_at, created=row.created
    )


async def allocate_batch(
    stmts: AllocationStatements, shop_id: str, carrier: CarrierCode, order_ids: list[str]
) -> BatchAllocation:
    pool_id = await stmts.pool_id(shop_id, carrier)
    if pool_id is None:
        ALLOCATIONS.labels(carrier, "exhausted").inc(len(order_ids))
        raise _exhausted(shop_id, carrier, {"requested": len(order_ids)})
    try:
        rows = await stmts.allocate_batch(pool_id, order_ids)
    except ShortOfStock as short:
        ALLOCATIONS.labels(carrier, "exhausted").inc(len(order_ids))
        raise _exhausted(shop_id, carrier, {"requested": len(order_ids), "missing": short.missing}) from short
    created = sum(r.created for r in rows)
    ALLOCATIONS.labels(carrier, "allocated").inc(created)
    ALLOCATIONS.labels(carrier, "repeated").inc(len(rows) - created)
    by_order = {r.order_ref: r for r in rows}
    return BatchAllocation(
        carrier=carrier,
        allocations=[
            Allocation(
                carrier=carrier,
                order_id=o,
                number=by_order[o].number,
                expires_at=by_order[o].expires_at,
                created=by_order[o].created,
            )
            for o in order_ids
        ],
    )


# --- a number's lifecycle -----------------------------------------------------------------------

_STATE = {s: WaybillState[s.name] for s in S}


async def _own_waybill(uow: UnitOfWork, shop_id: str, number: str, *, for_update: bool = False) -> Waybill:
    found = await WaybillRepository(uow.session).get(number.strip().upper(), shop_id, for_update=for_update)
    if found is None:
        raise NotFound(f"waybill {number} not found")
    return found


def _info(w: Waybill) -> WaybillInfo:
    return WaybillInfo(
        number=w.number,
        carrier=CarrierCode(w.carrier),
        status=_STATE[S(w.status)],
        order_id=w.order_ref,
        expires_at=w.expires_at,
        purchase_id=w.purchase_id,
        source=w.source,
        verified=w.source == "courier",
        allocated_at=w.allocated_at,
    )


def _invalid_transition(number: str, current: S, wanted: str) -> AppError:
    return AppError(
        f"waybill {number} is {current.name.lower()}; cannot {wanted}",
        code=ErrorCode.INVALID_TRANSITION,
        status_code=409,
        details={"number": number, "status": current.name.lower()},
    )


def _check_order(w: Waybill, order_id: str | None) -> None:
    if order_id is not None and w.order_ref != order_id:
        raise Conflict(
            f"waybill {w.number} does not belong to order {order_id}",
            details={"number": w.number, "order_id": order_id},
        )


async def get_waybill(uow: UnitOfWork, shop_id: str, number: str) -> WaybillInfo:
    return _info(await _own_waybill(uow, shop_id, number))


async def release(uow: UnitOfWork, shop_id: str, number: str, order_id: str | None) -> ReleaseResult:
    """Unprinted: back to the pool. Printed: voided (a physical label may exist), never reused."""
    w = await _own_waybill(uow, shop_id, number, for_update=True)
    current = S(w.status)
    repo = WaybillRepository(uow.session)
    if current == S.ALLOCATED:
        _check_order(w, order_id)
        # A typed-in number was never ours to hand out again.
        target = S.AVAILABLE if w.source == "courier" else S.VOIDED
        await repo.set_status(w.id, target, released=target == S.AVAILABLE)
        return ReleaseResult(number=w.number, status=_STATE[target])
    if current == S.PRINTED:
        _check_order(w, order_id)
        await repo.set_status(w.id, S.VOIDED)
        return ReleaseResult(number=w.number, status=WaybillState.VOIDED)
    if current == S.VOIDED and (order_id is None or w.order_ref == order_id):
        return ReleaseResult(number=w.number, status=WaybillState.VOIDED)  # a repeated release
    raise _invalid_transition(w.number, current, "release it")


_MARK_FROM: dict[MarkState, set[S]] = {
    MarkState.PRINTED: {S.ALLOCATED, S.PRINTED},
    MarkState.SHIPPED: {S.ALLOCATED, S.PRINTED, S.SHIPPED},
    MarkState.QUARANTINED: {S.AVAILABLE, S.ALLOCATED, S.PRINTED, S.QUARANTINED},
    MarkState.EXPIRED: {S.AVAILABLE, S.ALLOCATED, S.PRINTED, S.EXPIRED},
}


_MARK_TARGET: dict[MarkState, S] = {
    MarkState.PRINTED: S.PRINTED,
    MarkState.SHIPPED: S.SHIPPED,
    MarkState.QUARANTINED: S.QUARANTINED,
    MarkState.EXPIRED: S.EXPIRED,
}


async def mark(uow: UnitOfWork, shop_id: str, number: str, body: MarkRequest) -> WaybillInfo:
    w = await _own_waybill(uow, shop_id, number, for_update=True)
    current = S(w.status)
    target = _MARK_TARGET[body.status]
    if current not in _MARK_FROM[body.status]:
        raise _invalid_transition(w.number, current, f"mark it {body.status.value}")
    _check_order(w, body.order_id)
    repo = WaybillRepository(uow.session)
    if current != target:
        await repo.set_status(w.id, target)
        if target == S.QUARANTINED:
            await repo.add_incidents(
                [
                    QuarantineIncident(
                        number=w.number,
                        carrier=w.carrier,
                        shop_id=shop_id,
                        purchase_id=w.purchase_id,
                        reason=body.reason or "reported unusable",
                    )
                ]
            )
        w.status = int(target)
    return _info(w)


async def mark_many(uow: UnitOfWork, shop_id: str, body: BatchMarkRequest) -> BatchMarkResult:
    """``mark`` for many numbers in one transaction: each number answers as the single mark would (a number
    another shop owns is not found), so one refused number does not hold the others back. Idempotent."""
    repo = WaybillRepository(uow.session)
    found = await repo.lock_many([i.number for i in body.items], shop_id)
    target = _MARK_TARGET[body.status]
    changing: list[int] = []
    incidents: list[QuarantineIncident] = []
    results: list[MarkOutcome] = []
    for item in body.items:
        w = found.get(item.number)
        if w is None:
            results.append(
                MarkOutcome(
                    number=item.number, error_code=ErrorCode.NOT_FOUND, error=f"waybill {item.number} not found"
                )
            )
            continue
        current = S(w.status)
        try:
            if current not in _MARK_FROM[body.status]:
                raise _invalid_transition(w.number, current, f"mark it {body.status.value}")
            _check_order(w, item.order_id)
        except AppError as exc:
            results.append(MarkOutcome(number=w.number, error_code=exc.code, error=exc.message))
            continue
        if current != target:
            changing.append(w.id)
            if target == S.QUARANTINED:
                incidents.append(
                    QuarantineIncident(
                        number=w.number,
                        carrier=w.carrier,
                        shop_id=shop_id,
                        purchase_id=w.purchase_id,
                        reason=body.reason or "reported unusable",
                    )
                )
        results.append(MarkOutcome(number=w.number, status=_STATE[target]))
    await repo.set_status_many(changing, target)
    if incidents:
        await repo.add_incidents(incidents)
    refused = sum(1 for r in results if r.error_code)
    return BatchMarkResult(status=body.status, marked=len(results) - refused, refused=refused, results=results)


def _number_in_use(number: str) -> AppError:
    """The one refusal of a typed number that a live row holds, built from the number alone: whether the
    caller's own order or pool holds it or another shop does, status, code, message and details are the
    same, so the answer never says whose number it is, nor its state or origin."""
    return AppError(
        f"waybill {number} is already in use",
        code=ErrorCode.WAYBILL_IN_USE,
        status_code=409,
        details={"number": number},
    )


async def register_manual(uow: UnitOfWork, shop_id: str, body: ManualWaybillRequest, max_unverified: int) -> Allocation:
    """Record a number the seller typed for an order: ``manual`` and unverified (nobody vouches that the
    courier issued it to this shop).

    Typing a number never takes it from a paying shop: when the courier later issues it to a purchase and
    no label has been printed with it, the purchase takes it (``store_issued_numbers``). To bound what one
    shop can reserve that way, it may hold at most ``max_unverified`` typed numbers not yet shipped.

    A number some live row already holds is refused (``_number_in_use``), with one answer whoever holds it.
    Why refuse rather than accept it as unverified, which would hide even that the number is taken: the
    accepted entry could be printed and shipped, so any shop could put another shop's numbers (they run in
    sequence, easy to guess) on its parcels, and the database would no longer hold a number once. The refusal
    tells the caller only that the number is taken, which its own numbers answer alike, never by whom."""
    carrier = await CatalogueRepository(uow.session).carrier(body.carrier)
    if carrier is None:
        raise NotFound(f"carrier {body.carrier} not found")
    try:
        number = rule_of(carrier.number_rule).validate(body.number, carrier=body.carrier)
    except InvalidWaybillNumber as exc:
        raise AppError(
            f"{body.number} is not a valid {body.carrier} number: {exc.reason}",
            code=ErrorCode.INVALID_WAYBILL,
            status_code=422,
            details={"number": body.number, "carrier": body.carrier, "reason": exc.reason},
        ) from exc
    repo = WaybillRepository(uow.session)
    # One registration of this shop at a time: the limit is a count, and a repeat for the same order must
    # find the first one's row (and answer created=false) rather than collide with it.
    await repo.lock_manual_entries(shop_id)
    pool = await PoolRepository(uow.session).get_or_create(shop_id, body.carrier)
    live = await repo.live_for_order(pool.id, body.order_id)
    if live is not None:
        if live.number == number:
            return Allocation(
                carrier=body.carrier, order_id=body.order_id, number=number, expires_at=live.expires_at, created=False
            )
        raise Conflict(
            f"order {body.order_id} already has {body.carrier} number {live.number}; release it first",
            details={"order_id": body.order_id, "number": live.number},
        )
    # Counted before the number is looked at: at the limit every number gets this same answer.
    held = await repo.open_manual_count(shop_id)
    if held >= max_unverified:
        raise AppError(
            f"the shop already holds {held} typed numbers not yet shipped, the most allowed; "
            "ship or release some before typing more",
            code=ErrorCode.MANUAL_LIMIT_REACHED,
            status_code=409,
            details={"limit": max_unverified, "held": held},
        )
    expires_at = datetime.now(UTC) + MANUAL_VALIDITY
    if not await repo.add_manual(
        number=number, carrier=body.carrier, pool_id=pool.id, order_ref=body.order_id, expires_at=expires_at
    ):
        raise _number_in_use(number)
    return Allocation(carrier=body.carrier, order_id=body.order_id, number=number, expires_at=expires_at, created=True)


# --- pools ------------------------------------------------------------------------------------


async def pools(uow: UnitOfWork, shop_id: str, days: int) -> list[PoolOut]:
    repo = PoolRepository(uow.session)
    shop_pools = await repo.for_shop(shop_id)
    counts = await repo.counts([p.id for p in shop_pools], datetime.now(UTC) + timedelta(days=days))
    out = []
    for p in shop_pools:
        c = counts.get(p.id, {})
        available = c.get("available", 0)
        out.append(
            PoolOut(
                carrier=p.carrier,
                counts=PoolCounts(**{k: v for k, v in c.items() if k != "expiring_soon"}),
                expiring_soon=c.get("expiring_soon", 0),
                expiring_within_days=days,
                low_stock_threshold=p.low_stock_threshold,
                low_stock=available < p.low_stock_threshold,
                auto_replenish_package=p.auto_replenish_package,
            )
        )
    return out


async def update_pool(uow: UnitOfWork, shop_id: str, carrier: CarrierCode, body: PoolUpdate) -> PoolOut:
    if body.auto_replenish_package is not None:
        package = await CatalogueRepository(uow.session).package(body.auto_replenish_package)
        if package is None or package.carrier != carrier:
            raise NotFound(f"package {body.auto_replenish_package} is not on sale for {carrier}")
    pool = await PoolRepository(uow.session).get_or_create(shop_id, carrier)
    pool.low_stock_threshold = body.low_stock_threshold
    pool.auto_replenish_package = body.auto_replenish_package
    await uow.session.flush()
    return next(p for p in await pools(uow, shop_id, 7) if p.carrier == carrier)


async def stock_events(uow: UnitOfWork, shop_id: str, limit: int) -> list[StockEventOut]:
    return [StockEventOut.model_validate(e) for e in await PoolRepository(uow.session).events(shop_id, limit)]


async def check_low_stock(uow: UnitOfWork) -> int:
    """Record low-stock crossings (once per crossing) and queue their handling. Returns crossings."""
    repo = PoolRepository(uow.session)
    crossings = 0
    for pool in await repo.all_with_threshold():
        available = await repo.available(pool.id)
        if available < pool.low_stock_threshold and pool.low_stock_since is None:
            since = datetime.now(UTC)
            await repo.set_low_stock_since(pool.id, since)
            await repo.add_event(
                StockEvent(
                    shop_id=pool.shop_id,
                    carrier=pool.carrier,
                    kind="low_stock",
                    available=available,
                    threshold=pool.low_stock_threshold,
                )
            )
            uow.enqueue(JOB_LOW_STOCK, pool_id=pool.id, since=since.isoformat())
            crossings += 1
        elif available >= pool.low_stock_threshold and pool.low_stock_since is not None:
            await repo.set_low_stock_since(pool.id, None)
    return crossings


async def replenish(uow: UnitOfWork, pool_id: int, since: str) -> str | None:
    """Auto-replenish through the ordinary purchase path; the key makes a repeated job harmless."""
    pools_repo = PoolRepository(uow.session)
    pool = await pools_repo.by_id(pool_id)
    if pool is None or pool.auto_replenish_package is None:
        return None
    if await PurchaseRepository(uow.session).pending_for_pool(pool_id):
        return None  # stock is already on its way
    body = PurchaseCreate(carrier=CarrierCode(pool.carrier), package_id=pool.auto_replenish_package)
    available = await pools_repo.available(pool.id)
    try:
        purchase, _ = await create_purchase(uow, pool.shop_id, body, f"auto-replenish:{pool.id}:{since}")
    except AppError as exc:
        await pools_repo.add_event(
            StockEvent(
                shop_id=pool.shop_id,
                carrier=pool.carrier,
                kind="replenish_failed",
                available=available,
                threshold=pool.low_stock_threshold,
            )
        )
        return exc.code
    await pools_repo.add_event(
        StockEvent(
            shop_id=pool.shop_id,
            carrier=pool.carrier,
            kind="replenish_ordered",
            available=available,
            threshold=pool.low_stock_threshold,
            purchase_id=purchase.id,
        )
    )
    return purchase.id


# --- purchase fulfilment (called by the worker) ---------------------------------------------------


async def find_purchase(uow: UnitOfWork, purchase_id: str) -> Purchase | None:
    return await PurchaseRepository(uow.session).get(purchase_id)


async def pending_purchase(uow: UnitOfWork, purchase_id: str) -> Purchase | None:
    purchase = await find_purchase(uow, purchase_id)
    return purchase if purchase is not None and purchase.status == "pending" else None


async def record_attempt(uow: UnitOfWork, purchase_id: str, error: str | None) -> None:
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=True)
    if purchase is not None:
        purchase.attempts += 1
        purchase.error = error
        await uow.session.flush()


def _label_may_exist(w: Waybill) -> bool:
    """A typed number counts as used once it was printed: printed and shipped, and voided, expired or
    quarantined after printing (the label may still be on a parcel). Allocated only, or voided, expired or
    quarantined without ever being printed, it is not: a purchase that receives it takes it over."""
    return w.ever_printed or S(w.status) in (S.PRINTED, S.SHIPPED)


@dataclass
class _Holders:
    """What the live rows already holding some of a purchase's numbers mean for it."""

    retry: list[str] = field(default_factory=list)  # released to the purchase: insert again
    taken: list[str] = field(default_factory=list)  # printed from a typed entry: credit the purchase
    duplicates: list[str] = field(default_factory=list)  # another purchase's: the courier issued it twice
    superseded: list[tuple[Waybill, str]] = field(default_factory=list)  # typed entries the purchase took over


async def _settle_holders(repo: WaybillRepository, numbers: list[str], out: _Holders) -> list[str]:
    """Lock the rows holding ``numbers`` and decide for each; returns the numbers to insert again."""
    holders = {w.number: (w, shop_id) for w, shop_id in await repo.lock_live(numbers)}
    retry: list[str] = []
    superseding: list[int] = []
    for n in numbers:
        holder = holders.get(n)
        if holder is None:
            retry.append(n)  # the holder lost it meanwhile (to another purchase): look again
        elif holder[0].source != "manual":
            out.duplicates.append(n)
        elif _label_may_exist(holder[0]):
            out.taken.append(n)
        else:
            superseding.append(holder[0].id)
            out.superseded.append(holder)
            retry.append(n)
    await repo.supersede(superseding)
    return retry


async def _notify_superseded(uow: UnitOfWork, superseded: list[tuple[Waybill, str]]) -> None:
    """Tell each shop which typed numbers (and for which orders) a purchase took over, on the events feed it
    already reads. Nothing about the purchase or its shop is in it."""
    pools = PoolRepository(uow.session)
    seen: dict[int, tuple[Pool, int]] = {}
    for w, shop_id in superseded:
        if w.pool_id not in seen:
            pool = await pools.by_id(w.pool_id)
            assert pool is not None
            seen[w.pool_id] = (pool, await pools.available(pool.id))
        pool, available = seen[w.pool_id]
        await pools.add_event(
            StockEvent(
                shop_id=shop_id,
                carrier=w.carrier,
                kind=EVENT_MANUAL_SUPERSEDED,
                available=available,
                threshold=pool.low_stock_threshold,
                number=w.number,
                order_ref=w.order_ref,
            )
        )


async def store_issued_numbers(
    uow: UnitOfWork, purchase_id: str, numbers: list[str], expires_at: datetime
) -> Purchase | None:
    """Store what the courier issued and complete the purchase. Safe to repeat: numbers already stored for
    this purchase are left as they are. A number that a live row already holds:

    - a typed (manual) entry never printed: the purchase takes the number into its pool; the entry becomes
      ``superseded`` and its shop gets a ``manual_superseded`` event;
    - a typed entry printed (or shipped, or voided after printing): the purchase does not get the number,
      since a label may be on a parcel; its row is kept ``superseded`` and the price paid for that number is
      credited (ledger ``number_taken_by_manual_entry``);
    - another purchase's number: the courier issued it twice; quarantined, as it always was.

    Races with typed entries of the same numbers are settled by the live-number unique index: a registration
    that commits first is seen here (the insert waits for it), one that comes later is refused."""
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=True)
    if purchase is None:
        return None
    repo = WaybillRepository(uow.session)
    unique = list(dict.fromkeys(numbers))

    async def insert(batch: list[str]) -> list[str]:
        result = await repo.insert_numbers(
            batch, carrier=purchase.carrier, pool_id=purchase.pool_id, purchase_id=purchase.id, expires_at=expires_at
        )
        return result.conflicting

    pending = await insert(unique)
    holders = _Holders()
    # Each round settles what the previous insert collided with; a third collision for the same number
    # would take two purchases racing for it, and is treated as the courier issuing it twice.
    for _ in range(3):
        if not pending:
            break
        retry = await _settle_holders(repo, pending, holders)
        pending = await insert(retry) if retry else []
    await _notify_superseded(uow, holders.superseded)
    if holders.taken:
        await _credit_taken(uow, purchase, holders.taken, expires_at)
    # A number repeated within one answer is as suspect as one we already had.
    repeated = [n for n, times in Counter(numbers).items() if times > 1]
    duplicates = list(dict.fromkeys(holders.duplicates + pending + repeated))
    if duplicates:
        await _credit_issued_twice(uow, purchase, holders.duplicates + pending, duplicates, expires_at)
        await repo.add_incidents(_incidents(purchase, duplicates, "issued by the courier but already known"))
    purchase.numbers_received = await repo.count_for_purchase(purchase.id)
    purchase.numbers_quarantined += len(duplicates)
    if purchase.status == "pending":
        PURCHASES.labels(purchase.carrier, "completed").inc()
        purchase.status = "completed"
        purchase.completed_at = datetime.now(UTC)
        purchase.error = None
    purchase.expires_at = expires_at if purchase.expires_at is None else max(purchase.expires_at, expires_at)
    await uow.session.flush()
    return purchase


async def _credit_taken(uow: UnitOfWork, purchase: Purchase, taken: list[str], expires_at: datetime) -> None:
    """The purchase paid for numbers a typed entry had already printed: keep a superseded row of each for the
    purchase (the record, and what makes a repeat skip them) and credit the price paid per number."""
    repo = WaybillRepository(uow.session)
    await _record_superseded(repo, purchase, taken, expires_at)
    note = f"{len(taken)} numbers issued to this purchase had already been printed from typed entries"
    await _credit(uow, purchase, len(taken), CREDIT_TAKEN_BY_MANUAL, note)
    reason = "issued by the courier after a typed entry had printed it; the purchase was credited"
    await repo.add_incidents(_incidents(purchase, taken, reason))


def _incidents(purchase: Purchase, numbers: list[str], reason: str) -> list[QuarantineIncident]:
    return [
        QuarantineIncident(
            number=n, carrier=purchase.carrier, shop_id=purchase.shop_id, purchase_id=purchase.id, reason=reason
        )
        for n in numbers
    ]


async def _credit_issued_twice(
    uow: UnitOfWork, purchase: Purchase, held_elsewhere: list[str], duplicates: list[str], expires_at: datetime
) -> None:
    """Numbers the courier issued twice are quarantined (neither holder can trust them), and whoever paid for
    one it can no longer use is credited at the price paid: this purchase for each it could not store (a
    superseded row records it, so a repeat skips it) and for each of its own rows taken out, and the other
    purchases whose available rows were taken out. Each is credited once: a repeat finds nothing new."""
    repo = WaybillRepository(uow.session)
    not_stored = list(dict.fromkeys(held_elsewhere))
    if not_stored:
        await _record_superseded(repo, purchase, not_stored, expires_at)
    taken_out = Counter(await repo.quarantine_available(duplicates))
    losers = {purchase.id: len(not_stored) + taken_out.pop(purchase.id, 0)}
    losers |= {pid: n for pid, n in sorted(taken_out.items()) if pid is not None}
    purchases = PurchaseRepository(uow.session)
    for pid, count in losers.items():
        paid = purchase if pid == purchase.id else await purchases.get(pid, for_update=True)
        if paid is None or count == 0:
            continue
        note = f"{count} numbers of this purchase were issued by the courier twice (quarantined)"
        await _credit(uow, paid, count, CREDIT_ISSUED_TWICE, note)


async def _record_superseded(
    repo: WaybillRepository, purchase: Purchase, numbers: list[str], expires_at: datetime
) -> None:
    """Rows of the purchase for numbers it paid for but cannot hold: the record, and what makes a repeat of
    the same courier answer skip them (they count as the purchase's own)."""
    await repo.insert_numbers(
        numbers,
        carrier=purchase.carrier,
        pool_id=purchase.pool_id,
        purchase_id=purchase.id,
        expires_at=expires_at,
        status=S.SUPERSEDED,
    )


async def _credit(uow: UnitOfWork, purchase: Purchase, count: int, kind: str, note: str) -> None:
    """Credit ``count`` numbers of the purchase at the price it paid (a ledger row when that is not 0)."""
    purchase.numbers_credited += count
    amount = _pay_back(purchase, count)
    if amount:
        await LedgerRepository(uow.session).apply(purchase.shop_id, amount, kind, purchase.id, note)


async def fail_and_refund(uow: UnitOfWork, purchase_id: str, error: str) -> bool:
    """A purchase the courier never fulfilled: mark it failed and give the money back, once."""
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=True)
    if purchase is None or purchase.status != "pending":
        return False
    PURCHASES.labels(purchase.carrier, "failed").inc()
    purchase.status = "failed"
    purchase.error = error
    purchase.completed_at = datetime.now(UTC)
    purchase.refunded_cents = purchase.price_cents
    await LedgerRepository(uow.session).apply(
        purchase.shop_id, purchase.price_cents, "purchase_refund", purchase.id, "courier did not issue the numbers"
    )
    await uow.session.flush()
    return True


async def expire_due(uow: UnitOfWork, limit: int) -> int:
    return await WaybillRepository(uow.session).expire_due(limit)


async def refresh_stock_gauges(uow: UnitOfWork, days: int) -> None:
    """Set the stock gauges from the database (the API process runs this periodically)."""
    available, expiring = await PoolRepository(uow.session).stock_by_carrier(datetime.now(UTC) + timedelta(days=days))
    _gauge_carriers.update(available)
    for carrier in _gauge_carriers:  # carriers that ran out go to 0 rather than vanishing
        POOL_AVAILABLE.labels(carrier).set(available.get(carrier, 0))
        POOL_EXPIRING.labels(carrier).set(expiring.get(carrier, 0))


_gauge_carriers: set[str] = set()
