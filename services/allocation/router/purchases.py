"""Allocation routes: purchases of waybill numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from services.allocation.schemas.purchases import ExtendOut, ExtendRequest, PurchaseCreate, PurchaseOut, RefundOut
from services.allocation.service import purchases
from shared.errors import ErrorBody, ErrorCode
from shared.pages import Page

router = APIRouter(prefix="/v1/purchases", tags=["purchases"])

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
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Buy a package of waybill numbers",
    description=(
        "Debits the balance at once and asks the courier for the numbers in the background; the purchase is "
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
    "",
    summary="Recent purchases",
    description="The shop's purchases, newest first, with their status and the numbers received so far.",
)
async def list_purchases(
    shop_id: ShopIdDep, uow: UowDep, page: Annotated[PageRequest, Depends(page_params(50, 500))]
) -> Page[PurchaseOut]:
    return await purchases.list_purchases(uow, shop_id, page)


@router.get(
    "/{purchase_id}",
    summary="One purchase",
    description="Poll this after buying: `pending` until the courier delivers the numbers. Another shop's: 404.",
    responses=responses(404),
)
async def get_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> PurchaseOut:
    return await purchases.get_purchase(uow, shop_id, purchase_id)


@router.post(
    "/{purchase_id}/resync",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Reconcile a purchase with the courier",
    description="Queues a check of what the courier recorded for this purchase and stores numbers that did not arrive.",
    responses=responses(404, 409),
)
async def resync_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> PurchaseOut:
    return await purchases.request_resync(uow, shop_id, purchase_id)


@router.post(
    "/{purchase_id}/refund",
    summary="Refund unused numbers",
    description=(
        "Voids the purchase's unexpired numbers that were never handed out and credits their share of the "
        "price (ledger kind `refund`, note `N numbers never handed out`). A number that was allocated and then "
        "released is back in the pool but is not unused: it is not refunded and stays available to the shop. "
        "Refunds and credits share running totals (`refunded_quantity`, `refunded_cents`): each number is paid "
        "back at most once, at the price paid per number, rounded down. Repeating it refunds nothing more.\n\n"
        'Example: 1,000 numbers for 280000 cents, 250 allocated of which 50 released: `{"refunded_quantity": '
        '750, "refunded_cents": 210000}`; the 50 released numbers stay `available`.'
    ),
    responses=responses(404, 409),
)
async def refund_purchase(purchase_id: str, shop_id: ShopIdDep, uow: UowDep) -> RefundOut:
    return await purchases.refund_purchase(uow, shop_id, purchase_id)


@router.post(
    "/{purchase_id}/extend",
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
