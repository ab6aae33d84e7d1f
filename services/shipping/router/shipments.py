"""Shipments and their labels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from services.shipping.schemas.shipments import ShipmentOut
from services.shipping.service import cancellation, label_pdfs, shipments
from shared.pages import Page

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])


@router.get(
    "",
    summary="Recent shipments",
    description="Newest first, optionally for one order (`order_id`): carrier, number, status and attempts.",
)
async def list_shipments(
    shop_id: ShopIdDep,
    uow: UowDep,
    page: Annotated[PageRequest, Depends(page_params(100, 1000))],
    order_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ShipmentOut]:
    return await shipments.recent_shipments(uow, shop_id, order_id, page)


@router.get(
    "/{shipment_id}",
    summary="One shipment",
    description=(
        "Status (pending, confirming, confirmed, failed, cancelled), the numbers tried in `history`, "
        "the marketplace's last error and how many labels were printed. Another shop's: 404."
    ),
    responses=responses(404),
)
async def get_shipment(shipment_id: str, shop_id: ShopIdDep, uow: UowDep) -> ShipmentOut:
    return await shipments.get_shipment(uow, shop_id, shipment_id)


@router.post(
    "/{shipment_id}/cancel",
    summary="Cancel a shipment before it is confirmed",
    description="The order goes back to paid and the number is released (voided, since its label was printed).",
    responses=responses(404, 409),
)
async def cancel_shipment(shipment_id: str, shop_id: ShopIdDep, uow: UowDep) -> ShipmentOut:
    return await shipments.shipment_view(uow, await cancellation.cancel_shipment(uow, shop_id, shipment_id))


@router.get(
    "/{shipment_id}/parcels/{seq}/label.pdf",
    summary="One parcel's label (PDF, 100 x 150 mm)",
    description=(
        "The label of parcel `seq` (1-based) alone, to reprint one box of a multi-parcel shipment. Counted as a "
        "print of the parcel and of the shipment."
    ),
    responses={**responses(404), 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def get_parcel_label(
    shipment_id: str, seq: Annotated[int, Path(ge=1, le=1000)], shop_id: ShopIdDep, uow: UowDep
) -> Response:
    return _pdf(await label_pdfs.parcel_label(uow, shop_id, shipment_id, seq))


def _pdf(found: label_pdfs.LabelFile) -> Response:
    return Response(
        found.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{found.filename}"', "X-Label-Prints": str(found.prints)},
    )


@router.get(
    "/{shipment_id}/label.pdf",
    summary="The shipment's labels (PDF, 100 x 150 mm, a page per parcel)",
    description=(
        "Code 128 barcode of the number, carrier, sender, receiver, order id, weight; a multi-parcel shipment has a "
        "page per parcel, marked 第 i/n 件 (母单/子单 for multi-piece freight). Every print is counted."
    ),
    responses={**responses(404), 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def get_shipment_label(shipment_id: str, shop_id: ShopIdDep, uow: UowDep) -> Response:
    return _pdf(await label_pdfs.shipment_label(uow, shop_id, shipment_id))
