"""Shipments: the list, each with its main parcel's tracking status; one shipment with every parcel (its
number, state, tracking, and its own label to reprint one box), its labels (the PDF, a page per parcel), its
tracking timeline and alerts; voiding its labels before collection (回收单号: before the confirmation, or after
it on the shop's own channel; a marketplace cannot take a confirmation back, cannot_withdraw) and changing a
confirmed shipment's numbers (换单号). Refusals (already_collected, cannot_withdraw...) come back in the
seller's words from the catalogue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from waybill_client import AsyncWaybillClient, NotFound, WaybillError
from waybill_client.models import CarrierOut, ChangeNumbersRequest, OrderOut, ShipmentOut, TrackingOut, VoidRequest

from services.dashboard import web
from services.dashboard.api import Panel, panel
from services.dashboard.pages.orders import carrier_or_none
from services.dashboard.settings import DashboardSettings
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

VOIDABLE = ("pending", "held", "confirmed")  # shipping voids these (confirmed: on the shop's own channel)
CHANGEABLE = ("confirmed",)  # shipping changes the numbers of a confirmed shipment
UNTRACKED = ("failed", "cancelled", "voided")  # no parcel left the shop, or its numbers were given up
OWN_CHANNEL = "own"  # the one channel a confirmation is withdrawn on (the shipment.voided webhook)
REASON_MAX = 200  # shipping's VoidRequest.reason


@dataclass
class ShipmentRow:
    shipment: ShipmentOut
    tracking: Panel[TrackingOut | None]  # None: tracking has no record of the number yet
    order: Panel[OrderOut] | None = None  # its channel says whether a confirmation can be taken back
    carriers: Panel[list[CarrierOut]] | None = None  # another carrier to change the numbers to

    @property
    def collected(self) -> bool:
        return any(p.collected_at is not None for p in self.shipment.parcels or [])

    @property
    def on_marketplace(self) -> bool:
        """Confirmed on a marketplace, as far as the order was read (unread: the void is offered, and shipping
        says cannot_withdraw when it must)."""
        order = self.order.data if self.order else None
        return self.shipment.status == "confirmed" and order is not None and order.channel != OWN_CHANNEL

    @property
    def voidable(self) -> bool:
        return self.shipment.status in VOIDABLE and not self.collected and not self.on_marketplace

    @property
    def changeable(self) -> bool:
        return self.shipment.status in CHANGEABLE and not self.collected

    @property
    def printable(self) -> bool:
        return self.shipment.status not in UNTRACKED


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
    client = access.client

    async def carriers() -> list[CarrierOut]:
        return [c for c in (await client.list_carriers()).data if c.active]

    tracking, order = await asyncio.gather(panel(tracking_of(client, found)), panel(client.get_order(found.order_id)))
    row = ShipmentRow(found, tracking, order)
    if row.changeable:
        row.carriers = await panel(carriers())
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


@router.get("/shops/{shop_id}/shipments/{shipment_id}/parcels/{seq}/label.pdf")
async def parcel_label(
    request: Request, shop_id: str, shipment_id: str, seq: Annotated[int, Path(ge=1, le=1000)]
) -> Response:
    """One parcel's label, to reprint one box (counted as its print there)."""
    access = await web.shop_page(request, shop_id, zone=False)
    if isinstance(access, Response):
        return access
    try:
        pdf = await access.client.get_parcel_label(shipment_id, seq)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    return pdf_response(pdf, f"label-{shipment_id}-{seq}.pdf")


def pdf_response(pdf: bytes, filename: str) -> Response:
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.") or "label.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**web.PAGE_HEADERS, "Content-Disposition": f'inline; filename="{safe}"'},
    )


@router.post("/shops/{shop_id}/shipments/{shipment_id}/void")
async def void(
    request: Request,
    shop_id: str,
    shipment_id: str,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Void every parcel's number (回收单号); the order is back to ship."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/shipments/{web.seg(shipment_id)}"
    typed = reason.strip()[:REASON_MAX]
    try:
        await access.client.void_shipment(shipment_id, VoidRequest(reason=typed) if typed else None)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "voided")


@router.post("/shops/{shop_id}/shipments/{shipment_id}/change-numbers")
async def change_numbers(
    request: Request,
    shop_id: str,
    shipment_id: str,
    csrf_token: Annotated[str, Form()] = "",
    carrier: Annotated[str, Form()] = "",
) -> Response:
    """New numbers for every parcel (换单号), with ``carrier`` ("": the shipment's own); print the new labels."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/shipments/{web.seg(shipment_id)}"
    try:
        chosen = carrier_or_none(carrier)
    except ValueError:
        return web.refused(back, "validation_error")
    try:
        changed = await access.client.change_numbers(
            shipment_id, ChangeNumbersRequest(carrier=chosen) if chosen else None
        )
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(f"{access.base}/shipments/{web.seg(changed.id)}", "numbers_changed")
