"""Purchase fulfilment, run by the worker: what it needs of a purchase to ask the courier, the attempts,
storing what the courier issued (and settling numbers some live row already holds), and the refund of a
purchase the courier never fulfilled."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from runtime.db import UnitOfWork
from services.allocation.lifecycle import Claim, claim_on
from services.allocation.metrics import PURCHASES
from services.allocation.models import (
    LedgerKind,
    Purchase,
    PurchaseStatus,
    QuarantineIncident,
    StockEvent,
    StockEventKind,
    WaybillSource,
    WaybillStatus,
)
from services.allocation.repository.ledger import LedgerRepository
from services.allocation.repository.pools import PoolRepository, StockEventRepository
from services.allocation.repository.purchases import PurchaseRepository
from services.allocation.repository.waybills import Holder, WaybillRepository
from services.allocation.service.balance import credit

# Each round of storing settles what the previous insert collided with; a third collision for the same
# number would take two purchases racing for it, and is treated as the courier issuing it twice.
SETTLING_ROUNDS = 3


@dataclass(frozen=True)
class PurchaseTicket:
    """What the worker needs of a purchase to ask the courier, read in a transaction and used after it."""

    id: str
    shop_id: str
    carrier: str
    quantity: int
    validity_days: int
    status: PurchaseStatus


async def find_purchase(uow: UnitOfWork, purchase_id: str) -> PurchaseTicket | None:
    purchase = await PurchaseRepository(uow.session).get(purchase_id)
    if purchase is None:
        return None
    return PurchaseTicket(
        id=purchase.id,
        shop_id=purchase.shop_id,
        carrier=purchase.carrier,
        quantity=purchase.quantity,
        validity_days=purchase.validity_days,
        status=PurchaseStatus(purchase.status),
    )


async def pending_purchase(uow: UnitOfWork, purchase_id: str) -> PurchaseTicket | None:
    ticket = await find_purchase(uow, purchase_id)
    return ticket if ticket is not None and ticket.status == PurchaseStatus.PENDING else None


async def record_attempt(uow: UnitOfWork, purchase_id: str, error: str | None) -> None:
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=True)
    if purchase is not None:
        purchase.attempts += 1
        purchase.error = error
        await uow.session.flush()


@dataclass
class _Holders:
    """What the live rows already holding some of a purchase's numbers mean for it."""

    taken: list[str] = field(default_factory=list)  # printed from a typed entry: credit the purchase
    duplicates: list[str] = field(default_factory=list)  # another purchase's: the courier issued it twice
    superseded: list[Holder] = field(default_factory=list)  # typed entries the purchase took over
    # Still held by another row after every round: treated as issued twice.
    unsettled: list[str] = field(default_factory=list)


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
    holders = await _insert_settling_holders(repo, purchase, list(dict.fromkeys(numbers)), expires_at)
    await _notify_superseded(uow, holders.superseded)
    if holders.taken:
        await _credit_taken(uow, purchase, holders.taken, expires_at)
    duplicates = issued_twice(numbers, holders.duplicates + holders.unsettled)
    if duplicates:
        await _credit_issued_twice(uow, purchase, holders.duplicates + holders.unsettled, duplicates, expires_at)
        await repo.add_incidents(_incidents(purchase, duplicates, "issued by the courier but already known"))
    purchase.numbers_received = await repo.count_for_purchase(purchase.id)
    purchase.numbers_quarantined += len(duplicates)
    _complete(purchase, expires_at)
    await uow.session.flush()
    return purchase


def issued_twice(numbers: list[str], held_elsewhere: list[str]) -> list[str]:
    """The numbers to quarantine, once each in order: those another purchase holds, and any repeated within
    the courier's one answer (as suspect as one we already had)."""
    repeated = [n for n, times in Counter(numbers).items() if times > 1]
    return list(dict.fromkeys(held_elsewhere + repeated))


def _complete(purchase: Purchase, expires_at: datetime) -> None:
    if purchase.status == PurchaseStatus.PENDING:
        PURCHASES.labels(purchase.carrier, "completed").inc()
        purchase.status = PurchaseStatus.COMPLETED
        purchase.completed_at = datetime.now(UTC)
        purchase.error = None
    purchase.expires_at = expires_at if purchase.expires_at is None else max(purchase.expires_at, expires_at)


