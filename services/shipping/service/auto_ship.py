"""Auto-ship rules (自动发货规则): a shop's rules, read, written and tried out (dry run), and the sweep that
ships its paid orders by them: each rule's orders become one batch through the batch service, the same path as
``POST /v1/shipment-batches`` with the rule's carrier, and the run is recorded on the rule.

Which orders a rule takes is ``auto_ship_rules.plan`` (pure). Never shipping an order twice is the batch
claim's guarantee (an order moves from paid under its row lock, once); the sweep's own guards keep its records
honest on top: a shop is swept by one worker at a time (a transaction-scoped advisory lock), and orders an
open batch holds already are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound
from runtime.logging import get_logger
from runtime.pagination import PageRequest
from services.shipping.auto_ship_rules import (
    OWN_STORE,
    Candidate,
    Conditions,
    Rule,
    RulePlan,
    SkipSummary,
    Window,
    plan,
    province_key,
    summarise,
)
from services.shipping.models import AutoShipRule, AutoShipRun
from services.shipping.repository.auto_ship import AutoShipRepository, CandidateRow
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.resources import ShippingResources
from services.shipping.schemas.auto_ship import (
    MAX_RULES,
    AutoShipRuleIn,
    AutoShipRuleOut,
    AutoShipRuleUpdate,
    AutoShipRunOut,
    DryRunOut,
    RuleConditions,
    SkippedOrder,
)
from services.shipping.schemas.batches import MAX_BATCH, BatchCreate
from services.shipping.schemas.settings import DEFAULT_TIME_ZONE
from services.shipping.service import batches
from services.shipping.service.ids import new_id
from services.shipping.settings import ShippingSettings
from shared.carriers import CarrierCode
from shared.errors import ErrorCode
from shared.pages import Page

log = get_logger(__name__)

# Paid orders one sweep reads per shop, oldest first: the most one batch holds. Older orders are taken first,
# so a backlog drains from its oldest end.
SCAN_LIMIT = MAX_BATCH
# Orders a run records as skipped, beyond their counts per reason.
SKIPPED_KEPT = 200
# An order a batch failed (no stock, an unbound store...) is tried again only after this: not every minute.
RETRY_AFTER = timedelta(minutes=30)


def _rule(row: AutoShipRule) -> Rule:
    c = RuleConditions.model_validate(row.conditions)
    conditions = Conditions(
        provinces=frozenset(province_key(p) for p in c.provinces),
        weight_min_g=c.weight_min_g,
        weight_max_g=c.weight_max_g,
        stores=frozenset(c.stores),
        windows=tuple(Window.of(w.start, w.end, w.days or ()) for w in c.time_windows),
    )
    return Rule(row.id, row.name, row.priority, conditions, row.min_age_minutes, row.max_batch)


def _candidate(row: CandidateRow) -> Candidate:
    return Candidate(
        id=row.id,
        province=row.receiver_state,
        weight_g=row.weight_g,
        store=row.store_id or OWN_STORE,
        paid_at=row.created_at,  # an order is created once it is paid
        held=row.held,
        failed_at=row.failed_at,
    )


def _skipped_orders(summary: SkipSummary) -> list[SkippedOrder]:
    return [
        SkippedOrder(order_id=s.order_id, reason=s.reason, message=s.message, rule_id=s.rule_id) for s in summary.first
    ]


def run_out(run: AutoShipRun, zone: tzinfo) -> AutoShipRunOut:
    return AutoShipRunOut(
        id=run.id,
        rule_id=run.rule_id,
        batch_id=run.batch_id,
        carrier=run.carrier,
        at=run.at.astimezone(zone),
        taken=run.taken,
        order_ids=list(run.order_ids),
        skipped=run.skipped,
        skipped_by_reason=dict(run.skipped_by_reason),
        skipped_orders=[SkippedOrder.model_validate(s) for s in run.skipped_orders],
    )


def rule_out(row: AutoShipRule, last: AutoShipRun | None, zone: tzinfo) -> AutoShipRuleOut:
    return AutoShipRuleOut(
        id=row.id,
        name=row.name,
        priority=row.priority,
        active=row.active,
        carrier=row.carrier,
        conditions=RuleConditions.model_validate(row.conditions),
        min_age_minutes=row.min_age_minutes,
        max_batch=row.max_batch,
        created_at=row.created_at.astimezone(zone),
        updated_at=row.updated_at.astimezone(zone),
        last_run=run_out(last, zone) if last is not None else None,
    )


async def _zone(uow: UnitOfWork, shop_id: str) -> tzinfo:
    shop = await SettingsRepository(uow.session).get(shop_id)
    return ZoneInfo(shop.time_zone if shop else DEFAULT_TIME_ZONE)


def _invalid(field: str, message: str) -> AppError:
    """A 422 in the shape of the request's own validation errors (``details.fields``)."""
    return AppError(
        f"invalid request: {field}: {message}",
        code=ErrorCode.VALIDATION_ERROR,
        status_code=422,
        details={"fields": [{"field": field, "in": "body", "message": message}]},
    )


