"""Allocation routes: a number's lifecycle (typed numbers, reads, release, marks)."""

from __future__ import annotations

from fastapi import APIRouter, status

from runtime.app import UowDep
from runtime.auth import InternalShopIdDep, ShopIdDep
from runtime.openapi import responses
from services.allocation.resources import AllocationResourcesDep
from services.allocation.service import manual, recipients, routes, waybills
from shared.allocation import (
    Allocation,
    BatchMarkRequest,
    BatchMarkResult,
    ManualWaybillRequest,
    MarkRequest,
    Recipient,
    RecipientUpdated,
    ReleaseRequest,
    ReleaseResult,
    WaybillInfo,
)
from shared.errors import ErrorBody, ErrorCode
from shared.routing import RoutesRequest, RoutesResult

router = APIRouter(prefix="/v1/waybills", tags=["waybills"])

_IN_USE_EXAMPLE = ErrorBody.of(
    ErrorCode.WAYBILL_IN_USE, "waybill EA123456785CN is already in use", {"number": "EA123456785CN"}
).model_dump(mode="json")
_MANUAL_LIMIT_EXAMPLE = ErrorBody.of(
    ErrorCode.MANUAL_LIMIT_REACHED,
    "the shop already holds 1000 typed numbers not yet shipped, the most allowed; ship or release some before "
    "typing more",
    {"limit": 1000, "held": 1000},
).model_dump(mode="json")


@router.post(
    "/manual",
    status_code=status.HTTP_201_CREATED,
    summary="Register a number the seller typed",
    description=(
        "For a number from a paper waybill or another system. Validated against the carrier's rule (422 "
        "`invalid_waybil"
        "l`), then kept as `source: manual`, `verified: false`: nobody vouches that the courier issued it "
        "to this shop.\n\n"
        "**A paid purchase wins.** When the courier later issues the number to a purchase (this shop's or "
        "another's) and no label was printed with it yet (allocated only, or voided, expired or quarantined "
        "without ever being printed), the purchase gets it and this entry becomes `superseded`; the shop sees "
        "a `manual_superseded` event with the number and order in `GET /v1/pools/events`, and the order can "
        "be given another number. Once printed or shipped (or voided after printing) the entry keeps the "
        "number; the purchase does not get it and is credited the price it paid for it.\n\n"
        "**Limit.** A shop holds at most `ALLOCATION_MANUAL_UNVERIFIED_MAX` (default 1000) typed numbers not "
        "yet shipped (allocated or printed); beyond it 409 `manual_limit_reached`. Shipping or releasing "
        "one frees its place.\n\n"
        "**Taken numbers.** A number already held (by anyone, in any state) answers 409 `waybill_in_use` with "
        "exactly the same status, code, message and details whether this shop holds it (on another order, in "
        "its pool) or another shop does: the answer says the number is taken, never by whom. Typed numbers "
        "are refused rather than accepted as unverified beside another shop's, since an accepted entry can be "
        "printed: any shop could then put other shops' numbers on its parcels. The same number for the same "
        "order is an idempotent repeat (201, `created: false`)."
    ),
    responses={
        **responses(404, 422),
        409: {
            "model": ErrorBody,
            "description": "The number is taken, the order has another number, or the shop is at its limit",
            "content": {
                "application/json": {
                    "examples": {
                        "waybill_in_use": {"summary": "Taken (whoever holds it)", "value": _IN_USE_EXAMPLE},
                        "manual_limit_reached": {
                            "summary": "Too many typed numbers not yet shipped",
                            "value": _MANUAL_LIMIT_EXAMPLE,
                        },
                    }
                }
            },
        },
    },
)
async def register_manual_waybill(
    body: ManualWaybillRequest, shop_id: ShopIdDep, uow: UowDep, res: AllocationResourcesDep
) -> Allocation:
    return await manual.register_manual(uow, shop_id, body, res.settings.manual_unverified_max)


