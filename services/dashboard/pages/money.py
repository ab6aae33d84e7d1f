"""资金与到期: the shop's ledger (every change of its balance with why), what happens to its numbers before they
expire (allocation's expiry settings) and their expiry events; and, for operators, the shop's negotiated package
prices (set one for a period, revoke one)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError as PydanticError
from waybill_client import AsyncWaybillClient, WaybillError
from waybill_client.models import (
    BalanceOut,
    CarrierOut,
    ExpirySettingsIn,
    ExpirySettingsOut,
    ShopPriceCreate,
    ShopPriceOut,
    StockEventOut,
)

from services.dashboard import catalogue_money, web
from services.dashboard.api import Panel, panel
from services.dashboard.i18n import choose_lang

router = APIRouter(include_in_schema=False)

LEDGER_SHOWN = 50
EVENTS_READ = 100  # the feed's latest page: its expiry events are shown
EXPIRY_KINDS = tuple(catalogue_money.EXPIRY_EVENTS)
ON_EXPIRY = tuple(catalogue_money.ON_EXPIRY)


@dataclass
class MoneyView:
    balance: Panel[BalanceOut]
    expiry: Panel[ExpirySettingsOut]
    events: Panel[list[StockEventOut]]
    # Operators only (None for a shop): the shop's negotiated prices, and the packages one may be set for.
    prices: Panel[list[ShopPriceOut]] | None
    packages: Panel[list[CarrierOut]] | None


async def _expiry_events(client: AsyncWaybillClient) -> list[StockEventOut]:
    return [e for e in (await client.list_stock_events(limit=EVENTS_READ)).data if e.kind in EXPIRY_KINDS]


async def _prices(client: AsyncWaybillClient, shop_id: str) -> list[ShopPriceOut]:
    return list((await client.list_shop_prices(shop_id)).data)


async def _carriers(client: AsyncWaybillClient) -> list[CarrierOut]:
    return [c for c in (await client.list_carriers()).data if any(p.active for p in c.packages)]


@router.get("/shops/{shop_id}/money")
async def money(request: Request, shop_id: str) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    client = access.client
    operator = access.session.kind == "operator"
    shared = (panel(client.get_balance(limit=LEDGER_SHOWN)), panel(client.get_expiry_settings()))
    balance, expiry, events = await asyncio.gather(*shared, panel(_expiry_events(client)))
    prices: Panel[list[ShopPriceOut]] | None = None
    packages: Panel[list[CarrierOut]] | None = None
    if operator:
        prices, packages = await asyncio.gather(panel(_prices(client, shop_id)), panel(_carriers(client)))
    lang = choose_lang(request)
    texts: dict[str, Any] = {
        "ledger_text": lambda kind: catalogue_money.ledger_text(kind, lang),
        "expiry_event_text": lambda kind: catalogue_money.expiry_event_text(kind, lang),
        "on_expiry_text": lambda value: catalogue_money.on_expiry_text(value, lang),
    }
    view = MoneyView(balance, expiry, events, prices, packages)
    return web.render(request, "money.html", access=access, view=view, on_expiry=ON_EXPIRY, tab="money", **texts)


@router.post("/shops/{shop_id}/money/expiry")
async def save_expiry(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    expiring_notice_days: Annotated[str, Form()] = "",
    on_expiry: Annotated[str, Form()] = "",
    auto_extend_days: Annotated[str, Form()] = "",
) -> Response:
    """The fields left empty keep their value."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/money"
    fields: dict[str, Any] = {}
    try:
        if expiring_notice_days.strip():
            fields["expiring_notice_days"] = int(expiring_notice_days)
        if auto_extend_days.strip():
            fields["auto_extend_days"] = int(auto_extend_days)
        if on_expiry:
            if on_expiry not in ON_EXPIRY:  # the client passes an unknown value through: refused here
                raise ValueError(on_expiry)
            fields["on_expiry"] = on_expiry
        body = ExpirySettingsIn(**fields)
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error", "#expiry")
    try:
        await access.client.put_expiry_settings(body)
    except WaybillError as exc:
        return web.failed(back, exc, "#expiry")
    return web.done(back, "expiry_saved", "#expiry")


def _moment(value: str, zone: tzinfo) -> datetime | None:
    """A date, or a date and time (the form's datetime-local), typed in the shop's zone: a bare date is its
    midnight there. None when left empty; ValueError when it is not one."""
    text = value.strip()
    if not text:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def _cents(value: str) -> int:
    """Yuan as typed (2400, 2,400.50, ¥2400) to integer cents, exactly; ValueError for anything else."""
    try:
        amount = Decimal(value.strip().removeprefix("¥").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    cents = amount * 100
    if not amount.is_finite() or cents != cents.to_integral_value() or cents < 0:
        raise ValueError(f"not an amount in yuan and fen: {value!r}")
    return int(cents)


def _zone(request: Request) -> tzinfo:
    """The shop's zone (shop_page read it, for a page) or the dashboard's (a form reads no settings)."""
    found = getattr(request.state, "shop_zone", None)
    return found[1] if found else web.state(request).settings.zone


@router.post("/shops/{shop_id}/money/prices")
async def add_price(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    package_id: Annotated[str, Form()] = "",
    price_yuan: Annotated[str, Form()] = "",
    valid_from: Annotated[str, Form()] = "",
    valid_to: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Operators only: a shop key's form is refused by the API (403), as any admin call of it."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/money"
    try:
        fields: dict[str, Any] = {"package_id": package_id.strip(), "price_cents": _cents(price_yuan)}
        zone = _zone(request)
        for name, typed in (("valid_from", valid_from), ("valid_to", valid_to)):
            if (at := _moment(typed, zone)) is not None:
                fields[name] = at
        if note.strip():
            fields["note"] = note.strip()
        body = ShopPriceCreate(**fields)
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error", "#prices")
    try:
        await access.client.add_shop_price(shop_id, body)
    except WaybillError as exc:
        return web.failed(back, exc, "#prices")
    return web.done(back, "price_added", "#prices")


@router.post("/shops/{shop_id}/money/prices/{price_id}/revoke")
async def revoke_price(
    request: Request, shop_id: str, price_id: int, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/money"
    try:
        await access.client.revoke_shop_price(shop_id, price_id)
    except WaybillError as exc:
        return web.failed(back, exc, "#prices")
    return web.done(back, "price_revoked", "#prices")
