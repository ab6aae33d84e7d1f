"""A number's lifecycle as the shop and the other services drive it: read, release, mark (one or many), and
the worker's upkeep (expiry, vacuum). Which status may move to which is ``services.allocation.lifecycle``."""

from __future__ import annotations

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from services.allocation.lifecycle import MARK_RULES, mark_target, public_state, release_target
from services.allocation.models import QuarantineIncident, Waybill, WaybillSource, WaybillStatus
from services.allocation.repository.statements import AllocationStatements
from services.allocation.repository.waybill_use import Use, WaybillUseRepository
from services.allocation.repository.waybills import WaybillRepository
from services.allocation.service import voids
from shared.allocation import (
    BatchMarkRequest,
    BatchMarkResult,
    MarkOutcome,
    MarkRequest,
    MarkState,
    ReleaseResult,
    VoidInfo,
    WaybillInfo,
    WaybillState,
)
from shared.carriers import CarrierCode
from shared.errors import ErrorCode


async def own_waybill(uow: UnitOfWork, shop_id: str, number: str, *, for_update: bool = False) -> Waybill:
    found = await WaybillRepository(uow.session).get(number.strip().upper(), shop_id, for_update=for_update)
    if found is None:
        raise NotFound(f"waybill {number} not found")
    return found


def _info(w: Waybill, void: VoidInfo | None = None) -> WaybillInfo:
    return WaybillInfo(
        number=w.number,
        carrier=CarrierCode(w.carrier),
        status=public_state(WaybillStatus(w.status)),
        order_id=w.order_ref,
        expires_at=w.expires_at,
        purchase_id=w.purchase_id,
        source=w.source,
        verified=w.source == WaybillSource.COURIER,
        allocated_at=w.allocated_at,
        void=void,
    )


def _invalid_transition(number: str, current: WaybillStatus, wanted: str) -> AppError:
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


def _incident(w: Waybill, shop_id: str, reason: str | None) -> QuarantineIncident:
    return QuarantineIncident(
        number=w.number,
        carrier=w.carrier,
        shop_id=shop_id,
        purchase_id=w.purchase_id,
        reason=reason or "reported unusable",
    )


async def get_waybill(uow: UnitOfWork, shop_id: str, number: str) -> WaybillInfo:
    w = await own_waybill(uow, shop_id, number)
    void = await voids.void_of(uow, w.id) if w.status == WaybillStatus.VOIDED else None
    return _info(w, void)


async def release(uow: UnitOfWork, shop_id: str, number: str, order_id: str | None) -> ReleaseResult:
    """Unprinted: back to the pool. Printed or shipped: voided (a physical label may exist), never reused; the
    courier is asked to cancel it after this commits, and the shop credited per the purchase's policy once it
    has (not when it had collected the parcel)."""
    w = await own_waybill(uow, shop_id, number, for_update=True)
    current = WaybillStatus(w.status)
    if current == WaybillStatus.VOIDED and (order_id is None or w.order_ref == order_id):
        # A repeated release: the void as it stands now (settled, once the courier has answered).
        return ReleaseResult(number=w.number, status=WaybillState.VOIDED, void=await voids.void_of(uow, w.id))
    target = release_target(current, WaybillSource(w.source))
    if target is None:
        raise _invalid_transition(w.number, current, "release it")
    _check_order(w, order_id)
    await WaybillRepository(uow.session).set_status(w.id, target, released=target == WaybillStatus.AVAILABLE)
    void = await voids.open_void(uow, w, shop_id) if target == WaybillStatus.VOIDED else None
    return ReleaseResult(number=w.number, status=public_state(target), void=void)


def _marked(w: Waybill, wanted: MarkState, order_id: str | None) -> WaybillStatus:
    """The status this mark moves the number to (its own for a repeat); raises the refusal."""
    current = WaybillStatus(w.status)
    target = mark_target(current, wanted)
    if target is None:
        raise _invalid_transition(w.number, current, f"mark it {wanted.value}")
    _check_order(w, order_id)
    return target


async def mark(uow: UnitOfWork, shop_id: str, number: str, body: MarkRequest) -> WaybillInfo:
    w = await own_waybill(uow, shop_id, number, for_update=True)
    target = _marked(w, body.status, body.order_id)
    first = w.status != target
    if first:
        repo = WaybillRepository(uow.session)
        await repo.set_status(w.id, target)
        if target == WaybillStatus.QUARANTINED:
            await repo.add_incidents([_incident(w, shop_id, body.reason)])
        w.status = int(target)
    if target == WaybillStatus.SHIPPED:
        await WaybillUseRepository(uow.session).record_shipped([Use(w.id, first, body.store_id, body.channel)])
    return _info(w)


async def mark_many(uow: UnitOfWork, shop_id: str, body: BatchMarkRequest) -> BatchMarkResult:
    """``mark`` for many numbers in one transaction: each number answers as the single mark would (a number
    another shop owns is not found), so one refused number does not hold the others back. Idempotent."""
    repo = WaybillRepository(uow.session)
    found = await repo.lock_many([i.number for i in body.items], shop_id)
    target = MARK_RULES[body.status].target
    changing: list[Waybill] = []
    uses: list[Use] = []
    results: list[MarkOutcome] = []
    for item in body.items:
        w = found.get(item.number)
        if w is None:
            error = f"waybill {item.number} not found"
            results.append(MarkOutcome(number=item.number, error_code=ErrorCode.NOT_FOUND, error=error))
            continue
        try:
            _marked(w, body.status, item.order_id)
        except AppError as exc:
            results.append(MarkOutcome(number=w.number, error_code=exc.code, error=exc.message))
            continue
        if w.status != target:
            changing.append(w)
        uses.append(Use(w.id, w.status != target, item.store_id, item.channel))
        results.append(MarkOutcome(number=w.number, status=public_state(target)))
    await repo.set_status_many([w.id for w in changing], target)
    if target == WaybillStatus.SHIPPED:
        await WaybillUseRepository(uow.session).record_shipped(uses)
    if target == WaybillStatus.QUARANTINED and changing:
        await repo.add_incidents([_incident(w, shop_id, body.reason) for w in changing])
    refused = sum(1 for r in results if r.error_code)
    return BatchMarkResult(status=body.status, marked=len(results) - refused, refused=refused, results=results)


async def expire_due(uow: UnitOfWork, limit: int) -> int:
    return await WaybillRepository(uow.session).expire_due(limit)


async def vacuum_waybills(stmts: AllocationStatements) -> None:
    """Allocation leaves a dead entry in the free-number index per number handed out; scans then wade through
    them and the rate halves within a minute. Autovacuum wakes at most once a minute (autovacuum_naptime), so
    the worker vacuums the table itself, often and cheaply."""
    await stmts.vacuum_waybills()
