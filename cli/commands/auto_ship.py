"""Auto-ship rules (自动发货规则): the shop's rules that ship its paid orders in batches by themselves, tried
every minute in priority order; a dry run says what a rule would take now and why it leaves the rest (the
reasons' messages are the API's, in Chinese for the seller), its runs what it took."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from waybill_client.models import AutoShipRuleIn, AutoShipRuleOut, AutoShipRuleUpdate, RuleConditions

from cli.api import CliError, ExitCode, connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import bold, emit_json, fields, line, next_page, read_list, say, table, when

auto_ship = typer.Typer(help="Auto-ship rules (自动发货规则): paid orders shipped by themselves.", no_args_is_help=True)
rules = typer.Typer(
    help="The shop's auto-ship rules: list, show, create, update, delete, dry-run, runs.", no_args_is_help=True
)
auto_ship.add_typer(rules, name="rules")
RuleId = Annotated[str, typer.Argument(help="The rule's id (asp_..., from `auto-ship rules list`).")]
COLUMNS = ["id", "priority", "name", "active", "carrier", "conditions", "min_age_minutes", "max_batch", "last_run"]
WIDE = [*COLUMNS, "created_at", "updated_at"]
RUN_COLUMNS = ["at", "id", "batch_id", "carrier", "taken", "skipped", "skipped_by_reason"]
_WINDOW = re.compile(r"(\d\d:\d\d)-(\d\d:\d\d)(?:@([1-7](?:[,-][1-7])*))?")

Province = Annotated[
    list[str] | None, typer.Option("--province", help="Only receivers in this province (浙江 = 浙江省); repeat.")
]
Store = Annotated[
    list[str] | None, typer.Option("--store", help="Only this store's orders (sto_...; own: the shop's own); repeat.")
]
Window = Annotated[
    list[str] | None,
    typer.Option(
        "--window",
        help="Run only from..to, shop time: 09:00-17:30, or 22:00-02:00@1-5 (ISO weekdays it starts on); repeat.",
    ),
]
Carrier = Annotated[str, typer.Option(help="The carrier the rule's batches ship with.")]


def days_of(text: str) -> list[int]:
    """``1-5`` or ``1,3,5`` (or ``1-3,6``) as ISO weekdays."""
    days: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        days += range(int(low), int(high or low) + 1)
    return days


def window_of(value: str) -> dict[str, Any]:
    found = _WINDOW.fullmatch(value.strip())
    if found is None:
        raise CliError(
            ExitCode.USAGE, "invalid_input", f"--window {value!r}: FROM-TO[@DAYS], e.g. 09:00-17:30 or 22:00-02:00@1-5"
        )
    start, end, days = found.groups()
    return {"from": start, "to": end, "days": days_of(days) if days else None}


def grams(value: str | None, option: str) -> int | None:
    """A weight bound in grams; ``none``: no bound."""
    if value is None or value.strip().lower() == "none":
        return None
    if not value.strip().isdigit():
        raise CliError(ExitCode.USAGE, "invalid_input", f"{option} {value!r}: grams, or none")
    return int(value)


def conditions_text(rule: AutoShipRuleOut) -> str:
    """The rule's conditions in a cell: what it takes (every order when none is given)."""
    c = rule.conditions
    parts = []
    if c.provinces:
        parts.append(",".join(c.provinces))
    if c.weight_min_g is not None or c.weight_max_g is not None:
        low = "" if c.weight_min_g is None else c.weight_min_g
        high = "" if c.weight_max_g is None else c.weight_max_g
        parts.append(f"{low}..{high} g")
    if c.stores:
        parts.append("stores " + ",".join(c.stores))
    for w in c.time_windows or []:
        days = f"@{','.join(map(str, w.days))}" if w.days else ""
        parts.append(f"{w.from_}-{w.to}{days}")
    return "; ".join(parts) or "every paid order"


