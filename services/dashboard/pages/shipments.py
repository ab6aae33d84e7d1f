"""Shipments: the list, each with its parcel's tracking status; one shipment with its label (the PDF, to
print), its tracking timeline and alerts, and voiding it while the marketplace has not confirmed it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from waybill_client import AsyncWaybillClient, NotFound, WaybillError
from waybill_client.models import ShipmentOut, TrackingOut

from services.dashboard import web
from services.dashboard.api import Panel, panel
from services.dashboard.settings import DashboardSettings
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

VOIDABLE = ("pending", "confirming")  # shipping cancels a shipment only before the marketplace confirms it
UNTRACKED = ("failed", "cancelled")  # no parcel left the shop


@dataclass
class ShipmentRow:
    shipment: ShipmentOut
    tracking: Panel[TrackingOut | None]  # None: tracking has no record of the number yet

    @property
    def voidable(self) -> bool:
        return self.shipment.status in VOIDABLE


async def tracking_of(client: AsyncWaybillClient, shipment: ShipmentOut) -> TrackingOut | None:
    if shipment.status in UNTRACKED:
        return None
    try:
        return await client.get_tracking(shipment.number, carrier=shipment.carrier)
    except NotFound:
        return None


@dataclass
class ShipmentsView:
    shipments: Panel[list[ShipmentRow]]
    cursor: str | None


async def shipments_view(client: AsyncWaybillClient, settings: DashboardSettings, cursor: str | None) -> ShipmentsView:
    found = await panel(client.list_shipments(limit=settings.recent_shipments, cursor=cursor))
    if found.data is None:
        return ShipmentsView(Panel(error=found.error), cursor)
    gate = asyncio.Semaphore(8)

    async def row(shipment: ShipmentOut) -> ShipmentRow:
        async with gate:
            return ShipmentRow(shipment, await panel(tracking_of(client, shipment)))

    rows = list(await asyncio.gather(*(row(s) for s in found.data.data)))
    return ShipmentsView(Panel(data=rows, next_cursor=found.data.next_cursor if found.data.has_more else None), cursor)


@router.get("/shops/{shop_id}/shipments")
async def shipments(request: Request, shop_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    view = await shipments_view(access.client, web.state(request).settings, cursor)
    return web.render(request, "shipments.html", access=access, view=view, tab="shipments")


@router.get("/shops/{shop_id}/shipments/{shipment_id}")
async def shipment(request: Request, shop_id: str, shipment_id: str) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    try:
        found = await access.client.get_shipment(shipment_id)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    row = ShipmentRow(found, await panel(tracking_of(access.client, found)))
    return web.render(request, "shipment.html", access=access, row=row, tab="shipments")


@router.get("/shops/{shop_id}/shipments/{shipment_id}/label.pdf")
async def label(request: Request, shop_id: str, shipment_id: str) -> Response:
    """The label, straight from shipping (each print is counted there), for the browser to show and print."""
    access = await web.shop_page(request, shop_id, zone=False)
    if isinstance(access, Response):
        return access
    try:
        pdf = await access.client.get_shipment_label(shipment_id)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    return pdf_response(pdf, f"label-{shipment_id}.pdf")


def pdf_response(pdf: bytes, filename: str) -> Response:
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.") or "label.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**web.PAGE_HEADERS, "Content-Disposition": f'inline; filename="{safe}"'},
    )


@router.post("/shops/{shop_id}/shipments/{shipment_id}/void")
async def void(request: Request, shop_id: str, shipment_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/shipments/{web.seg(shipment_id)}"
    try:
        await access.client.cancel_shipment(shipment_id)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "voided")
