"""Buying waybill numbers: the packages on sale (the carrier catalogue, at the shop's own price where it has
one), the shop's purchases, and refunding a purchase's unused numbers (all, or a count) or extending their
validity."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from waybill_client import WaybillError
from waybill_client.models import BalanceOut, CarrierOut, ExtendRequest, PurchaseCreate, PurchaseOut, RefundRequest

from services.dashboard import web
from services.dashboard.api import Panel, paged, panel
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

_KEY = re.compile(r"[A-Za-z0-9-]{8,80}")
_PACKAGE = re.compile(r"([A-Z0-9]{1,16}):([A-Za-z0-9_-]{1,64})")


@dataclass
class PurchasesView:
    balance: Panel[BalanceOut]
    carriers: Panel[list[CarrierOut]]
    purchases: Panel[list[PurchaseOut]]
    cursor: str | None
    # The buy form's idempotency key: a form sent twice (a double click, a resubmit) buys once.
    buy_key: str


@router.get("/shops/{shop_id}/purchases")
async def purchases(request: Request, shop_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    client = access.client
    limit = web.state(request).settings.purchases_shown

    async def carriers() -> list[CarrierOut]:
        return [c for c in (await client.list_carriers()).data if c.active and any(p.active for p in c.packages)]

    balance, catalogue, listed = await asyncio.gather(
        panel(client.get_balance(limit=1)), panel(carriers()), paged(client.list_purchases(limit=limit, cursor=cursor))
    )
    view = PurchasesView(balance, catalogue, listed, cursor, str(uuid.uuid4()))
    return web.render(request, "purchases.html", access=access, view=view, tab="purchases")


@router.post("/shops/{shop_id}/purchases")
async def buy(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    package: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/purchases"
    chosen = _PACKAGE.fullmatch(package)
    if chosen is None:
        return web.refused(back, "validation_error")
    key = idempotency_key if _KEY.fullmatch(idempotency_key) else None
    body = PurchaseCreate(carrier=chosen.group(1), package_id=chosen.group(2))
    try:
        await access.client.create_purchase(body, idempotency_key=key)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "purchased")


@router.post("/shops/{shop_id}/purchases/{purchase_id}/refund")
async def refund(
    request: Request,
    shop_id: str,
    purchase_id: str,
    csrf_token: Annotated[str, Form()] = "",
    count: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """``count`` empty: every unused number; else exactly that many. The form's key makes a form sent twice
    (a double click) refund the count once."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/purchases"
    try:
        body = RefundRequest(count=int(count)) if count.strip() else None
    except ValueError:  # not a number, or below 1 (pydantic's error is a ValueError)
        return web.refused(back, "validation_error")
    key = idempotency_key if _KEY.fullmatch(idempotency_key) else None
    try:
        await access.client.refund_purchase(purchase_id, body, idempotency_key=key)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "refunded" if body is None else "refunded_count")


@router.post("/shops/{shop_id}/purchases/{purchase_id}/extend")
async def extend(
    request: Request,
    shop_id: str,
    purchase_id: str,
    csrf_token: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "",
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/purchases"
    try:
        body = ExtendRequest(days=int(days))
    except ValueError:  # not a number, or outside 1..365 (pydantic's error is a ValueError)
        return web.refused(back, "validation_error")
    try:
        await access.client.extend_purchase(purchase_id, body)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "extended")