async def _check_stores(uow: UnitOfWork, shop_id: str, conditions: RuleConditions) -> None:
    """Every store a rule names is one of the shop's (bound or unbound since: its orders stay the shop's)."""
    named = [s for s in conditions.stores if s != OWN_STORE]
    if not named:
        return
    known = {s.id for s in await StoreRepository(uow.session).of_shop(shop_id)}
    unknown = [s for s in named if s not in known]
    if unknown:
        raise _invalid("conditions.stores", f"not a store of this shop: {', '.join(unknown)} (or `{OWN_STORE}`)")


async def _owned(uow: UnitOfWork, shop_id: str, rule_id: str, *, for_update: bool = False) -> AutoShipRule:
    rule = await AutoShipRepository(uow.session).get_owned(shop_id, rule_id, for_update=for_update)
    if rule is None:
        raise NotFound(f"auto-ship rule {rule_id} not found")
    return rule


async def _out(uow: UnitOfWork, shop_id: str, row: AutoShipRule) -> AutoShipRuleOut:
    last = await AutoShipRepository(uow.session).last_runs([row.id])
    return rule_out(row, last.get(row.id), await _zone(uow, shop_id))


async def list_rules(uow: UnitOfWork, shop_id: str, page: PageRequest) -> Page[AutoShipRuleOut]:
    repo = AutoShipRepository(uow.session)
    found = await repo.page(shop_id, page)
    last = await repo.last_runs([r.id for r in found.rows])
    zone = await _zone(uow, shop_id)
    return found.page(lambda r: rule_out(r, last.get(r.id), zone))


async def create_rule(uow: UnitOfWork, shop_id: str, body: AutoShipRuleIn) -> AutoShipRuleOut:
    repo = AutoShipRepository(uow.session)
    if await repo.count_owned(shop_id) >= MAX_RULES:
        raise Conflict(f"a shop has at most {MAX_RULES} auto-ship rules; delete one first", details={"max": MAX_RULES})
    await _check_stores(uow, shop_id, body.conditions)
    row = repo.add(
        {
            "id": new_id("asp"),
            "shop_id": shop_id,
            "name": body.name,
            "priority": body.priority,
            "active": body.active,
            "carrier": body.carrier.value,
            "conditions": body.conditions.model_dump(mode="json", by_alias=True),
            "min_age_minutes": body.min_age_minutes,
            "max_batch": body.max_batch,
        }
    )
    await uow.session.flush()
    await uow.session.refresh(row)
    return rule_out(row, None, await _zone(uow, shop_id))


async def get_rule(uow: UnitOfWork, shop_id: str, rule_id: str) -> AutoShipRuleOut:
    return await _out(uow, shop_id, await _owned(uow, shop_id, rule_id))


async def update_rule(uow: UnitOfWork, shop_id: str, rule_id: str, body: AutoShipRuleUpdate) -> AutoShipRuleOut:
    row = await _owned(uow, shop_id, rule_id, for_update=True)
    if body.conditions is not None:
        await _check_stores(uow, shop_id, body.conditions)
        row.conditions = body.conditions.model_dump(mode="json", by_alias=True)
    if body.carrier is not None:
        row.carrier = body.carrier.value
    for name in ("name", "priority", "active", "min_age_minutes", "max_batch"):
        value = getattr(body, name)
        if value is not None:
            setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    await uow.session.flush()
    return await _out(uow, shop_id, row)


