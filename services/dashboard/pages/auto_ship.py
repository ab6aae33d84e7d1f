"""自动发货: the shop's auto-ship rules (shipping tries them every minute in priority order over its paid orders,
each rule's orders shipped as one batch with its carrier): the list with each rule's last run, a form to add
one (provinces, a weight range, stores, a time window on some weekdays, a minimum age, a batch limit), one
rule with its last runs, pausing, resuming and deleting it, and its dry run (what it would take now and why it
leaves the rest, each reason in the seller's words; nothing is shipped or recorded)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError as PydanticError
from waybill_client import WaybillError
from waybill_client.models import AutoShipRuleIn, AutoShipRuleUpdate, CarrierOut

from services.dashboard import web
from services.dashboard.api import paged, panel
from services.dashboard.pages.orders import carrier_or_none
from services.dashboard.pages.stores import STORES_SHOWN
from services.dashboard.web import Cursor

router = APIRouter(include_in_schema=False)

OWN_STORE = "own"  # the shop's own (REST) orders, as a rule's stores name them
WEEKDAYS = tuple(range(1, 8))  # ISO: 1 Monday .. 7 Sunday
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _int(value: str) -> int | None:
    """A number typed in the form; "" is none (ValueError when it is no whole number)."""
    value = value.strip()
    return int(value) if value else None


def rule_body(
    *,
    name: str,
    carrier: str,
    priority: str,
    provinces: str,
    weight_min_g: str,
    weight_max_g: str,
    stores: list[str],
    window_from: str,
    window_to: str,
    days: list[str],
    min_age_minutes: str,
    max_batch: str,
    active: bool,
) -> AutoShipRuleIn:
    """The rule the form describes; ValueError (or pydantic's) for what shipping would refuse anyway."""
    chosen = carrier_or_none(carrier)
    if chosen is None:
        raise ValueError("carrier")
    conditions: dict[str, Any] = {}
    named = [p for p in _SEPARATORS.split(provinces.strip()) if p]
    if named:
        conditions["provinces"] = named
    for key, typed in (("weight_min_g", weight_min_g), ("weight_max_g", weight_max_g)):
        grams = _int(typed)
        if grams is not None:
            conditions[key] = grams
    if stores:
        conditions["stores"] = list(dict.fromkeys(s for s in stores if s))
    start, end = window_from.strip(), window_to.strip()
    if start or end:
        if not (_HHMM.fullmatch(start) and _HHMM.fullmatch(end)):
            raise ValueError("time window")
        weekdays = sorted({int(d) for d in days if d.isdigit() and int(d) in WEEKDAYS})
        conditions["time_windows"] = [{"from": start, "to": end, "days": weekdays or None}]
    values: dict[str, Any] = {"name": name.strip(), "carrier": chosen, "active": active}
    for key, typed in (("priority", priority), ("min_age_minutes", min_age_minutes), ("max_batch", max_batch)):
        number = _int(typed)
        if number is not None:
            values[key] = number
    if conditions:
        values["conditions"] = conditions
    return AutoShipRuleIn.model_validate(values)


@router.get("/shops/{shop_id}/auto-ship")
async def rules_page(request: Request, shop_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    client = access.client

    async def carriers() -> list[CarrierOut]:
        return [c for c in (await client.list_carriers()).data if c.active]

    limit = web.state(request).settings.rules_shown
    rules, stores, catalogue = await asyncio.gather(
        paged(client.list_auto_ship_rules(limit=limit, cursor=cursor)),
        paged(client.list_stores(limit=STORES_SHOWN)),
        panel(carriers()),
    )
    return web.render(
        request,
        "auto_ship.html",
        access=access,
        rules=rules,
        stores=stores,
        carriers=catalogue,
        weekdays=WEEKDAYS,
        own=OWN_STORE,
        cursor=cursor,
        tab="auto-ship",
    )


@router.post("/shops/{shop_id}/auto-ship")
async def create_rule(
    request: Request,
    shop_id: str,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    carrier: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
    provinces: Annotated[str, Form()] = "",
    weight_min_g: Annotated[str, Form()] = "",
    weight_max_g: Annotated[str, Form()] = "",
    stores: Annotated[list[str] | None, Form()] = None,
    window_from: Annotated[str, Form()] = "",
    window_to: Annotated[str, Form()] = "",
    days: Annotated[list[str] | None, Form()] = None,
    min_age_minutes: Annotated[str, Form()] = "",
    max_batch: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/auto-ship"
    try:
        body = rule_body(
            name=name,
            carrier=carrier,
            priority=priority,
            provinces=provinces,
            weight_min_g=weight_min_g,
            weight_max_g=weight_max_g,
            stores=stores or [],
            window_from=window_from,
            window_to=window_to,
            days=days or [],
            min_age_minutes=min_age_minutes,
            max_batch=max_batch,
            active=bool(active),
        )
    except (ValueError, PydanticError):
        return web.refused(back, "validation_error", "#create")
    try:
        rule = await access.client.create_auto_ship_rule(body)
    except WaybillError as exc:  # an unknown province, a store not the shop's...: shipping's 422 says which
        return web.failed(back, exc, "#create")
    return web.done(f"{back}/{web.seg(rule.id)}", "rule_created")


@router.get("/shops/{shop_id}/auto-ship/{rule_id}")
async def rule_page(request: Request, shop_id: str, rule_id: str, cursor: Cursor = None) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    try:
        rule = await access.client.get_auto_ship_rule(rule_id)
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    limit = web.state(request).settings.runs_shown
    runs = await paged(access.client.list_auto_ship_runs(rule_id, limit=limit, cursor=cursor))
    return web.render(
        request, "auto_ship_rule.html", access=access, rule=rule, runs=runs, cursor=cursor, tab="auto-ship"
    )


@router.get("/shops/{shop_id}/auto-ship/{rule_id}/dry-run")
async def dry_run(request: Request, shop_id: str, rule_id: str) -> Response:
    """A page, not a form: the dry run changes nothing (shipping answers it from a POST of its own)."""
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    try:
        rule, found = await asyncio.gather(
            access.client.get_auto_ship_rule(rule_id), access.client.apply_rule_dry_run(rule_id)
        )
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    return web.render(request, "auto_ship_dry_run.html", access=access, rule=rule, run=found, tab="auto-ship")


@router.post("/shops/{shop_id}/auto-ship/{rule_id}/active")
async def set_active(
    request: Request,
    shop_id: str,
    rule_id: str,
    csrf_token: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Pause (``active`` "0") or resume ("1") a rule."""
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    back = f"{access.base}/auto-ship/{web.seg(rule_id)}"
    if active not in ("0", "1"):
        return web.refused(back, "validation_error")
    try:
        await access.client.update_auto_ship_rule(rule_id, AutoShipRuleUpdate(active=active == "1"))
    except WaybillError as exc:
        return web.failed(back, exc)
    return web.done(back, "rule_resumed" if active == "1" else "rule_paused")


@router.post("/shops/{shop_id}/auto-ship/{rule_id}/delete")
async def delete_rule(
    request: Request, shop_id: str, rule_id: str, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    access = await web.shop_form(request, shop_id, csrf_token)
    if isinstance(access, Response):
        return access
    try:
        await access.client.revoke_auto_ship_rule(rule_id)
    except WaybillError as exc:
        return web.failed(f"{access.base}/auto-ship/{web.seg(rule_id)}", exc)
    return web.done(f"{access.base}/auto-ship", "rule_deleted")