@router.get(
    "/{number}",
    summary="One number's state",
    description=(
        "Status, order, expiry and origin of one of the shop's numbers: `source` `courier` (bought, "
        "`verified: true`) or `manual` (typed, `verified: false`). `superseded`: the shop lost the number "
        "to another entry (a typed number a purchase received before it was printed, or a purchased number "
        "a typed entry had already printed, which was credited). A number voided by a release has `void`: the "
        "courier's answer to its cancellation (`pending`, `discarded`, `collected`, `refused`, `not_sent`) and "
        "what it credited (see `POST /v1/waybills/{number}/release`). Another shop's number: 404."
    ),
    responses=responses(404),
)
async def get_waybill(number: str, shop_id: ShopIdDep, uow: UowDep) -> WaybillInfo:
    return await waybills.get_waybill(uow, shop_id, number)


_RELEASE_DOC = """Allocated and not printed: back to the pool (`void: null`). Any other status: 409
`invalid_transition`.

**Printed or shipped: voided before collection (回收单号)**, never reused (the database refuses any status
change of a voided number). Once this answer is committed the worker asks the courier to cancel the number
(`TMS_WAYBILL_DISCARD`), retrying while the courier cannot answer, and settles `void` with the answer:

- `discarded`: cancelled (or already cancelled, `waybill.already-discarded`); the shop is credited per the
  purchase's `void_credit` policy (the terms of the package when it was bought), at the price the purchase
  paid for that number: a ledger row of kind `void_credit`, reference the purchase, note
  `void credit: number 783456789013, policy full`. Credited once per number, however often the release or
  the worker's job is repeated.
- `collected`: the courier had already collected the parcel (`waybill.already-collected`): not credited.
  This is what settles a shipped number released after all: only the courier knows whether it has the parcel.
- `refused`: another refusal (`courier_code` says which): not credited.
- `not_sent`: a typed number: not the courier's to cancel for this shop, nothing to credit.

The first answer says `courier: pending`, `credited_cents: 0`; `GET /v1/waybills/{number}`, or the same
release again (a harmless repeat), shows the outcome once the courier has answered (usually within seconds).
The policy per carrier, as seeded (each package's is in `GET /v1/carriers`; unconfirmed terms, set per package):

| carriers | void_credit |
|---|---|
| YTO, ZTO, STO, YUNDA, JT, HTKY, UC, TTKDEX, EMS, EYB, POSTB | full (`{"percent": 100, "fee_cents": 0}`) |
| SF | full less 50 cents (`{"percent": 100, "fee_cents": 50}`) |
| ZJS, DBKD | 50% (`{"percent": 50, "fee_cents": 0}`) |
| JD | none (`{"percent": 0, "fee_cents": 0}`) |
"""


@router.post(
    "/{number}/release",
    summary="Release a number",
    description=_RELEASE_DOC,
    responses={
        200: {
            "description": "Back in the pool, or voided (with the courier's answer so far and the credit)",
            "content": {
                "application/json": {
                    "examples": {
                        "returned": {
                            "summary": "Not printed: back in the pool",
                            "value": {"number": "783456789012", "status": "available", "void": None},
                        },
                        "voided": {
                            "summary": "Printed: voided, the courier not asked yet",
                            "value": {
                                "number": "783456789013",
                                "status": "voided",
                                "void": {
                                    "courier": "pending",
                                    "courier_code": None,
                                    "credit_policy": "full",
                                    "credited_cents": 0,
                                    "voided_at": "2026-11-28T10:02:11Z",
                                    "settled_at": None,
                                },
                            },
                        },
                        "credited": {
                            "summary": "Repeated after the courier cancelled it: credited",
                            "value": {
                                "number": "783456789013",
                                "status": "voided",
                                "void": {
                                    "courier": "discarded",
                                    "courier_code": None,
                                    "credit_policy": "full",
                                    "credited_cents": 300,
                                    "voided_at": "2026-11-28T10:02:11Z",
                                    "settled_at": "2026-11-28T10:02:12Z",
                                },
                            },
                        },
                        "collected": {
                            "summary": "The courier had collected the parcel: not credited",
                            "value": {
                                "number": "783456789014",
                                "status": "voided",
                                "void": {
                                    "courier": "collected",
                                    "courier_code": "waybill.already-collected",
                                    "credit_policy": "full",
                                    "credited_cents": 0,
                                    "voided_at": "2026-11-28T10:02:11Z",
                                    "settled_at": "2026-11-28T10:02:12Z",
                                },
                            },
                        },
                    }
                }
            },
        },
        **responses(404, 409),
    },
)
async def release_waybill(
    number: str, shop_id: ShopIdDep, uow: UowDep, body: ReleaseRequest | None = None
) -> ReleaseResult:
    return await waybills.release(uow, shop_id, number, body.order_id if body else None)