async def delete_rule(uow: UnitOfWork, shop_id: str, rule_id: str) -> None:
    """The rule and its runs go; the batches it made stay (they are the shop's batches)."""
    row = await _owned(uow, shop_id, rule_id, for_update=True)
    await AutoShipRepository(uow.session).delete(row)


async def list_runs(uow: UnitOfWork, shop_id: str, rule_id: str, page: PageRequest) -> Page[AutoShipRunOut]:
    await _owned(uow, shop_id, rule_id)
    zone = await _zone(uow, shop_id)
    return (await AutoShipRepository(uow.session).runs(rule_id, page)).page(lambda r: run_out(r, zone))


async def _plan(uow: UnitOfWork, shop_id: str, rows: list[AutoShipRule], now: datetime, zone: tzinfo) -> list[RulePlan]:
    candidates = await AutoShipRepository(uow.session).candidates(shop_id, now - RETRY_AFTER, SCAN_LIMIT)
    return plan([_rule(r) for r in rows], [_candidate(c) for c in candidates], now, zone)


async def dry_run(uow: UnitOfWork, shop_id: str, rule_id: str, now: datetime | None = None) -> DryRunOut:
    """What the rule would take now among the shop's active rules (an inactive rule as if it were active, in
    its place by priority), and why it would leave the rest. Nothing is written."""
    now = now or datetime.now(UTC)
    target = await _owned(uow, shop_id, rule_id)
    rows = [r for r in await AutoShipRepository(uow.session).of_shop(shop_id, active_only=True) if r.id != rule_id]
    rows = sorted([*rows, target], key=lambda r: (r.priority, r.created_at, r.id))
    zone = await _zone(uow, shop_id)
    found = next(p for p in await _plan(uow, shop_id, rows, now, zone) if p.rule.id == rule_id)
    summary = summarise(found.skipped, SKIPPED_KEPT)
    return DryRunOut(
        rule_id=rule_id,
        carrier=target.carrier,
        at=now.astimezone(zone),
        running=found.running,
        would_take=len(found.taken),
        order_ids=found.taken,
        skipped=summary.total,
        skipped_by_reason=summary.by_reason,
        skipped_orders=_skipped_orders(summary),
    )


async def sweep(res: ShippingResources, now: datetime | None = None) -> int:
    """Every shop with an active rule, each in its own transaction (one shop's trouble is not another's):
    the orders its rules take become one batch per rule. Answers how many orders were batched."""
    async with res.transaction() as uow:
        shop_ids = await AutoShipRepository(uow.session).shops_with_active_rules()
    taken = 0
    for shop_id in shop_ids:
        try:
            async with res.transaction() as uow:
                taken += await sweep_shop(uow, res.settings, shop_id, now or datetime.now(UTC))
        except Exception:
            log.exception("auto_ship_shop_failed", shop_id=shop_id)
    return taken


async def sweep_shop(uow: UnitOfWork, settings: ShippingSettings, shop_id: str, now: datetime) -> int:
    repo = AutoShipRepository(uow.session)
    if not await repo.try_lock_shop(shop_id):
        return 0  # another worker's sweep has the shop right now
    rows = await repo.of_shop(shop_id, active_only=True)
    if not rows:
        return 0  # paused or deleted since the sweep listed the shop
    carriers = {r.id: r.carrier for r in rows}
    taken = 0
    for p in await _plan(uow, shop_id, rows, now, await _zone(uow, shop_id)):
        if not p.taken:
            continue
        carrier = carriers[p.rule.id]
        body = BatchCreate(order_ids=p.taken, carrier=CarrierCode(carrier))
        batch = await batches.create_batch(uow, settings, shop_id, body)
        summary = summarise(p.skipped, SKIPPED_KEPT)
        repo.add_run(
            {
                "id": new_id("asr"),
                "shop_id": shop_id,
                "rule_id": p.rule.id,
                "batch_id": batch.id,
                "carrier": carrier,
                "taken": len(p.taken),
                "order_ids": p.taken,
                "skipped": summary.total,
                "skipped_by_reason": summary.by_reason,
                "skipped_orders": [s.model_dump(mode="json") for s in _skipped_orders(summary)],
                "at": now,
            }
        )
        log.info("auto_ship_batch", shop_id=shop_id, rule_id=p.rule.id, batch_id=batch.id, orders=len(p.taken))
        taken += len(p.taken)
    return taken