def _row(rule: AutoShipRuleOut) -> dict[str, Any]:
    run = rule.last_run
    last = f"{when(run.at)} took {run.taken} ({run.batch_id})" if run else ""
    return {**dict(rule), "conditions": conditions_text(rule), "last_run": last}


def _said(verb: str, rule: AutoShipRuleOut) -> None:
    state = "" if rule.active else " (paused)"
    say("rule ", bold(rule.id), f" {verb}: {rule.name}, priority {rule.priority}, {rule.carrier}{state}")
    line(f"  takes: {conditions_text(rule)}")


@rules.command("list")
@handled
def rules_list(
    limit: Annotated[int, typer.Option(min=1, max=50, help="Rules per page.")] = 50,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """The shop's rules, in the order they are tried (priority, then age), with their last run."""
    with connect(profile) as client:
        page = read_list(every, client.iter_auto_ship_rules, client.list_auto_ship_rules, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    table("auto-ship rules", [_row(r) for r in page.data], WIDE if wide else COLUMNS)
    next_page(page.has_more, page.next_cursor)


@rules.command("show")
@handled
def rules_show(rule_id: RuleId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One rule, with its last run."""
    with connect(profile) as client:
        rule = client.get_auto_ship_rule(rule_id)
    if as_json:
        emit_json(rule)
        return
    fields({**dict(rule), "conditions": conditions_text(rule), "last_run": _row(rule)["last_run"]})


@rules.command("create")
@handled
def rules_create(
    name: Annotated[str, typer.Argument(help="What the shop calls the rule (江浙沪小件走中通).")],
    carrier: Carrier,
    priority: Annotated[int | None, typer.Option(help="Lower first (100 by default).")] = None,
    province: Province = None,
    weight_min: Annotated[int | None, typer.Option(help="Lowest weight in grams, included.")] = None,
    weight_max: Annotated[int | None, typer.Option(help="Highest weight in grams, included.")] = None,
    store: Store = None,
    window: Window = None,
    min_age: Annotated[int | None, typer.Option(help="Take an order once it has been paid this many minutes.")] = None,
    max_batch: Annotated[int | None, typer.Option(help="Most orders of one run's batch (500 by default).")] = None,
    active: Annotated[bool, typer.Option("--active/--paused", help="Start paused with --paused.")] = True,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Add a rule. It takes the paid orders every condition given holds for (every paid order without one)."""
    conditions: dict[str, Any] = {}
    if province:
        conditions["provinces"] = province
    if weight_min is not None:
        conditions["weight_min_g"] = weight_min
    if weight_max is not None:
        conditions["weight_max_g"] = weight_max
    if store:
        conditions["stores"] = store
    if window:
        conditions["time_windows"] = [window_of(w) for w in window]
    given = {"priority": priority, "min_age_minutes": min_age, "max_batch": max_batch}
    values: dict[str, Any] = {"name": name, "carrier": carrier, **{k: v for k, v in given.items() if v is not None}}
    if not active:
        values["active"] = False
    if conditions:
        values["conditions"] = conditions
    body = request(AutoShipRuleIn, **values)
    with connect(profile) as client:
        rule = client.create_auto_ship_rule(body)
    if as_json:
        emit_json(rule)
    else:
        _said("created", rule)


@rules.command("update")
@handled
def rules_update(
    rule_id: RuleId,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    carrier: Annotated[str | None, typer.Option(help="Ship the rule's batches with this carrier.")] = None,
    priority: Annotated[int | None, typer.Option(help="Lower first.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--paused", help="Resume or pause the rule.")] = None,
    province: Province = None,
    any_province: Annotated[bool, typer.Option(help="Drop the province condition.")] = False,
    weight_min: Annotated[str | None, typer.Option(help="Lowest weight in grams (none: no bound).")] = None,
    weight_max: Annotated[str | None, typer.Option(help="Highest weight in grams (none: no bound).")] = None,
    store: Store = None,
    any_store: Annotated[bool, typer.Option(help="Drop the store condition.")] = False,
    window: Window = None,
    always: Annotated[bool, typer.Option(help="Drop the time windows: the rule runs all day.")] = False,
    min_age: Annotated[int | None, typer.Option(help="Minutes an order must have been paid.")] = None,
    max_batch: Annotated[int | None, typer.Option(help="Most orders of one run's batch.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Change a rule: what is given changes, the rest stays (a condition given replaces that condition only)."""
    values: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "carrier": carrier,
            "priority": priority,
            "active": active,
            "min_age_minutes": min_age,
            "max_batch": max_batch,
        }.items()
        if v is not None
    }
    changes: dict[str, Any] = {}
    if province or any_province:
        changes["provinces"] = [] if any_province else province
    if weight_min is not None:
        changes["weight_min_g"] = grams(weight_min, "--weight-min")
    if weight_max is not None:
        changes["weight_max_g"] = grams(weight_max, "--weight-max")
    if store or any_store:
        changes["stores"] = [] if any_store else store
    if window or always:
        changes["time_windows"] = [] if always else [window_of(w) for w in window or []]
    if not values and not changes:
        raise CliError(ExitCode.USAGE, "invalid_input", "nothing to change: give at least one option")
    with connect(profile) as client:
        if changes:  # the API replaces the conditions whole: the others are the rule's own
            current = client.get_auto_ship_rule(rule_id).conditions
            merged = {**current.model_dump(mode="json", by_alias=True, exclude_none=True), **changes}
            values["conditions"] = request(RuleConditions, **merged)
        rule = client.update_auto_ship_rule(rule_id, request(AutoShipRuleUpdate, **values))
    if as_json:
        emit_json(rule)
    else:
        _said("updated", rule)


@rules.command("delete")
@handled
def rules_delete(rule_id: RuleId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Delete a rule and its runs; the batches it made stay, and go on shipping."""
    with connect(profile) as client:
        client.revoke_auto_ship_rule(rule_id)
    if as_json:
        emit_json({"id": rule_id, "deleted": True})
    else:
        line(f"rule {rule_id} deleted")


@rules.command("dry-run")
@handled
def rules_dry_run(rule_id: RuleId, wide: Wide = False, profile: Profile = None, as_json: JsonOut = False) -> None:
    """What the rule would put in its batch now, and why it leaves the rest (nothing is shipped or recorded)."""
    with connect(profile) as client:
        run = client.apply_rule_dry_run(rule_id)
    if as_json:
        emit_json(run)
        return
    running = "inside its time windows" if run.running else "outside its time windows: it takes nothing now"
    say("rule ", bold(run.rule_id), f" at {when(run.at)} ({running}): would take ", bold(str(run.would_take)))
    if run.order_ids:
        line("  " + " ".join(run.order_ids))
    if run.skipped:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(run.skipped_by_reason.items()))
        line(f"left {run.skipped}: {reasons}")
        columns = ["order_id", "reason", "message", "rule_id"]
        table("left, and why", run.skipped_orders, columns if wide else columns[:3])


@rules.command("runs")
@handled
def rules_runs(
    rule_id: RuleId,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Runs per page.")] = 20,
    cursor: Cursor = None,
    every: Every = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """The rule's runs, newest first: each sweep that took orders, its batch and what it left."""
    with connect(profile) as client:
        page = read_list(
            every, client.iter_auto_ship_runs, client.list_auto_ship_runs, rule_id, limit=limit, cursor=cursor
        )
    if as_json:
        emit_json(page)
        return
    rows = [
        {**dict(r), "skipped_by_reason": ", ".join(f"{k} {v}" for k, v in r.skipped_by_reason.items())}
        for r in page.data
    ]
    table(f"runs of {rule_id}", rows, RUN_COLUMNS)
    next_page(page.has_more, page.next_cursor)
