"""Orders to ship: each with its ship-by time and the carriers it may go with (shipping's carrier options,
the recommended one first), shipped one at a time or selected and shipped as a batch, or cancelled."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError as PydanticError
from waybill_client import AsyncWaybillClient, WaybillError
from waybill_client.models import BatchCreate, CarrierOptionOut, OrderOut, ShipRequest

from services.dashboard import web
from services.dashboard.api import Panel, panel
from services.dashboard.settings import DashboardSettings
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

TO_SHIP = "paid"  # an order waiting for its waybill (shipping's OrderStatus.PAID)
DUE_SOON = timedelta(hours=12)
_CARRIER = re.compile(r"[A-Z0-9]{1,16}")
Urgency = Literal["overdue", "soon", "ok"]


@dataclass
class OrderRow:
    order: OrderOut
    ship_by: datetime
    urgency: Urgency
    options: Panel[list[CarrierOptionOut]]

    @property
    def recommended(self) -> str | None:
        for option in self.options.data or []:
            if option.recommended:
                return option.carrier
        return None


@dataclass
class OrdersView:
    orders: Panel[list[OrderRow]]
    cursor: str | None


def ship_by(order: OrderOut, settings: DashboardSettings, now: datetime) -> tuple[datetime, Urgency]:
    """When the order should ship (it arrived paid, plus the promise of DASHBOARD_SHIP_WITHIN_HOURS), and how
    close that is."""
    due = order.created_at + timedelta(hours=settings.ship_within_hours)
    urgency: Urgency = "overdue" if due <= now else "soon" if due - now <= DUE_SOON else "ok"
    return due, urgency


async def orders_view(
    client: AsyncWaybillClient, settings: DashboardSettings, cursor: str | None, now: datetime | None = None
) -> OrdersView:
    at = now or datetime.now(UTC)
    found = await panel(client.list_orders(status=TO_SHIP, limit=settings.orders_shown, cursor=cursor))
    if found.data is None:
        return OrdersView(Panel(error=found.error), cursor)
    gate = asyncio.Semaphore(8)  # one call per order for its options: a few at a time

    async def options(order_id: str) -> list[CarrierOptionOut]:
        async with gate:
            return list((await client.list_carrier_options(order_id)).data)

    # Oldest deadline first: what must ship soonest is on top.
    orders = sorted(found.data.data, key=lambda o: o.created_at)
    choices = await asyncio.gather(*(panel(options(o.id)) for o in orders))
    rows = [OrderRow(o, *ship_by(o, settings, at), c) for o, c in zip(orders, choices, strict=True)]
    next_cursor = found.data.next_cursor if found.data.has_more else None
    return OrdersView(Panel(data=rows, next_cursor=next_cursor), cursor)


@router.get("/shops/{shop_id}/orders")
async def orders(request: Request, shop_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    view = await orders_view(access.client, web.state(request).settings, cursor)
    return web.render(request, "orders.html", access=access, view=view, tab="orders")


def carrier_or_none(carrier: str) -> str | None:
    """ "" is "the recommended carrier"; anything else must look like a carrier code."""
    carrier = carrier.strip()
    if not carrier:
        return None
    if not _CARRIER.fullmatch(carrier):
        raise ValueError(carrier)
    return carrier


@router.post("/shops/{shop_id}/orders/{order_id}/ship")
async def ship(
    request: Request,
    shop_id: str,
    order_id: str,
    csrf_token: Annotated[str, Form()] = "",
    carrier: Annotated[str, Form()] = "",
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/orders"
    try:
        chosen = carrier_or_none(carrier)
    except ValueError:
        return web.refused(back, "validation_error")
    try:
        shipment = await access.client.ship_order(order_id, ShipRequest(carrier=chosen) if chosen else None)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(f"{access.base}/shipments/{web.seg(shipment.id)}", "shipped")


@router.post("/shops/{shop_id}/orders/{order_id}/cancel")
async def cancel(request: Request, shop_id: str, order_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/orders"
    try:
        await access.client.cancel_order(order_id)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "cancelled")


@router.post("/shops/{shop_id}/orders/batch")
async def ship_batch(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    order_ids: Annotated[list[str] | None, Form()] = None,
    carrier: Annotated[str, Form()] = "",
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/orders"
    chosen_orders = [o for o in dict.fromkeys(order_ids or []) if o]
    if not chosen_orders:
        return web.done(back, "nothing_selected")
    try:
        chosen = carrier_or_none(carrier)
    except ValueError:
        return web.refused(back, "validation_error")
    try:
        body = BatchCreate(order_ids=chosen_orders, carrier=chosen)
    except PydanticError:  # more orders than a batch takes: only a hand-made form sends that many
        return web.refused(back, "payload_too_large")
    try:
        batch = await access.client.create_batch(body)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(f"{access.base}/batches/{web.seg(batch.id)}", "batch_created")
