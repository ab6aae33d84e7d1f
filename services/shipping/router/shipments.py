"""Shipments and their labels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from services.shipping.label_formats import DEFAULT_DPI
from services.shipping.resources import ShippingResourcesDep
from services.shipping.router.label_answers import (
    LABEL_ERRORS,
    NEGOTIATED,
    NEGOTIATION,
    PDF_ANSWER,
    ZPL_ANSWER,
    asked,
    label_file,
    zpl,
)
from services.shipping.schemas.labels import DpiQuery, SizeQuery
from services.shipping.schemas.shipments import ChangeNumbersRequest, ShipmentOut, VoidRequest
from services.shipping.service import cancellation, label_pdfs, number_changes, shipments, voids
from services.shipping.service.label_pdfs import LabelAsk
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


@router.post(
    "/{shipment_id}/void",
    summary="Void a shipment's labels before collection (回收单号)",
    description=(
        "Every parcel's number is voided (the courier is told; the shop is credited per the package's policy, see "
        "the carrier catalogue) and never used again; the order goes back to paid, to ship again. A shipment not "
        "yet confirmed, or confirmed to the shop's own systems (told by the `shipment.voided` webhook). A parcel "
        "the courier collected: 409 `already_collected`. Confirmed on a marketplace, which cannot take a "
        "confirmation back: 409 `cannot_withdraw`, change the numbers instead. Voided already: the same answer."
    ),
    responses=responses(404, 409),
)
async def void_shipment(
    shipment_id: str, shop_id: ShopIdDep, uow: UowDep, body: VoidRequest | None = None
) -> ShipmentOut:
    reason = (body or VoidRequest()).reason
    return await shipments.shipment_view(uow, await voids.void_shipment(uow, shop_id, shipment_id, reason))


@router.post(
    "/{shipment_id}/change-numbers",
    summary="Change a confirmed shipment's numbers (换单号)",
    description=(
        "Every parcel gets a new number from the pool; the marketplace is told them in place of the old ones "
        "(Taobao `taobao.logistics.consign.resend`, Pinduoduo `pdd.logistics.online.send` with "
        "`redelivery_type=2`; the shop's own channel by the `shipment.numbers_changed` webhook); the old numbers "
        "are voided and credited per the package's policy, tracking follows the new ones, and the labels are "
        "printed again. Only before collection (409 `already_collected`); a refusal by the marketplace: 409 with "
        "its code, the new numbers given back."
    ),
    responses=responses(404, 409, 503),
)
async def change_numbers(
    shipment_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    res: ShippingResourcesDep,
    body: ChangeNumbersRequest | None = None,
) -> ShipmentOut:
    carrier = body.carrier.value if body and body.carrier else None
    changed = await number_changes.change_numbers(res, shop_id, shipment_id, carrier)
    return await shipments.get_shipment(uow, shop_id, changed.id)


SHIPMENT_LABEL = (
    "Carrier, the courier's sort code (三段码) largest, the consolidation centre, a Code 128 barcode of the "
    "number, receiver, sender, order id, store, weight; a multi-parcel shipment has a page per parcel, marked "
    "第 i/n 件 (母单/子单 for multi-piece freight). At the shop's size for the carrier (`label_sizes`, else "
    "`label_size`) unless `size` names one; privacy labels (the shop's `privacy_labels`, on by default) mask the "
    "receiver's name and phone (张*, 138****5678). Every print is counted."
)
PARCEL_LABEL = (
    "The label of parcel `seq` (1-based) alone, to reprint one box of a multi-parcel shipment. Counted as a "
    "print of the parcel and of the shipment. At the shop's size for the carrier unless `size` names one."
)
ZPL = (
    " ZPL II for Zebra-language thermal printers at `dpi`, every character drawn as a stored graphic (so the "
    "printer needs no Chinese font)."
)
Seq = Annotated[int, Path(ge=1, le=1000)]


@router.get(
    "/{shipment_id}/label.pdf",
    summary="The shipment's labels (PDF, a page per parcel)",
    description=SHIPMENT_LABEL + " The font is embedded: any viewer or printer shows the Chinese.",
    responses={**LABEL_ERRORS, **PDF_ANSWER},
    response_class=Response,
)
async def get_shipment_label(shipment_id: str, shop_id: ShopIdDep, uow: UowDep, size: SizeQuery = None) -> Response:
    return label_file(await label_pdfs.shipment_label(uow, shop_id, shipment_id, LabelAsk(size=size)))


@router.get(
    "/{shipment_id}/label.zpl",
    summary="The shipment's labels (ZPL II, a label per parcel)",
    description=SHIPMENT_LABEL + ZPL,
    responses={**LABEL_ERRORS, **ZPL_ANSWER},
    response_class=Response,
)
async def get_shipment_label_zpl(
    shipment_id: str, shop_id: ShopIdDep, uow: UowDep, size: SizeQuery = None, dpi: DpiQuery = DEFAULT_DPI
) -> Response:
    return label_file(await label_pdfs.shipment_label(uow, shop_id, shipment_id, zpl(size, dpi)))


@router.get(
    "/{shipment_id}/label",
    summary="The shipment's labels, PDF or ZPL as Accept asks",
    description=SHIPMENT_LABEL + NEGOTIATION,
    responses={**LABEL_ERRORS, **NEGOTIATED},
    response_class=Response,
)
async def get_shipment_label_as(
    shipment_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    request: Request,
    size: SizeQuery = None,
    dpi: DpiQuery = DEFAULT_DPI,
) -> Response:
    ask = asked(request.headers.get("accept"), size, dpi)
    return label_file(await label_pdfs.shipment_label(uow, shop_id, shipment_id, ask), negotiated=True)


@router.get(
    "/{shipment_id}/parcels/{seq}/label.pdf",
    summary="One parcel's label (PDF)",
    description=PARCEL_LABEL,
    responses={**LABEL_ERRORS, **PDF_ANSWER},
    response_class=Response,
)
async def get_parcel_label(
    shipment_id: str, seq: Seq, shop_id: ShopIdDep, uow: UowDep, size: SizeQuery = None
) -> Response:
    return label_file(await label_pdfs.parcel_label(uow, shop_id, shipment_id, seq, LabelAsk(size=size)))


@router.get(
    "/{shipment_id}/parcels/{seq}/label.zpl",
    summary="One parcel's label (ZPL II)",
    description=PARCEL_LABEL + ZPL,
    responses={**LABEL_ERRORS, **ZPL_ANSWER},
    response_class=Response,
)
async def get_parcel_label_zpl(
    shipment_id: str, seq: Seq, shop_id: ShopIdDep, uow: UowDep, size: SizeQuery = None, dpi: DpiQuery = DEFAULT_DPI
) -> Response:
    return label_file(await label_pdfs.parcel_label(uow, shop_id, shipment_id, seq, zpl(size, dpi)))


@router.get(
    "/{shipment_id}/parcels/{seq}/label",
    summary="One parcel's label, PDF or ZPL as Accept asks",
    description=PARCEL_LABEL + NEGOTIATION,
    responses={**LABEL_ERRORS, **NEGOTIATED},
    response_class=Response,
)
async def get_parcel_label_as(
    shipment_id: str,
    seq: Seq,
    shop_id: ShopIdDep,
    uow: UowDep,
    request: Request,
    size: SizeQuery = None,
    dpi: DpiQuery = DEFAULT_DPI,
) -> Response:
    ask = asked(request.headers.get("accept"), size, dpi)
    return label_file(await label_pdfs.parcel_label(uow, shop_id, shipment_id, seq, ask), negotiated=True)
