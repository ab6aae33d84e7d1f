"""Numbers the seller typed (manual, unverified): validated, limited per shop, refused with one answer
whoever holds the number. A paid purchase wins over them (``fulfilment.store_issued_numbers``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from services.allocation.repository.catalogue import CatalogueRepository
from services.allocation.repository.pools import PoolRepository
from services.allocation.repository.waybills import WaybillRepository
from services.allocation.service.catalogue import rule_of
from shared.allocation import Allocation, ManualWaybillRequest
from shared.errors import ErrorCode
from shared.waybill import InvalidWaybillNumber

# A manual number's expiry is not known to us; the marketplace refuses it if the courier expired it.
MANUAL_VALIDITY = timedelta(days=365)


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
    number = await _valid_number(uow, body)
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
    await _check_limit(repo, shop_id, max_unverified)
    expires_at = datetime.now(UTC) + MANUAL_VALIDITY
    if not await repo.add_manual(
        number=number, carrier=body.carrier, pool_id=pool.id, order_ref=body.order_id, expires_at=expires_at
    ):
        raise _number_in_use(number)
    return Allocation(carrier=body.carrier, order_id=body.order_id, number=number, expires_at=expires_at, created=True)


async def _valid_number(uow: UnitOfWork, body: ManualWaybillRequest) -> str:
    """The number in its canonical form, checked against the carrier's rule (422 ``invalid_waybill``)."""
    carrier = await CatalogueRepository(uow.session).carrier(body.carrier)
    if carrier is None:
        raise NotFound(f"carrier {body.carrier} not found")
    try:
        return rule_of(carrier.number_rule).validate(body.number, carrier=body.carrier)
    except InvalidWaybillNumber as exc:
        raise AppError(
            f"{body.number} is not a valid {body.carrier} number: {exc.reason}",
            code=ErrorCode.INVALID_WAYBILL,
            status_code=422,
            details={"number": body.number, "carrier": body.carrier, "reason": exc.reason},
        ) from exc


async def _check_limit(repo: WaybillRepository, shop_id: str, max_unverified: int) -> None:
    held = await repo.open_manual_count(shop_id)
    if held >= max_unverified:
        raise AppError(
            f"the shop already holds {held} typed numbers not yet shipped, the most allowed; "
            "ship or release some before typing more",
            code=ErrorCode.MANUAL_LIMIT_REACHED,
            status_code=409,
            details={"limit": max_unverified, "held": held},
        )
