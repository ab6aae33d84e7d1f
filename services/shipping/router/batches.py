"""Shipping thousands of orders at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from runtime.params import Offset
from services.shipping.label_formats import DEFAULT_DPI
from services.shipping.resources import ShippingResourcesDep
from services.shipping.router.label_answers import (
    LABEL_ERRORS,
    NEGOTIATED,
    NEGOTIATION,
    PDF_ANSWER,
    ZPL_ANSWER,
    asked,
    zpl,
)
from services.shipping.schemas.batches import BatchCreate, BatchItemOut, BatchOut, BatchSummaryOut
from services.shipping.schemas.labels import DpiQuery, SizeQuery
from services.shipping.service import batches, label_pdfs
from services.shipping.service.label_pdfs import LabelAsk
from shared.pages import Page

router = APIRouter(prefix="/v1/shipment-batches", tags=["batches"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ship up to 10,000 orders",
    description=(
        "Answers at once with the batch; workers ship it in chunks (batch allocation, labels, confirmations). "
        "Orders that are not paid any more (shipped or being shipped by another request or batch, cancelled) "
        "are skipped, so resubmitting a batch or overlapping batches never ship an order twice."
    ),
    responses=responses(422),
)
async def create_batch(body: BatchCreate, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep) -> BatchOut:
    return await batches.create_batch(uow, res.settings, shop_id, body)


@router.get(
    "",
    summary="The shop's batches",
    description="Newest first, each with its progress (the per-order results are at `/{batch_id}/items`).",
)
async def list_batches(
    shop_id: ShopIdDep, uow: UowDep, page: Annotated[PageRequest, Depends(page_params(50, 500))]
) -> Page[BatchSummaryOut]:
    return await batches.list_batches(uow, shop_id, page)


@router.get(
    "/{batch_id}/items",
    summary="A batch's per-order results",
    description="In the order the batch was given; filter by item `status` (`shipped`, `failed`, `skipped`...).",
    responses=responses(404),
)
async def list_batch_items(
    batch_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    page: Annotated[PageRequest, Depends(page_params(1000, 10_000))],
    item_status: Annotated[str | None, Query(alias="status")] = None,
) -> Page[BatchItemOut]:
    return await batches.batch_items(uow, shop_id, batch_id, item_status, page)


@router.get(
    "/{batch_id}",
    summary="A batch's progress and per-order results",
    description=(
        "total, done (confirmed), failed, skipped, pending, and the first `limit` per-order results in `items` "
        "(`offset` until 0.3.0; page through them at `/{batch_id}/items`)."
    ),
    responses=responses(404),
)
async def get_batch(
    batch_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    item_status: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 1000,
    offset: Offset = 0,
) -> BatchOut:
    return await batches.batch_view(uow, shop_id, batch_id, item_status, limit, offset)


BATCH_LABELS = (
    "Pages are produced as they are sent, a few hundred at a time, so any batch size fits in memory. Each "
    "label at the shop's size for its carrier unless `size` names one for all."
)


@router.get(
    "/{batch_id}/labels.pdf",
    summary="Every label of a batch in one PDF (streamed)",
    description=BATCH_LABELS,
    responses={**LABEL_ERRORS, **PDF_ANSWER},
    response_class=StreamingResponse,
)
async def get_batch_labels(
    batch_id: str, shop_id: ShopIdDep, uow: UowDep, res: ShippingResourcesDep, size: SizeQuery = None
) -> StreamingResponse:
    return _streamed(await label_pdfs.batch_labels(uow, res, shop_id, batch_id, LabelAsk(size=size)))


@router.get(
    "/{batch_id}/labels.zpl",
    summary="Every label of a batch as one ZPL II job (streamed)",
    description=(
        BATCH_LABELS + " One job prints on one roll: every label at `size`, else the shop's size for the "
        "batch's carrier. Each character's graphic is stored on the printer once per job."
    ),
    responses={**LABEL_ERRORS, **ZPL_ANSWER},
    response_class=StreamingResponse,
)
async def get_batch_labels_zpl(
    batch_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    res: ShippingResourcesDep,
    size: SizeQuery = None,
    dpi: DpiQuery = DEFAULT_DPI,
) -> StreamingResponse:
    return _streamed(await label_pdfs.batch_labels(uow, res, shop_id, batch_id, zpl(size, dpi)))


@router.get(
    "/{batch_id}/labels",
    summary="Every label of a batch, PDF or ZPL as Accept asks (streamed)",
    description=BATCH_LABELS + NEGOTIATION,
    responses={**LABEL_ERRORS, **NEGOTIATED},
    response_class=StreamingResponse,
)
async def get_batch_labels_as(
    batch_id: str,
    shop_id: ShopIdDep,
    uow: UowDep,
    res: ShippingResourcesDep,
    request: Request,
    size: SizeQuery = None,
    dpi: DpiQuery = DEFAULT_DPI,
) -> StreamingResponse:
    ask = asked(request.headers.get("accept"), size, dpi)
    return _streamed(await label_pdfs.batch_labels(uow, res, shop_id, batch_id, ask), negotiated=True)


def _streamed(found: label_pdfs.BatchLabels, *, negotiated: bool = False) -> StreamingResponse:
    headers = {"Content-Disposition": f'inline; filename="{found.filename}"'}
    if negotiated:
        headers["Vary"] = "Accept"
    return StreamingResponse(found.pages, media_type=found.media_type, headers=headers)
