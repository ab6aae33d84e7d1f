"""The shop's stock of numbers per carrier (pools), allocating a number, and one number's state."""

from __future__ import annotations

from typing import Annotated

import typer
from waybill_client.models import AllocateRequest, ManualWaybillRequest, PoolOut, PoolUpdate, ReleaseRequest, VoidInfo

from cli.api import connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile
from cli.output import bold, emit_json, fields, line, next_page, read_list, say, table, when, yuan

pools = typer.Typer(help="Stock of numbers per carrier.", no_args_is_help=True)
waybills = typer.Typer(help="One number: its state; register a typed one; release one.", no_args_is_help=True)
COUNTS = ["available", "allocated", "printed", "shipped", "voided", "expired", "quarantined"]


def _pool_row(p: PoolOut) -> dict[str, object]:
    return {
        "carrier": p.carrier,
        **dict(p.counts),
        "expiring soon": p.expiring_soon,
        "threshold": p.low_stock_threshold,
        "replenish": p.auto_replenish_package,
        "low": "LOW" if p.low_stock else "",
        # What the shop paid per number of its available stock (shipping's recommendation ranks by it).
        "cost/number": yuan(p.cost_per_number_cents),
    }


@pools.command("list")
@handled
def pools_list(
    days: Annotated[int, typer.Option(min=1, max=365, help="'Expiring soon': within this many days.")] = 7,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Stock per carrier, with the numbers expiring within DAYS."""
    with connect(profile) as client:
        page = client.list_pools(expiring_within_days=days)
    if as_json:
        emit_json(page)
        return
    columns = ["carrier", *COUNTS, "expiring soon", "cost/number", "threshold", "replenish", "low"]
    table("stock", [_pool_row(p) for p in page.data], columns)


@pools.command("set")
@handled
def pools_set(
    carrier: str,
    threshold: Annotated[int, typer.Argument(help="Low stock below this many available numbers.")],
    replenish: Annotated[str | None, typer.Option(help="Package to auto-buy when stock is low.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Set a pool's low-stock threshold and its auto-replenish package (none: not replenished)."""
    body = request(PoolUpdate, low_stock_threshold=threshold, auto_replenish_package=replenish)
    with connect(profile) as client:
        pool = client.update_pool(carrier, body)
    if as_json:
        emit_json(pool)
    else:
        columns = ["carrier", "available", "threshold", "replenish", "low"]
        table("stock", [_pool_row(pool)], columns)


@pools.command("events")
@handled
def pools_events(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events per page.")] = 50,
    cursor: Cursor = None,
    every: Every = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Low-stock, replenishment and expiry events (expiring, auto_extended, auto_extend_failed, auto_refunded),
    newest first, a page at a time."""
    with connect(profile) as client:
        page = read_list(every, client.iter_stock_events, client.list_stock_events, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    columns = ["id", "created_at", "carrier", "kind", "available", "threshold", "purchase_id", "number", "order_id"]
    rows = [{**dict(e), "expires_at": when(e.expires_at)} for e in page.data]
    if any(e.expires_at is not None for e in page.data):
        columns += ["expires_at", "numbers"]
    table("stock events", rows, columns)
    next_page(page.has_more, page.next_cursor)


@handled
def allocate(carrier: str, order_id: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Allocate a number to an order (idempotent: the same order gets the same number)."""
    body = request(AllocateRequest, carrier=carrier, order_id=order_id)
    with connect(profile) as client:
        a = client.allocate(body)
    if as_json:
        emit_json(a)
        return
    new = "new" if a.created else "already allocated"
    say(f"{a.order_id} -> ", bold(a.number), f" ({new}), expires {when(a.expires_at)}")


def void_text(void: VoidInfo) -> str:
    """A voided number's courier answer and credit, in a line."""
    policy = f"policy {void.credit_policy}" if void.credit_policy else "no purchase to credit"
    match void.courier:
        case "pending":
            return f"the courier has not answered yet ({policy}; see `waybill waybills show`)"
        case "discarded":
            return f"cancelled at the courier, credited {yuan(void.credited_cents)} ({policy})"
        case "collected":
            return "the courier had already collected the parcel: not credited"
        case "refused":
            return f"the courier refused to cancel it ({void.courier_code}): not credited"
        case "not_sent":
            return "a typed number: nothing to cancel at the courier or to credit"
    return f"courier: {void.courier}"


@waybills.command("show")
@handled
def waybills_show(number: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One number's state: its order, purchase and expiry; a voided one's courier answer and credit."""
    with connect(profile) as client:
        info = client.get_waybill(number)
    if as_json:
        emit_json(info)
        return
    values = dict(info)
    void = values.pop("void", None)
    if void is not None:
        values["void"] = void_text(void)
    fields(values)


@waybills.command("register")
@handled
def waybills_register(
    carrier: str, number: str, order_id: str, profile: Profile = None, as_json: JsonOut = False
) -> None:
    """Register a number typed by hand for an order, so that it can never be used twice."""
    body = request(ManualWaybillRequest, carrier=carrier, number=number, order_id=order_id)
    with connect(profile) as client:
        a = client.register_manual_waybill(body)
    if as_json:
        emit_json(a)
    else:
        say(f"{a.order_id} -> ", bold(a.number), " (registered)" if a.created else " (already registered)")


@waybills.command("release")
@handled
def waybills_release(
    number: str,
    order_id: Annotated[str | None, typer.Option("--order", help="Only if the number is this order's.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Release a number: back to the pool, or voided when it had been printed (the courier is asked to cancel
    it, and the shop credited per the package's void-credit policy once it has)."""
    body = request(ReleaseRequest, **({"order_id": order_id} if order_id else {}))
    with connect(profile) as client:
        r = client.release_waybill(number, body)
    if as_json:
        emit_json(r)
    else:
        line(f"{r.number}: {r.status}" + (f"; {void_text(r.void)}" if r.void else ""))
