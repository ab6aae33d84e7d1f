"""Order alerts: ship-by deadlines (发货超时), invalid addresses and what else needs the seller on an order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, page_params
from runtime.params import IdPath
from services.shipping.schemas.order_alerts import AlertFilter, AlertKindName, AlertStateName, OrderAlertOut
from services.shipping.service import order_alerts
from shared.pages import Page

router = APIRouter(prefix="/v1/order-alerts", tags=["order-alerts"])


@router.get(
    "",
    summary="The shop's order alerts",
    description=(
        "Newest first; filter by `state` (open, acknowledged, resolved), `kind` or `order_id`. `late_to_ship` "
        "opens the shop's `late_to_ship_lead_minutes` (settings, 240 by default) before an unshipped order's "
        "`ship_by`, `ship_by_passed` once it passed; both resolve themselves when the order ships or is "
        "cancelled. `address_invalid` opens when an order is held for its address and resolves once it is "
        "fixed. Each opening and resolution is also an `order.alert_opened` / `order.alert_resolved` webhook."
    ),
)
async def list_order_alerts(
    shop_id: ShopIdDep,
    uow: UowDep,
    page: Annotated[PageRequest, Depends(page_params(100, 1000))],
    state: Annotated[AlertStateName | None, Query(description="Only alerts in this state.")] = None,
    kind: Annotated[AlertKindName | None, Query(description="Only alerts of this kind.")] = None,
    order_id: Annotated[str | None, Query(max_length=64, description="Only this order's alerts.")] = None,
) -> Page[OrderAlertOut]:
    return await order_alerts.list_alerts(uow, shop_id, AlertFilter(state=state, kind=kind, order_id=order_id), page)


@router.post(
    "/{alert_id}/acknowledge",
    summary="Acknowledge an order alert",
    description=(
        "The seller has seen it: `acknowledged` (again: unchanged). It still resolves by itself; a resolved "
        "alert answers 409 `invalid_transition`. Another shop's: 404."
    ),
    responses=responses(404, 409),
)
async def acknowledge_order_alert(alert_id: IdPath, shop_id: ShopIdDep, uow: UowDep) -> OrderAlertOut:
    return await order_alerts.acknowledge(uow, shop_id, alert_id)
