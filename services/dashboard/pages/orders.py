"""Orders to ship: each with its channel and store, its ship-by time (the order's own, in the shop's time zone,
marked when it is within the shop's late-to-ship lead or past), whether it is held (an invalid address: its
page fixes the receiver) and the carriers it may go with (shipping's carrier options, the recommended one
first), shipped one at a time (in one or several parcels) or selected and shipped as a batch, or cancelled;
filtered by state (paid, or partly shipped: the rest of a split order), hold, channel and store, the most
urgent first."""

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
from waybill_client.models import BatchCreate, CarrierOptionOut, OrderOut, SettingsOut, ShipRequest, StoreOut

from services.dashboard import web
from services.dashboard.api import Panel, paged, panel
from services.dashboard.pages.stores import STORES_SHOWN
from services.dashboard.settings import DashboardSettings
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

StatusFilter = Literal["paid", "partly_shipped"]
TO_SHIP: StatusFilter = "paid"  # an order waiting for its waybill (shipping's OrderStatus.PAID)
PARTLY: StatusFilter = "partly_shipped"  # a split order some of whose lines shipped: the rest still to ship
STATUSES: tuple[StatusFilter, ...] = (TO_SHIP, PARTLY)
HeldFilter = Literal["", "yes", "no"]
DEFAULT_LEAD_MINUTES = 240  # shipping's default late_to_ship_lead_minutes, when the shop's cannot be read
MAX_PARCELS = 50  # shipping's MAX_PARCELS
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
    def held(self) -> bool:
        return self.order.held is not None

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
    status: str = TO_SHIP
    held: str = ""

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
        given = {
            "channel": self.channel,
            "store": self.store_id,
            "status": None if self.status == TO_SHIP else self.status,
            "held": self.held,
        }
        return urlencode({k: v for k, v in given.items() if v})


def urgency(ship_by: datetime, now: datetime, lead: timedelta) -> Urgency:
    """How close the order's ship-by time is: past, within the shop's late-to-ship lead, or not yet."""
    return "overdue" if ship_by <= now else "soon" if ship_by - now <= lead else "ok"


def lead_of(settings: SettingsOut | None) -> timedelta:
    """The shop's late-to-ship lead (its late_to_ship alert opens then): soon is within it."""
    minutes = settings.late_to_ship_lead_minutes if settings else None
    return timedelta(minutes=DEFAULT_LEAD_MINUTES if minutes is None else minutes)


async def orders_view(
    client: AsyncWaybillClient,
    settings: DashboardSettings,
    cursor: str | None,
    now: datetime | None = None,
    *,
    channel: str | None = None,
    store_id: str | None = None,
    status: str = TO_SHIP,
    held: str = "",
    lead: timedelta = timedelta(minutes=DEFAULT_LEAD_MINUTES),
) -> OrdersView:
    at = now or datetime.now(UTC)
    listed = client.list_orders(
        status=status,
        channel=channel,
        store_id=store_id,
        held={"yes": True, "no": False}.get(held),
        sort="ship_by",
        limit=settings.orders_shown,
        cursor=cursor,
    )
    found, stores = await asyncio.gather(panel(listed), paged(client.list_stores(limit=STORES_SHOWN)))
    if found.data is None:
        return OrdersView(Panel(error=found.error), cursor, stores, channel, store_id, status, held)
    gate = asyncio.Semaphore(8)  # one call per order for its options: a few at a time

    async def options(order_id: str) -> list[CarrierOptionOut]:
        async with gate:
            return list((await client.list_carrier_options(order_id)).data)

    # The most urgent first (as the API pages them); of one deadline, the oldest.
    orders = sorted(found.data.data, key=lambda o: (o.ship_by, o.created_at))
    choices = await asyncio.gather(*(panel(options(o.id)) for o in orders))
    rows = [OrderRow(o, o.ship_by, urgency(o.ship_by, at, lead), c) for o, c in zip(orders, choices, strict=True)]
    next_cursor = found.data.next_cursor if found.data.has_more else None
    return OrdersView(Panel(data=rows, next_cursor=next_cursor), cursor, stores, channel, store_id, status, held)


@router.get("/shops/{shop_id}/orders")
async def orders(
    request: Request,
    shop_id: str,
    cursor: Cursor = None,
    channel: Annotated[ChannelFilter | Literal[""] | None, Query()] = None,
    store: StoreFilter = None,
    status: Annotated[StatusFilter, Query()] = TO_SHIP,
    held: Annotated[HeldFilter, Query()] = "",
) -> Response:
    """``channel``, ``store``, ``status`` and ``held`` filter the list (the filter form sends "" for "all")."""
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    settings = web.state(request).settings
    saved = access.settings.data if access.settings else None
    view = await orders_view(
        access.client,
        settings,
        cursor,
        channel=channel or None,
        store_id=store or None,
        status=status,
        held=held,
        lead=lead_of(saved),
    )
    return web.render(
        request, "orders.html", access=access, view=view, channels=CHANNELS, statuses=STATUSES, tab="orders"
    )


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
    parcels: Annotated[str, Form()] = "",
) -> Response:
    """Ship one order with the chosen carrier ("": the recommended one), in ``parcels`` boxes (1 by default)."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/orders"
    try:
        chosen = carrier_or_none(carrier)
        count = int(parcels) if parcels.strip() else 1
        if not 1 <= count <= MAX_PARCELS:
            raise ValueError(parcels)
    except ValueError:
        return web.refused(back, "validation_error")
    given = {k: v for k, v in {"carrier": chosen, "parcel_count": count if count > 1 else None}.items() if v}
    try:
        shipment = await access.client.ship_order(order_id, ShipRequest(**given) if given else None)
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
