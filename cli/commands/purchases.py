"""Buying numbers and what follows a purchase: the list, refunds of unused numbers, extensions, resync; and
the balance they are paid from."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Annotated

import typer
from waybill_client import WaybillClient
from waybill_client.models import ExtendRequest, PurchaseCreate, PurchaseOut, RefundRequest

from cli.api import ExitCode, connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import bold, emit_json, fields, line, next_page, read_list, say, table, when, yuan

purchases = typer.Typer(
    help="Purchases of numbers: alone, the list (a page at a time); refund, extend, resync one.",
    invoke_without_command=True,
)
PurchaseId = Annotated[str, typer.Argument(help="The purchase's id (from `purchases`).")]
Limit = Annotated[int, typer.Option(min=1, max=500, help="Purchases per page.")]
COLUMNS = ["id", "carrier", "package_id", "status", "numbers_received", "price", "refunded", "expires_at"]
WIDE = [
    *COLUMNS,
    *("price_source", "quantity", "numbers_quarantined", "numbers_credited", "attempts", "created_at", "error"),
]
MONEY = ("price_cents", "refunded_cents")
POLL_S = 1.0


def _rows(items: Sequence[PurchaseOut]) -> list[dict[str, object]]:
    return [{**dict(p), "price": yuan(p.price_cents), "refunded": yuan(p.refunded_cents)} for p in items]


def _summary(p: PurchaseOut) -> None:
    error = f" ({p.error})" if p.error else ""
    say(f"purchase {p.id}: ", bold(p.status), f", {p.numbers_received} numbers{error}")


@handled
def purchase(
    carrier: str,
    package_id: str,
    wait: Annotated[bool, typer.Option(help="Wait until the courier issued the numbers.")] = True,
    key: Annotated[str | None, typer.Option(help="Idempotency key (repeat it to retry safely).")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Buy a package of numbers (paid from the balance)."""
    body = request(PurchaseCreate, carrier=carrier, package_id=package_id)
    # Our own key, printed: the same command with --key after a crash returns this purchase, never a second.
    idem = key or f"cli-{uuid.uuid4().hex}"
    with connect(profile) as client:
        p = client.create_purchase(body, idempotency_key=idem)
        if not as_json:
            line(f"purchase {p.id} ({idem}): {p.status}, {yuan(p.price_cents)}")
        if wait:
            p = _wait(client, p)
    if as_json:
        emit_json(p)
    else:
        _summary(p)
    if p.status == "failed":
        raise typer.Exit(int(ExitCode.FAILED))


def _wait(client: WaybillClient, p: PurchaseOut) -> PurchaseOut:
    while p.status == "pending":
        time.sleep(POLL_S)
        p = client.get_purchase(p.id)
    return p


@purchases.callback()
@handled
def purchases_main(
    ctx: typer.Context,
    limit: Limit = 50,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Recent purchases, newest first, a page at a time (or a command on one purchase)."""
    if ctx.invoked_subcommand is None:
        list_page(limit, cursor, every, wide, profile, as_json)


def list_page(limit: int, cursor: str | None, every: bool, wide: bool, profile: str | None, as_json: bool) -> None:
    with connect(profile) as client:
        page = read_list(every, client.iter_purchases, client.list_purchases, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    table("purchases", _rows(page.data), WIDE if wide else COLUMNS)
    next_page(page.has_more, page.next_cursor)


@purchases.command("list")
@handled
def purchases_list(
    limit: Limit = 50,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Recent purchases, newest first, a page at a time (--all: every one)."""
    list_page(limit, cursor, every, wide, profile, as_json)


@purchases.command("show")
@handled
def purchases_show(purchase_id: PurchaseId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One purchase."""
    with connect(profile) as client:
        p = client.get_purchase(purchase_id)
    if as_json:
        emit_json(p)
    else:
        fields(p, money=MONEY)


@purchases.command("refund")
@handled
def purchases_refund(
    purchase_id: PurchaseId,
    count: Annotated[
        int | None,
        typer.Option(min=1, help="Refund exactly this many (those the pool would hand out last); default: all."),
    ] = None,
    key: Annotated[str | None, typer.Option(help="Idempotency key (repeat it to retry safely).")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Refund a purchase's numbers never handed out (pro rata), all or --count of them; the numbers allocated
    stay yours. Fewer unused than --count: nothing refunded (exit 5, not_enough_unused)."""
    body = request(RefundRequest, count=count) if count is not None else None
    # Our own key, printed: the same command with --key after a crash refunds once, never --count twice.
    idem = key or f"cli-{uuid.uuid4().hex}"
    with connect(profile) as client:
        r = client.refund_purchase(purchase_id, body, idempotency_key=idem)
    if as_json:
        emit_json(r)
        return
    say(
        f"purchase {r.purchase_id}: {r.refunded_quantity} numbers refunded, {yuan(r.refunded_cents)} credited; "
        "balance ",
        bold(yuan(r.balance_cents)),
        f" ({idem})" if count is not None else "",
    )


@purchases.command("extend")
@handled
def purchases_extend(
    purchase_id: PurchaseId,
    days: Annotated[int, typer.Argument(help="Days to add to the numbers' validity (1-365).")],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Extend the validity of a purchase's unused numbers, for the package's fee."""
    body = request(ExtendRequest, days=days)
    with connect(profile) as client:
        x = client.extend_purchase(purchase_id, body)
    if as_json:
        emit_json(x)
        return
    say(
        f"purchase {x.purchase_id}: {x.numbers_extended} numbers valid until {when(x.expires_at)}, fee "
        f"{yuan(x.fee_cents)}; balance ",
        bold(yuan(x.balance_cents)),
    )


@purchases.command("resync")
@handled
def purchases_resync(purchase_id: PurchaseId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Ask the courier again what it issued for a purchase (after a failure or a timeout)."""
    with connect(profile) as client:
        p = client.resync_purchase(purchase_id)
    if as_json:
        emit_json(p)
    else:
        _summary(p)


@handled
def balance(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Ledger entries to show.")] = 100,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """The shop's balance and its latest ledger entries, each with why (--wide: what its kind means too)."""
    with connect(profile) as client:
        data = client.get_balance(limit=limit)
    if as_json:
        emit_json(data)
        return
    say("balance ", bold(yuan(data.balance_cents)))
    rows = [{**dict(e), "amount": yuan(e.amount_cents), "after": yuan(e.balance_after_cents)} for e in data.ledger]
    columns = ["created_at", "kind", "amount", "after", "reference", "note"]
    table("ledger", rows, [*columns, "reason"] if wide else columns)
