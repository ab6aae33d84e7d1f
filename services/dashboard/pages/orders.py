"""Orders to ship: each with its channel and store, its ship-by time and the carriers it may go with
(shipping's carrier options, the recommended one first), shipped one at a time or selected and shipped as a
batch, or cancelled; filtered by channel (own, taobao, pinduoduo) and store."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import ValidationError as PydanticError
from waybill_client import AsyncWaybillClient, WaybillError
from waybill_client.models import BatchCreate, CarrierOptionOut, OrderOut, ShipRequest, StoreOut

from services.dashboard import web
from services.dashboard.api import Panel, paged, panel
from services.dashboard.pages.stores import STORES_SHOWN
from services.dashboard.settings import DashboardSettings
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

TO_SHIP = "paid"  # an order waiting for its waybill (shipping's OrderStatus.PAID)
DUE_SOON = timedelta(hours=12)
_CARRIER = re.compile(r"[A-Z0-9]{1,16}")
Urgency = Literal["overdue", "soon", "ok"]
ChannelFilter = Literal["own", "taobao", "pinduoduo"]
CHANNELS: tuple[ChannelFilter, ...] = ("own", "taobao", "pinduoduo")
# A store's id as shipping makes them (sto_...), at most as long as its filter takes: anything else is
# refused here, before any call.
StoreFilter = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")]


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
    stores: Panel[list[StoreOut]]  # the shop's stores: their names, and the store filter's choices
    channel: str | None = None
    store_id: str | None = None

    def store_name(self, store_id: str | None) -> str | None:
        """The store's name (its id when it is not among the stores read; None for the shop's own orders)."""
        if store_id is None:
            return None
        for store in self.stores.data or []:
            if store.id == store_id:
                return store.name
        return store_id

    @property
    def filters(self) -> str:
        """The filters as a query string, for the page links."""
        given = {"channel": self.channel, "store": self.store_id}
        return urlencode({k: v for k, v in given.items() if v})


def ship_by(order: OrderOut, settings: DashboardSettings, now: datetime) -> tuple[datetime, Urgency]:
    """When the order should ship (it arrived paid, plus the promise of DASHBOARD_SHIP_WITHIN_HOURS), and how
    close that is."""
    due = order.created_at + timedelta(hours=settings.ship_within_hours)
    urgency: Urgency = "overdue" if due <= now else "soon" if due - now <= DUE_SOON else "ok"
    return due, urgency


async def orders_view(
    client: AsyncWaybillClient,
    settings: DashboardSettings,
    cursor: str | None,
    now: datetime | None = None,
    *,
    channel: str | None = None,
    store_id: str | None = None,
) -> OrdersView:
    at = now or datetime.now(UTC)
    listed = client.list_orders(
        status=TO_SHIP, channel=channel, store_id=store_id, limit=settings.orders_shown, cursor=cursor
    )
    found, stores = await asyncio.gather(panel(listed), paged(client.list_stores(limit=STORES_SHOWN)))
    if found.data is None:
        return OrdersView(Panel(error=found.error), cursor, stores, channel, store_id)
    gate = asyncio.Semaphore(8)  # one call per order for its options: a few at a time

    async def options(order_id: str) -> list[CarrierOptionOut]:
        async with gate:
            return list((await client.list_carrier_options(order_id)).data)

    # Oldest deadline first: what must ship soonest is on top.
    orders = sorted(found.data.data, key=lambda o: o.created_at)
    choices = await asyncio.gather(*(panel(options(o.id)) for o in orders))
    rows = [OrderRow(o, *ship_by(o, settings, at), c) for o, c in zip(orders, choices, strict=True)]
    next_cursor = found.data.next_cursor if found.data.has_more else None
    return OrdersView(Panel(data=rows, next_cursor=next_cursor), cursor, stores, channel, store_id)


@router.get("/shops/{shop_id}/orders")
async def orders(
    request: Request,
    shop_id: str,
    cursor: Cursor = None,
    channel: Annotated[ChannelFilter | Literal[""] | None, Query()] = None,
    store: StoreFilter = None,
) -> Response:
    """``channel`` and ``store`` filter the list (the filter form sends "" for "every channel")."""
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    settings = web.state(request).settings
    view = await orders_view(access.client, settings, cursor, channel=channel or None, store_id=store or None)
    return web.render(request, "orders.html", access=access, view=view, channels=CHANNELS, tab="orders")


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
