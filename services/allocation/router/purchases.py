"""Allocation routes: purchases of waybill numbers (buying, refunds, extensions), and the shop's expiry
settings (what happens to its numbers before they expire)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.errors import AppError
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from services.allocation.resources import AllocationResourcesDep
from services.allocation.schemas.expiry import ExpirySettingsIn, ExpirySettingsOut
from services.allocation.schemas.purchases import (
    ExtendOut,
    ExtendRequest,
    PurchaseCreate,
    PurchaseOut,
    RefundOut,
    RefundRequest,
)
from services.allocation.service import expiry_settings, purchases, refunds
from shared.errors import ErrorBody, ErrorCode
from shared.pages import Page

# No prefix: the shop's expiry settings (what happens to a purchase's numbers before they expire) are here too.
router = APIRouter(tags=["purchases"])
PURCHASES = "/v1/purchases"

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description="Unique per purchase attempt; repeat it to retry safely.",
    ),
]


@router.post(
    PURCHASES,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Buy a package of waybill numbers",
    description=(
        "Debits the balance at once (the shop's negotiated price of the package when one is in force, else the "
        "catalogue's: `price_source` and `shop_price_id` say which) and asks the courier for the numbers in "
        "the background; the purchase is "
        "`pending` until they arrive, then `completed`, or `failed` (and refunded) if the courier never issues "
        "them. Requires an `Idempotency-Key`: repeating it with the same body returns the same purchase (200), "
        "with a different body answers 409 `idempotency_conflict`."
    ),
    responses={
        200: {"model": PurchaseOut, "description": "The same Idempotency-Key and body again: the purchase it made"},
        **responses(402, 404, 409),
    },
)
async def create_purchase(
    body: PurchaseCreate, key: IdempotencyKey, shop_id: ShopIdDep, uow: UowDep, response: Response
) -> PurchaseOut:
    outcome = await purchases.create_purchase(uow, shop_id, body, key)
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    return outcome.purchase


@router.get(
    PURCHASES,
    summary="Recent purchases",
    description="The shop's purchases, newest first, with their status and the numbers received so far.",
)
async def list_purchases(
    shop_id: ShopIdDep, uow: UowDep, page: Annotated[PageRequest, Depends(page_params(50, 500))]
) -> Page[PurchaseOut]:
    return await purchases.list_purchases(uow, shop_id, page)


@router.get(
    PURCHASES + "/{purchase_id}",
    summary="One purchase",
    description="Poll this after buying: `pending` until the courier delivers the numbers. Another shop's: 404.",
    responses=responses(404),
)
async def get_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> PurchaseOut:
    return await purchases.get_purchase(uow, shop_id, purchase_id)


@router.post(
    PURCHASES + "/{purchase_id}/resync",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Reconcile a purchase with the courier",
    description="Queues a check of what the courier recorded for this purchase and stores numbers that did not arrive.",
    responses=responses(404, 409),
)
async def resync_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> PurchaseOut:
    return await purchases.request_resync(uow, shop_id, purchase_id)


OptionalIdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description="Unique per refund attempt; repeat it to retry safely. Required with `count`.",
    ),
]


@router.post(
    PURCHASES + "/{purchase_id}/refund",
    summary="Refund unused numbers, all or a count",
    description=(
        "Voids the purchase's unexpired numbers that were never handed out and credits their share of the "
        "price (ledger kind `refund`, note `N numbers never handed out`). A number that was allocated and then "
        "released is back in the pool but is not unused: it is not refunded and stays available to the shop. "
        "Refunds and credits share running totals (`refunded_quantity`, `refunded_cents`): each number is paid "
        "back at most once, at the price paid per number, rounded down. Without a body, repeating it refunds "
        "nothing more.\n\n"
        '`{"count": N}` refunds exactly N of them, atomically (note `partial refund of N: N numbers never '
        "handed out (M left unused)`): the ones the pool would hand out last (latest expiry first), so the "
        "numbers about to be used stay. Fewer than N unused: 409 `not_enough_unused` (`details.unused`), "
        "nothing refunded; two partial refunds of one purchase take turns, never refunding more than is "
        "unused. A count needs an `Idempotency-Key` (422 without): repeating the key with the same body "
        "answers the first refund again instead of refunding N more; with another body, 409 "
        "`idempotency_conflict`. A key is accepted without a count too.\n\n"
        'Example: 1,000 numbers for 280000 cents, 250 allocated of which 50 released: `{"refunded_quantity": '
        '750, "refunded_cents": 210000}`; the 50 released numbers stay `available`. With `{"count": 200}` '
        'instead: `{"refunded_quantity": 200, "refunded_cents": 56000}`, 550 left unused.'
    ),
    responses={
        **responses(404, 422),
        409: {
            "model": ErrorBody,
            "description": (
                "Not completed (`conflict`), fewer unused numbers than `count` (`not_enough_unused`), or the "
                "key used with another request (`idempotency_conflict`)"
            ),
            "content": {
                "application/json": {
                    "examples": {
                        "not_enough_unused": {
                            "summary": "Fewer numbers unused than the count asked",
                            "value": ErrorBody.of(
                                ErrorCode.NOT_ENOUGH_UNUSED,
                                "purchase p-3f9c2a1b7d4e6f80 has 150 unused numbers, fewer than the 200 asked "
                                "to refund",
                                {"purchase_id": "p-3f9c2a1b7d4e6f80", "requested": 200, "unused": 150},
                            ).model_dump(mode="json"),
                        }
                    }
                }
            },
        },
    },
)
async def refund_purchase(
    purchase_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    key: OptionalIdempotencyKey = None,
    body: RefundRequest | None = None,
) -> RefundOut:
    count = body.count if body is not None else None
    if count is not None and key is None:
        raise AppError(
            "a refund of a count needs an Idempotency-Key (a repeat would refund the count again)",
            status_code=422,
            details={"field": "Idempotency-Key"},
        )
    return await refunds.refund_purchase(uow, shop_id, purchase_id, count, key)


@router.post(
    PURCHASES + "/{purchase_id}/extend",
    summary="Extend validity for a fee",
    description=(
        "Pushes back the expiry of the purchase's usable numbers (available or allocated, not expired); "
        "the fee is the package's per-30-days fee, pro rata, rounded up (ledger kind `extension`, note "
        "`+N days for M usable numbers`). When no number can still be used (all printed, shipped, voided, "
        "refunded, expired or superseded) it answers 409 `no_usable_numbers` and charges nothing."
    ),
    responses={
        **responses(402, 404),
        409: {
            "model": ErrorBody,
            "description": "Not completed (`conflict`), or nothing left to extend (`no_usable_numbers`)",
            "content": {
                "application/json": {
                    "examples": {
                        "no_usable_numbers": {
                            "summary": "No number of the purchase can still be used",
                            "value": ErrorBody.of(
                                ErrorCode.NO_USABLE_NUMBERS,
                                "no number of purchase p-3f9c2a1b7d4e6f80 can still be used (printed, shipped, "
                                "voided, refunded, expired or superseded); there is nothing to extend",
                                {"purchase_id": "p-3f9c2a1b7d4e6f80"},
                            ).model_dump(mode="json"),
                        }
                    }
                }
            },
        },
    },
)
async def extend_purchase(purchase_id: str, body: ExtendRequest, shop_id: ShopIdDep, uow: UowDep) -> ExtendOut:
    return await purchases.extend_purchase(uow, shop_id, purchase_id, body.days)


# --- the shop's expiry settings (what happens to its numbers before they expire) -----------------------

_WHAT = (
    "`expiring_notice_days` before a purchase's unused numbers expire (default 7; 0: never) the shop gets an "
    "`expiring` event (`GET /v1/pools/events`) and the `purchase.expiring` webhook, once per purchase and expiry "
    "date. `action_lead_hours` before they expire, `on_expiry` acts: `nothing` (the default), `extend` (by "
    "`auto_extend_days`, for the package's fee: ledger `auto_extension`, event `auto_extended`; a balance too "
    "low: event and webhook `auto_extend_failed`, tried again until the numbers expire) or `refund` (the numbers "
    "never handed out, as the refund endpoint does: ledger `auto_refund`, event `auto_refunded`)."
)


@router.get("/v1/expiry-settings", summary="The shop's expiry settings", description=_WHAT, responses=responses(404))
async def get_expiry_settings(shop_id: ShopIdDep, uow: UowDep, res: AllocationResourcesDep) -> ExpirySettingsOut:
    return await expiry_settings.get_settings(uow, shop_id, res.settings.expiry_action_lead_hours)


@router.put(
    "/v1/expiry-settings",
    summary="Set the shop's expiry settings",
    description=_WHAT + " Only the fields sent change.",
    responses=responses(404, 422),
)
async def put_expiry_settings(
    body: ExpirySettingsIn, shop_id: ShopIdDep, uow: UowDep, res: AllocationResourcesDep
) -> ExpirySettingsOut:
    return await expiry_settings.put_settings(uow, shop_id, body, res.settings.expiry_action_lead_hours)
