"""The first pages: a shop's home (balance, stock per carrier, what needs doing) and, for operators, every
shop with its low stock and open alerts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from waybill_client import AsyncWaybillClient
from waybill_client.models import BalanceOut, BatchSummaryOut, PoolOut, ShopOut

from services.dashboard import web
from services.dashboard.api import Panel, for_session, panel
from services.dashboard.session import Session
from services.dashboard.settings import DashboardSettings
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

COUNTED = 100  # the overview's counts stop here ("100+" beyond): one page, never the whole list


@dataclass(frozen=True)
class Count:
    """A count read from one page: at least ``n`` when the list went on (shown "100+")."""

    n: int
    more: bool = False

    def __str__(self) -> str:
        return f"{self.n}+" if self.more else str(self.n)


async def open_alerts(client: AsyncWaybillClient) -> Count:
    page = await client.list_alerts(state="open", limit=COUNTED)
    return Count(len(page.data), more=page.has_more)


async def orders_to_ship(client: AsyncWaybillClient) -> Count:
    page = await client.list_orders(status="paid", limit=COUNTED)
    return Count(len(page.data), more=page.has_more)


async def pools(client: AsyncWaybillClient, days: int) -> list[PoolOut]:
    return list((await client.list_pools(expiring_within_days=days)).data)


@dataclass
class ShopHome:
    shop_id: str
    shop: Panel[ShopOut]
    balance: Panel[BalanceOut]
    stock: Panel[list[PoolOut]]
    batches: Panel[list[BatchSummaryOut]]
    to_ship: Panel[Count]
    alerts: Panel[Count]

    @property
    def batches_in_progress(self) -> int:
        return sum(1 for b in self.batches.data or [] if b.status != "completed")


async def shop_home(client: AsyncWaybillClient, shop_id: str, settings: DashboardSettings) -> ShopHome:
    async def recent_batches() -> list[BatchSummaryOut]:
        return list((await client.list_batches(limit=5)).data)

    shop, balance, stock, batches, to_ship, alerts = await asyncio.gather(
        panel(client.get_shop(shop_id)),
        panel(client.get_balance(limit=1)),
        panel(pools(client, settings.expiring_within_days)),
        panel(recent_batches()),
        panel(orders_to_ship(client)),
        panel(open_alerts(client)),
    )
    return ShopHome(shop_id, shop, balance, stock, batches, to_ship, alerts)


@dataclass
class ShopSummary:
    id: str
    name: str
    low_stock: Panel[list[str]]
    open_alerts: Panel[Count]


async def overview(
    client: AsyncWaybillClient, session: Session, settings: DashboardSettings, cursor: str | None
) -> Panel[list[ShopSummary]]:
    """A page of shops (admin key, id order) with their low-stock carriers and open alerts."""
    gate = asyncio.Semaphore(8)  # a few calls at a time: the overview must not flood the services

    async def one(shop: ShopOut) -> ShopSummary:
        as_shop = for_session(client, session, shop.id)

        async def low() -> list[str]:
            return [p.carrier for p in await pools(as_shop, settings.expiring_within_days) if p.low_stock]

        async with gate:
            low_stock, alerts = await asyncio.gather(panel(low()), panel(open_alerts(as_shop)))
        return ShopSummary(shop.id, shop.name, low_stock, alerts)

    found = await panel(for_session(client, session).list_shops(limit=settings.overview_shops, cursor=cursor))
    if found.data is None:
        return Panel(error=found.error)
    summaries = list(await asyncio.gather(*(one(s) for s in found.data.data)))
    return Panel(data=summaries, next_cursor=found.data.next_cursor if found.data.has_more else None)


@router.get("/")
async def home(request: Request, cursor: Cursor = None) -> Response:
    session = await web.current_session(request)
    if session is None:
        return web.to_login(request)
    if session.kind == "shop" and session.shop_id is not None:
        return RedirectResponse(f"/shops/{web.seg(session.shop_id)}", status_code=303)
    st = web.state(request)
    shops = await overview(st.client, session, st.settings, cursor)
    return web.render(request, "overview.html", shops=shops, cursor=cursor)


@router.get("/shop")
async def open_shop(request: Request, shop_id: str = "") -> Response:
    """The operators' "open a shop by id" form."""
    if await web.current_session(request) is None:
        return web.to_login(request)
    shop_id = shop_id.strip()
    return RedirectResponse(f"/shops/{quote(shop_id, safe='')}" if shop_id else "/", status_code=303)


@router.get("/shops/{shop_id}")
async def shop(request: Request, shop_id: str) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    view = await shop_home(access.client, shop_id, web.state(request).settings)
    if view.shop.error is not None and view.shop.error.status == 404:
        return web.error_page(request, 404, "not_found", view.shop.error.message)
    return web.render(request, "shop.html", access=access, view=view, tab="home")
