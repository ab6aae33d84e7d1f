"""One order: its state (partly shipped for a split order some of whose lines shipped), ship-by time in the
shop's time zone, hold and flags in the seller's words, its lines, every shipment with each parcel's number,
state and tracking (and its label, to reprint one box), its order alerts; and the receiver form (改址), which
fixes a held order's address (shipping checks it again and releases the hold when it passes)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError as PydanticError
from waybill_client import WaybillError
from waybill_client.models import OrderAlertOut, OrderOut, Receiver, ShipmentOut

from services.dashboard import web
from services.dashboard.api import Panel, paged
from services.dashboard.pages.orders import Urgency, lead_of, urgency

router = APIRouter(include_in_schema=False)

SHOWN = 20  # an order's shipments and alerts: a handful
# Before the courier collects (shipping refuses later with already_collected): the receiver may change.
RECEIVER_EDITABLE = ("paid", "waybill_assigned", "label_printed", "partly_shipped", "shipped")
UNTRACKED = ("failed", "cancelled", "voided")  # shipments whose parcels left nothing to follow or print


@dataclass
class OrderView:
    order: OrderOut
    urgency: Urgency
    shipments: Panel[list[ShipmentOut]]
    alerts: Panel[list[OrderAlertOut]]

    @property
    def receiver_editable(self) -> bool:
        return self.order.held is not None or self.order.status in RECEIVER_EDITABLE

    @property
    def unshipped(self) -> bool:
        return self.order.status in ("paid", "partly_shipped")


@router.get("/shops/{shop_id}/orders/{order_id}")
async def order_page(request: Request, shop_id: str, order_id: str) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    client = access.client
    try:
        found = await client.get_order(order_id)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    shipments, alerts = await asyncio.gather(
        paged(client.list_shipments(order_id=order_id, limit=SHOWN)),
        paged(client.list_order_alerts(order_id=order_id, limit=SHOWN)),
    )
    saved = access.settings.data if access.settings else None
    due = urgency(found.ship_by, datetime.now(UTC), lead_of(saved))
    view = OrderView(found, due, shipments, alerts)
    return web.render(request, "order.html", access=access, view=view, untracked=UNTRACKED, tab="orders")


@router.post("/shops/{shop_id}/orders/{order_id}/receiver")
async def update_receiver(
    request: Request,
    shop_id: str,
    order_id: str,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    state: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
    district: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    zip_code: Annotated[str, Form(alias="zip")] = "",
) -> Response:
    """The receiver whole (as shipping takes it): checked there again; a held order whose new address passes
    is released, one that fails stays held with what is wrong in its flags."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/orders/{web.seg(order_id)}"
    typed = {"name": name, "phone": phone, "state": state, "city": city, "district": district, "address": address}
    try:
        body = Receiver(**{k: v.strip() for k, v in typed.items()}, zip=zip_code.strip())
    except PydanticError:  # a required part left empty, or longer than shipping takes
        return web.refused(back, "validation_error", "#receiver")
    try:
        await access.client.update_receiver(order_id, body)
    except WaybillError as exc:
        return web.failed(back, exc, "#receiver")
    return web.done(back, "receiver_saved")
