"""Shops' logistics alerts and their thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from runtime.pagination import PageRequest, encode_cursor, page_params
from runtime.params import IdCursor, IdPath
from services.tracking.resources import ClockDep, TrackingResourcesDep
from services.tracking.schemas import AlertFilter, AlertOut, AlertSettingIn, AlertSettingOut
from services.tracking.service import alerts as alert_service
from shared.carriers import CarrierCode
from shared.pages import Page
from shared.tracking import AlertKind, AlertState

router = APIRouter(prefix="/v1", tags=["alerts"])


@router.get(
    "/alerts",
    summary="List the shop's logistics alerts (物流预警)",
    description="Newest first; filter by state, kind, carrier or number.",
)
async def list_alerts(
    uow: UowDep,
    shop_id: ShopIdDep,
    page: Annotated[PageRequest, Depends(page_params(100, 1000))],
    state: AlertState | None = None,
    kind: AlertKind | None = None,
    carrier: CarrierCode | None = None,
    number: str | None = None,
    before_id: IdCursor = None,
) -> Page[AlertOut]:
    if before_id is not None and page.cursor is None:
        page = PageRequest(page.limit, encode_cursor([before_id]))
    return await alert_service.list_alerts(uow, shop_id, AlertFilter(state, kind, carrier, number), page)


@router.post(
    "/alerts/{alert_id}/ack",
    summary="Acknowledge an alert",
    description=(
        "open -> acknowledged (repeating it is harmless). The alert still resolves by itself when the parcel "
        "moves on or is delivered; a resolved alert cannot be acknowledged (409)."
    ),
    responses=responses(404, 409),
)
async def acknowledge_alert(alert_id: IdPath, uow: UowDep, shop_id: ShopIdDep, clock: ClockDep) -> AlertOut:
    return await alert_service.acknowledge_alert(uow, shop_id, alert_id, await clock.now())


@router.get(
    "/alert-settings",
    summary="Alert thresholds in force",
    description="The shop's default (`*`) and each carrier it has set, with fallbacks filled in.",
)
async def get_alert_settings(uow: UowDep, shop_id: ShopIdDep, res: TrackingResourcesDep) -> Page[AlertSettingOut]:
    return Page.whole(await alert_service.alert_settings(uow, shop_id, res.settings.alert_defaults()))


@router.put(
    "/alert-settings",
    summary="Set alert thresholds for a carrier (or every carrier)",
    description="Fields left out fall back to the shop's all-carrier setting, then to the service defaults.",
)
async def put_alert_settings(
    body: AlertSettingIn, uow: UowDep, shop_id: ShopIdDep, res: TrackingResourcesDep
) -> AlertSettingOut:
    return await alert_service.put_alert_setting(uow, shop_id, body, res.settings.alert_defaults())
