"""The shop's settings: sender, default carrier and time zone (shipping's settings), when shipments are
confirmed on the marketplace (at print, or at collection with a time of day) and how long before an order's
ship-by time its late-to-ship alert opens, its labels (size, a carrier's own, privacy labels), the marketplace
binding, and each carrier's low-stock threshold (allocation's pools)."""

from __future__ import annotations

import asyncio
import re
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError as PydanticError
from waybill_client import WaybillError
from waybill_client.models import AlertSettingIn, AlertSettingOut, CarrierOut, PoolUpdate, SettingsIn

from services.dashboard import web
from services.dashboard.api import panel
from services.dashboard.pages.home import pools
from services.dashboard.pages.orders import carrier_or_none

router = APIRouter(include_in_schema=False)

CONFIRM_MODES = ("at_print", "at_collection")  # shipping's ConfirmMode
LABEL_SIZES = ("100x150", "100x180", "76x130")  # shipping's LabelSize (the page words each)
_SIZE_FIELD = re.compile(r"size_([A-Z0-9_]{1,32})")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@cache
def zone_names() -> list[str]:
    """The zones offered while typing one (this machine's zone data; shipping checks the one sent)."""
    return sorted(available_timezones())


@router.get("/shops/{shop_id}/settings")
async def settings_page(request: Request, shop_id: str) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    client = access.client

    async def carriers() -> list[CarrierOut]:
        return [c for c in (await client.list_carriers()).data if c.active]

    async def thresholds() -> list[AlertSettingOut]:
        return list((await client.get_alert_settings()).data)

    days = web.state(request).settings.expiring_within_days
    stock, catalogue, alerting = await asyncio.gather(
        panel(pools(client, days)), panel(carriers()), panel(thresholds())
    )
    saved = access.settings or await panel(client.get_shop_settings())  # shop_page read them for the zone
    return web.render(
        request,
        "settings.html",
        access=access,
        saved=saved,
        stock=stock,
        carriers=catalogue,
        alerting=alerting,
        zones=zone_names(),
        confirm_modes=CONFIRM_MODES,
        label_sizes=LABEL_SIZES,
        tab="settings",
    )


@router.post("/shops/{shop_id}/settings")
async def save(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    sender_name: Annotated[str, Form()] = "",
    sender_phone: Annotated[str, Form()] = "",
    sender_address: Annotated[str, Form()] = "",
    default_carrier: Annotated[str, Form()] = "",
    seller_nick: Annotated[str, Form()] = "",
    marketplace_session: Annotated[str, Form()] = "",
    time_zone: Annotated[str, Form()] = "",
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/settings"
    fields: dict[str, Any] = {
        "sender_name": sender_name.strip(),
        "sender_phone": sender_phone.strip(),
        "sender_address": sender_address.strip(),
    }
    # The binding is sent only when typed: left out, the shop's current one stays.
    if seller_nick.strip():
        fields["seller_nick"] = seller_nick.strip()
    if marketplace_session.strip():
        fields["session"] = marketplace_session.strip()
    # Left empty, the shop's zone stays; a zone shipping does not know comes back as its validation_error.
    if time_zone.strip():
        fields["time_zone"] = time_zone.strip()
    try:
        body = SettingsIn(default_carrier=carrier_or_none(default_carrier), **fields)
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error")
    try:
        await access.client.put_shop_settings(body)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "settings_saved")


