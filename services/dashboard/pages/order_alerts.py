"""订单预警: the shop's order alerts (ship-by deadlines, invalid addresses, parcels not collected in time...) by
state and kind, each kind in the seller's language (catalogue_orders.ORDER_ALERT_KINDS) with shipping's own
message (Chinese, times in the shop's time zone), linked to its order; and acknowledging one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from waybill_client import WaybillError

from runtime.params import IdPath
from services.dashboard import web
from services.dashboard.api import paged
from services.dashboard.catalogue import ORDER_ALERT_KINDS
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

StateFilter = Literal["open", "acknowledged", "resolved"]
STATES: tuple[StateFilter, ...] = ("open", "acknowledged", "resolved")
KindFilter = Literal[
    "",
    "late_to_ship",
    "ship_by_passed",
    "not_collected_by_ship_by",
    "address_change_after_collection",
    "address_invalid",
]


@router.get("/shops/{shop_id}/order-alerts")
async def order_alerts(
    request: Request,
    shop_id: str,
    state: Annotated[StateFilter, Query()] = "open",
    kind: Annotated[KindFilter, Query()] = "",
    cursor: Cursor = None,
) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    limit = web.state(request).settings.alerts_shown
    listed = await paged(access.client.list_order_alerts(state=state, kind=kind or None, limit=limit, cursor=cursor))
    extra = f"state={state}" + (f"&kind={kind}" if kind else "")
    return web.render(
        request,
        "order_alerts.html",
        access=access,
        alerts=listed,
        state=state,
        kind=kind,
        kinds=list(ORDER_ALERT_KINDS),
        states=STATES,
        cursor=cursor,
        extra=extra,
        tab="order-alerts",
    )


@router.post("/shops/{shop_id}/order-alerts/{alert_id}/ack")
async def acknowledge(
    request: Request, shop_id: str, alert_id: IdPath, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/order-alerts"
    try:
        await access.client.acknowledge_order_alert(alert_id)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "order_alert_acknowledged")
