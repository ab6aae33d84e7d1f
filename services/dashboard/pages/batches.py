"""Batches, from shipping's batch list (GET /v1/shipment-batches): their progress, one batch's per-order
results and its labels in one PDF. A batch still processing is polled: the page's small script asks its
counts (``/progress``) every 2 s and reloads the page once it completes; without script, a meta refresh
reloads the page instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from waybill_client import WaybillError
from waybill_client.models import BatchItemOut, BatchOut, BatchSummaryOut

from services.dashboard import web
from services.dashboard.api import Panel, paged
from services.dashboard.pages.shipments import pdf_response
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

ITEMS_SHOWN = 100
REFRESH_S = 2


def percent(batch: BatchOut | BatchSummaryOut) -> int:
    finished = batch.done + batch.failed + batch.skipped
    return 100 if batch.total == 0 else min(100, finished * 100 // batch.total)


@router.get("/shops/{shop_id}/batches")
async def batches(request: Request, shop_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    listed = await paged(access.client.list_batches(limit=web.state(request).settings.batches_shown, cursor=cursor))
    processing = any(b.status != "completed" for b in listed.data or [])
    return web.render(
        request,
        "batches.html",
        access=access,
        batches=listed,
        cursor=cursor,
        percent=percent,
        refresh=REFRESH_S * 2 if processing else None,
        tab="batches",
    )


@dataclass
class BatchView:
    batch: BatchOut
    items: Panel[list[BatchItemOut]]
    cursor: str | None

    @property
    def percent(self) -> int:
        return percent(self.batch)


@router.get("/shops/{shop_id}/batches/{batch_id}")
async def batch(request: Request, shop_id: str, batch_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    try:
        found = await access.client.get_batch(batch_id, limit=0)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    items = await paged(access.client.list_batch_items(batch_id, limit=ITEMS_SHOWN, cursor=cursor))
    view = BatchView(found, items, cursor)
    poll = REFRESH_S if found.status != "completed" else None
    return web.render(request, "batch.html", access=access, view=view, poll=poll, tab="batches")


@router.get("/shops/{shop_id}/batches/{batch_id}/progress")
async def progress(request: Request, shop_id: str, batch_id: str) -> Response:
    """A batch's counts alone, for the batch page's script to poll (one small call, not the whole page)."""
    access = await web.shop_page(request, shop_id, zone=False)
    if isinstance(access, Response):  # signed out (a redirect to sign in) or another shop's
        status, code = (401, "unauthorized") if access.status_code == 303 else (404, "not_found")
        return JSONResponse({"error": {"code": code}}, status_code=status, headers=web.PAGE_HEADERS)
    try:
        found = await access.client.get_batch(batch_id, limit=0)
    except WaybillError as exc:
        refused: dict[str, Any] = {"error": {"code": exc.code, "request_id": exc.request_id}}
        return JSONResponse(refused, status_code=web.status_of(exc), headers=web.PAGE_HEADERS)
    counts = {k: getattr(found, k) for k in ("total", "done", "failed", "skipped", "pending")}
    body: dict[str, Any] = {"status": found.status, "percent": percent(found), **counts}
    return JSONResponse(body, headers=web.PAGE_HEADERS)


@router.get("/shops/{shop_id}/batches/{batch_id}/labels.pdf")
async def labels(request: Request, shop_id: str, batch_id: str) -> Response:
    access = await web.shop_page(request, shop_id, zone=False)
    if isinstance(access, Response):
        return access
    try:
        pdf = await access.client.get_batch_labels(batch_id)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    return pdf_response(pdf, f"labels-{batch_id}.pdf")
