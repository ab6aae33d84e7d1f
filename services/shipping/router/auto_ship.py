"""Auto-ship rules (自动发货规则): a shop's rules for shipping its paid orders in batches by themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import error_doc, responses
from runtime.pagination import PageRequest, page_params
from services.shipping.schemas.auto_ship import (
    MAX_RULES,
    AutoShipRuleIn,
    AutoShipRuleOut,
    AutoShipRuleUpdate,
    AutoShipRunOut,
    DryRunOut,
)
from services.shipping.service import auto_ship
from shared.pages import Page

router = APIRouter(prefix="/v1/auto-ship/rules", tags=["auto-ship"])

_INVALID = error_doc(
    "An invalid rule: a time that is not HH:MM, an unknown carrier or province, weight_min_g above weight_max_g, "
    "a store that is not the shop's",
    {"validation_error": "invalid request: conditions.stores: not a store of this shop: sto_0a1b (or `own`)"},
)

_HOW = (
    "Every minute the shipping worker tries each shop's active rules in priority order (lower first) over its "
    "paid orders, oldest first; an order is the first matching rule's. A rule matches an order when every "
    "condition given holds: the receiver's province is in `provinces` (浙江 and 浙江省 are one), the weight is "
    "within `weight_min_g`..`weight_max_g` (grams, both included), its store is in `stores` (`own`: the shop's "
    "own REST orders). A rule runs only inside one of its `time_windows` (the shop's time zone; `to` at or "
    "before `from` crosses midnight, `days` are the ISO weekdays a window starts on): outside them it takes "
    "nothing and its orders are left to the next rules. An order that matches a rule but was paid less than "
    "`min_age_minutes` ago, or beyond the rule's `max_batch`, waits for that rule. Held orders are no rule's; an "
    "order a batch failed is tried again after 30 minutes. Each rule's orders become one shipment batch with "
    "the rule's carrier (as `POST /v1/shipment-batches`), recorded as a run."
)


@router.get("", summary="The shop's auto-ship rules", description="In the order they are tried: priority, then age.")
async def list_auto_ship_rules(
    shop_id: ShopIdDep, uow: UowDep, page: Annotated[PageRequest, Depends(page_params(50, MAX_RULES))]
) -> Page[AutoShipRuleOut]:
    return await auto_ship.list_rules(uow, shop_id, page)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add an auto-ship rule",
    description=_HOW + f"\n\nA shop has at most {MAX_RULES} rules (409 `conflict`).",
    responses={**responses(409), 422: _INVALID},
)
async def create_auto_ship_rule(body: AutoShipRuleIn, shop_id: ShopIdDep, uow: UowDep) -> AutoShipRuleOut:
    return await auto_ship.create_rule(uow, shop_id, body)


@router.get(
    "/{rule_id}",
    summary="One auto-ship rule",
    description="With its last run (the latest sweep that took orders by it). Another shop's: 404.",
    responses=responses(404),
)
async def get_auto_ship_rule(rule_id: str, shop_id: ShopIdDep, uow: UowDep) -> AutoShipRuleOut:
    return await auto_ship.get_rule(uow, shop_id, rule_id)


@router.patch(
    "/{rule_id}",
    summary="Change an auto-ship rule",
    description="The fields given change (`active: false` pauses it); `conditions`, when given, is replaced whole.",
    responses={**responses(404), 422: _INVALID},
)
async def update_auto_ship_rule(
    rule_id: str, body: AutoShipRuleUpdate, shop_id: ShopIdDep, uow: UowDep
) -> AutoShipRuleOut:
    return await auto_ship.update_rule(uow, shop_id, rule_id, body)


@router.delete(
    "/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an auto-ship rule",
    description="The rule and its runs go; the batches it made stay, and go on shipping.",
    responses=responses(404),
)
async def revoke_auto_ship_rule(rule_id: str, shop_id: ShopIdDep, uow: UowDep) -> None:
    await auto_ship.delete_rule(uow, shop_id, rule_id)


@router.post(
    "/{rule_id}/dry-run",
    summary="What an auto-ship rule would take now",
    description=(
        "The orders the rule would put in its batch if the sweep ran now, and the ones it would leave with the "
        "reason (`held`, `recently_failed`, `taken_by_rule`, `outside_window`, `store_not_in_list`, "
        "`province_not_in_list`, `weight_out_of_range`, `too_young`, `over_max_batch`; counts for all, the first "
        "200 listed). Read among the shop's active rules; an inactive rule is tried as if it were active. "
        "Nothing is shipped or recorded."
    ),
    responses=responses(404),
)
async def apply_rule_dry_run(rule_id: str, shop_id: ShopIdDep, uow: UowDep) -> DryRunOut:
    return await auto_ship.dry_run(uow, shop_id, rule_id)


@router.get(
    "/{rule_id}/runs",
    summary="An auto-ship rule's runs",
    description="Newest first: each sweep that took orders by the rule, with its batch, the orders and what it left.",
    responses=responses(404),
)
async def list_auto_ship_runs(
    rule_id: str, shop_id: ShopIdDep, uow: UowDep, page: Annotated[PageRequest, Depends(page_params(20, 100))]
) -> Page[AutoShipRunOut]:
    return await auto_ship.list_runs(uow, shop_id, rule_id, page)