@router.post("/shops/{shop_id}/settings/confirmation")
async def save_confirmation(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    confirm_mode: Annotated[str, Form()] = "",
    confirm_time: Annotated[str, Form()] = "",
    late_to_ship_lead_minutes: Annotated[str, Form()] = "",
) -> Response:
    """The confirmation mode and its time of day ("": none, only the collection confirms), and the ship-by
    alert's lead; what is left empty of the lead keeps its value."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/settings"
    time = confirm_time.strip()
    if confirm_mode not in CONFIRM_MODES or (time and not _HHMM.fullmatch(time)):
        return web.refused(back, "validation_error", "#confirmation")
    fields: dict[str, Any] = {"confirm_mode": confirm_mode, "confirm_time": time or None}
    try:
        if late_to_ship_lead_minutes.strip():
            fields["late_to_ship_lead_minutes"] = int(late_to_ship_lead_minutes)
        body = SettingsIn(**fields)
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error", "#confirmation")
    try:
        await access.client.put_shop_settings(body)
    except WaybillError as exc:
        return web.failed(back, exc, "#confirmation")
    return web.done(back, "confirmation_saved", "#confirmation")


@router.post("/shops/{shop_id}/settings/labels")
async def save_labels(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    label_size: Annotated[str, Form()] = "",
    privacy_labels: Annotated[str, Form()] = "",
) -> Response:
    """The labels' size, each carrier's own (``size_<CODE>``, "": the shop's) and privacy labels (an unticked
    box is not sent: off)."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/settings"
    sizes = set(LABEL_SIZES)
    form = await request.form()
    own: dict[str, str] = {}
    for name, value in form.multi_items():
        found = _SIZE_FIELD.fullmatch(name)
        if found and isinstance(value, str) and value:
            own[found.group(1)] = value
    if label_size not in sizes or not set(own.values()) <= sizes:
        return web.refused(back, "validation_error", "#labels")
    try:
        # The whole map: a carrier set back to the shop's size is left out of it.
        body = SettingsIn.model_validate(
            {"label_size": label_size, "label_sizes": own, "privacy_labels": privacy_labels == "on"}
        )
    except PydanticError:
        return web.refused(back, "validation_error", "#labels")
    try:
        await access.client.put_shop_settings(body)
    except WaybillError as exc:
        return web.failed(back, exc, "#labels")
    return web.done(back, "labels_saved", "#labels")


@router.post("/shops/{shop_id}/pools/{carrier}")
async def save_pool(
    request: Request,
    shop_id: str,
    carrier: str,
    csrf_token: Annotated[str, Form()] = "",
    low_stock_threshold: Annotated[str, Form()] = "",
    auto_replenish_package: Annotated[str, Form()] = "",
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/settings"
    try:
        code = carrier_or_none(carrier)
        body = PoolUpdate(
            low_stock_threshold=int(low_stock_threshold),
            auto_replenish_package=auto_replenish_package.strip() or None,
        )
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error")
    if code is None:
        return web.refused(back, "validation_error")
    try:
        await access.client.update_pool(code, body)
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "pool_saved", "#pools")


ALERT_FIELDS = ("not_collected_hours", "no_update_hours", "late_grace_hours", "transit_days")


@router.post("/shops/{shop_id}/alert-settings")
async def save_alert_settings(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    carrier: Annotated[str, Form()] = "*",
    not_collected_hours: Annotated[str, Form()] = "",
    no_update_hours: Annotated[str, Form()] = "",
    late_grace_hours: Annotated[str, Form()] = "",
    transit_days: Annotated[str, Form()] = "",
) -> Response:
    """One carrier's alert thresholds ("*": every carrier's default); a field left empty keeps its fallback."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/settings"
    typed = dict(zip(ALERT_FIELDS, (not_collected_hours, no_update_hours, late_grace_hours, transit_days), strict=True))
    try:
        values: dict[str, Any] = {k: float(v) for k, v in typed.items() if v.strip() and k != "transit_days"}
        if typed["transit_days"].strip():
            values["transit_days"] = int(typed["transit_days"])
        code = None if carrier == "*" else carrier_or_none(carrier)
        body = AlertSettingIn(carrier=code, **values)
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error", "#alerting")
    try:
        await access.client.put_alert_settings(body)
    except WaybillError as exc:
        return web.failed(back, exc, "#alerting")
    return web.done(back, "alerting_saved", "#alerting")