async def _insert_settling_holders(
    repo: WaybillRepository, purchase: Purchase, numbers: list[str], expires_at: datetime
) -> _Holders:
    async def insert(batch: list[str]) -> list[str]:
        return await repo.insert_numbers(
            batch, carrier=purchase.carrier, pool_id=purchase.pool_id, purchase_id=purchase.id, expires_at=expires_at
        )

    pending = await insert(numbers)
    holders = _Holders()
    for _ in range(SETTLING_ROUNDS):
        if not pending:
            break
        retry = await _settle_holders(repo, pending, holders)
        pending = await insert(retry) if retry else []
    holders.unsettled = pending
    return holders


async def _settle_holders(repo: WaybillRepository, numbers: list[str], out: _Holders) -> list[str]:
    """Lock the rows holding ``numbers`` and decide for each; returns the numbers to insert again."""
    holders = {h.waybill.number: h for h in await repo.lock_live(numbers)}
    retry: list[str] = []
    superseding: list[int] = []
    for n in numbers:
        holder = holders.get(n)
        if holder is None:
            retry.append(n)  # the holder lost it meanwhile (to another purchase): look again
            continue
        w = holder.waybill
        claim = claim_on(WaybillSource(w.source), WaybillStatus(w.status), w.ever_printed)
        if claim == Claim.ISSUED_TWICE:
            out.duplicates.append(n)
        elif claim == Claim.KEPT_BY_ENTRY:
            out.taken.append(n)
        else:
            superseding.append(w.id)
            out.superseded.append(holder)
            retry.append(n)
    await repo.supersede(superseding)
    return retry


async def _notify_superseded(uow: UnitOfWork, superseded: list[Holder]) -> None:
    """Tell each shop which typed numbers (and for which orders) a purchase took over, on the events feed it
    already reads. Nothing about the purchase or its shop is in it."""
    pools = PoolRepository(uow.session)
    events = StockEventRepository(uow.session)
    thresholds: dict[int, int] = {}
    available: dict[int, int] = {}
    for w, shop_id in superseded:
        if w.pool_id not in thresholds:
            pool = await pools.by_id(w.pool_id)
            assert pool is not None
            thresholds[w.pool_id] = pool.low_stock_threshold
            available[w.pool_id] = await pools.available(pool.id)
        await events.add(
            StockEvent(
                shop_id=shop_id,
                carrier=w.carrier,
                kind=StockEventKind.MANUAL_SUPERSEDED,
                available=available[w.pool_id],
                threshold=thresholds[w.pool_id],
                number=w.number,
                order_ref=w.order_ref,
            )
        )


async def _credit_taken(uow: UnitOfWork, purchase: Purchase, taken: list[str], expires_at: datetime) -> None:
    """The purchase paid for numbers a typed entry had already printed: keep a superseded row of each for the
    purchase (the record, and what makes a repeat skip them) and credit the price paid per number."""
    repo = WaybillRepository(uow.session)
    await _record_superseded(repo, purchase, taken, expires_at)
    note = f"{len(taken)} numbers issued to this purchase had already been printed from typed entries"
    await credit(uow, purchase, len(taken), LedgerKind.NUMBER_TAKEN_BY_MANUAL_ENTRY, note)
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
        await credit(uow, paid, count, LedgerKind.NUMBER_ISSUED_TWICE, note)


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
        status=WaybillStatus.SUPERSEDED,
    )


async def fail_and_refund(uow: UnitOfWork, purchase_id: str, error: str) -> bool:
    """A purchase the courier never fulfilled: mark it failed and give the money back, once."""
    purchase = await PurchaseRepository(uow.session).get(purchase_id, for_update=True)
    if purchase is None or purchase.status != PurchaseStatus.PENDING:
        return False
    PURCHASES.labels(purchase.carrier, "failed").inc()
    purchase.status = PurchaseStatus.FAILED
    purchase.error = error
    purchase.completed_at = datetime.now(UTC)
    purchase.refunded_cents = purchase.price_cents
    await LedgerRepository(uow.session).apply(
        purchase.shop_id,
        purchase.price_cents,
        LedgerKind.PURCHASE_REFUND,
        purchase.id,
        "courier did not issue the numbers",
    )
    await uow.session.flush()
    return True
