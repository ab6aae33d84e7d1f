"""物流预警: the shop's alerts by state, in the seller's language (catalogue.ALERT_KINDS), and acknowledging
one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response
from waybill_client import WaybillError

from runtime.params import IdPath
from services.dashboard import web
from services.dashboard.api import paged
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

AlertFilter = Literal["open", "acknowledged", "resolved"]


@router.get("/shops/{shop_id}/alerts")
async def alerts(request: Request, shop_id: str, state: AlertFilter = "open", cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    limit = web.state(request).settings.alerts_shown
    listed = await paged(access.client.list_alerts(state=state, limit=limit, cursor=cursor))
    return web.render(request, "alerts.html", access=access, alerts=listed, state=state, cursor=cursor, tab="alerts")


@router.post("/shops/{shop_id}/alerts/{alert_id}/ack")
async def acknowledge(
    request: Request, shop_id: str, alert_id: IdPath, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/alerts"
    try:
        await access.client.acknowledge_alert(alert_id)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "acknowledged")