@router.post(
    "/{number}/recipient",
    summary="Tell the courier a parcel's new receiver (services)",
    description=(
        "An address change before collection (改址): the courier's waybill records the new receiver "
        "(TMS_WAYBILL_UPDATE) and the number stays the same. A number not live (voided, expired...) or not the "
        "given order's: 409 `invalid_transition`; collected by the courier already: 409 `already_collected`; "
        "the courier not answering: 503 with Retry-After (the update is idempotent)."
    ),
    responses=responses(404, 409, 503),
)
async def update_waybill_recipient(
    number: str, body: Recipient, shop_id: ShopIdDep, res: AllocationResourcesDep
) -> RecipientUpdated:
    return await recipients.update_recipient(res, shop_id, number, body)


_ROUTES_DOC = """Each number's routing at its courier for the parcel's destination, for the label: `sort_code`
(三段码, the courier's `routeCode`, or its 大头笔 when it gives no route code), printed largest, and
`package_center` (集包地). Up to 1,000 of the shop's numbers per call, each with its receiver's province, city,
district and (optionally) street address; no name or phone is sent. The courier binds each number to that
destination (`TMS_WAYBILL_ROUTE`, grouped per carrier, 100 numbers a message); asking again is harmless.

Each number answers on its own, in the order asked: its `sort_code` and `package_center` (either may be null
when the courier gave none usable), or `error_code`: `not_found` (not one of the shop's numbers: another shop's
answers the same), `invalid_transition` (not allocated, printed or shipped), `already_collected` (the courier
has the parcel, bound for another destination), `upstream_error` (the courier refused it, or answered no
usable routing). The courier's strings are printed on labels and sent to printers: a value that is longer than
32 characters (a sort code) or 40 (a centre), or holds anything but letters, digits, spaces and `-_/.#()·`, is
dropped (null), never cut or patched.

A courier that cannot answer (down, busy) is asked once more after a short pause; still not answering: 503
`upstream_error` with `Retry-After`, for the whole call (retry it: binding is idempotent)."""


@router.post(
    "/routes",
    summary="The courier's sort code and consolidation centre for numbers' destinations",
    description=_ROUTES_DOC,
    responses=responses(422, 503),
)
async def get_waybill_routes(body: RoutesRequest, shop_id: ShopIdDep, res: AllocationResourcesDep) -> RoutesResult:
    return await routes.route_waybills(res, shop_id, body)


@router.post(
    "/batch-mark",
    summary="Record many numbers' progress at once (services)",
    description=(
        "Up to 1,000 numbers moved to one state (printed, shipped, quarantined, expired) in one transaction. "
        "Each number answers as `POST /v1/waybills/{number}/mark` would: its new status, or the error code "
        "(`not_found`, `invalid_transition`, `conflict`) for that number alone; the others are marked all the "
        "same. Repeating the call is harmless."
    ),
    responses=responses(403),
)
async def mark_waybills(body: BatchMarkRequest, shop_id: InternalShopIdDep, uow: UowDep) -> BatchMarkResult:
    return await waybills.mark_many(uow, shop_id, body)


@router.post(
    "/{number}/mark",
    summary="Record a number's progress (services)",
    description=(
        "printed, shipped, quarantined (the marketplace refused it as used or invalid) or expired. "
        "Repeating a mark is harmless."
    ),
    responses=responses(403, 404, 409),
)
async def mark_waybill(number: str, body: MarkRequest, shop_id: InternalShopIdDep, uow: UowDep) -> WaybillInfo:
    return await waybills.mark(uow, shop_id, number, body)
