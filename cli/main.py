"""``waybill``: the operators' and shops' command line, over the services' REST APIs only."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.api import Api, ApiError
from cli.config import load

app = typer.Typer(help="Waybill backend: shops, stock, allocation, shipping, tracking.", no_args_is_help=True)
shops = typer.Typer(help="Shops and API keys (admin).", no_args_is_help=True)
pools = typer.Typer(help="Stock per carrier.", no_args_is_help=True)
batches = typer.Typer(help="Batch shipping.", no_args_is_help=True)
alerts = typer.Typer(help="Logistics alerts (物流预警).", no_args_is_help=True)
webhooks = typer.Typer(help="Outgoing webhooks to the shop's systems.", no_args_is_help=True)
for sub, name in ((shops, "shops"), (pools, "pools"), (batches, "batch"), (alerts, "alerts"), (webhooks, "webhooks")):
    app.add_typer(sub, name=name)

console = Console()
err = Console(stderr=True)
T = TypeVar("T")
Profile = Annotated[str | None, typer.Option("--profile", "-p", help="Profile in the config file.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]


def run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ApiError as exc:
        err.print(f"[red]error[/] {exc.code}: {exc.message}")
        raise typer.Exit(1) from None


def api(profile: str | None, *, admin: bool = False) -> Api:
    return run(lambda: Api(load(profile), admin=admin))


def table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*(_cell(r.get(c)) for c in columns))
    console.print(t)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def show(data: Any, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(data, ensure_ascii=False, default=str))
        return
    if isinstance(data, dict):
        t = Table(show_header=False)
        for k, v in data.items():
            t.add_row(k, _cell(v))
        console.print(t)
    else:
        console.print(data)


def to_cents(amount: str) -> int:
    """Yuan as typed ("1000.5") to integer cents, exactly: never through a float."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        err.print(f"[red]error[/] not an amount: {amount!r}")
        raise typer.Exit(2) from None
    cents = value * 100
    if cents != cents.to_integral_value() or cents <= 0:
        err.print(f"[red]error[/] amount must be positive with at most 2 decimals: {amount!r}")
        raise typer.Exit(2)
    return int(cents)


def yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


# --- shops (admin) ----------------------------------------------------------------------------


@shops.command("create")
def shops_create(name: str, profile: Profile = None) -> None:
    """Create a shop; prints its API key once."""
    shop = run(lambda: api(profile, admin=True).post("allocation", "/v1/shops", json={"name": name}))
    console.print(f"shop [bold]{shop['id']}[/] created")
    console.print(f"API key (shown once, store it now): [bold]{shop['api_key']}[/]")


@shops.command("add-key")
def shops_add_key(shop_id: str, label: str = "cli", profile: Profile = None) -> None:
    """Issue another API key for a shop."""
    key = run(lambda: api(profile, admin=True).post("allocation", f"/v1/shops/{shop_id}/keys", json={"label": label}))
    console.print(f"key {key['key_id']}: [bold]{key['api_key']}[/] (shown once)")


@shops.command("revoke-key")
def shops_revoke_key(shop_id: str, key_id: str, profile: Profile = None) -> None:
    """Revoke a shop's API key."""
    run(lambda: api(profile, admin=True).delete("allocation", f"/v1/shops/{shop_id}/keys/{key_id}"))
    console.print(f"key {key_id} revoked")


@app.command()
def topup(
    shop_id: str,
    amount: Annotated[str, typer.Argument(help="Amount in yuan, e.g. 1000.50")],
    profile: Profile = None,
) -> None:
    """Top up a shop's balance (admin)."""
    cents = to_cents(amount)
    body = run(
        lambda: api(profile, admin=True).post("allocation", f"/v1/shops/{shop_id}/topups", json={"amount_cents": cents})
    )
    console.print(f"balance {yuan(body['balance_cents'])}")


# --- catalogue, balance, purchases ----------------------------------------------------------


@app.command()
def carriers(profile: Profile = None, as_json: JsonOut = False) -> None:
    """The carrier catalogue with packages on sale."""
    data = run(lambda: api(profile).get("allocation", "/v1/carriers"))
    if as_json:
        show(data, True)
        return
    rows = [
        {
            "code": c["code"],
            "name": c["name_zh"],
            "packages": ", ".join(f"{p['id']} {yuan(p['price_cents'])}/{p['validity_days']}d" for p in c["packages"]),
            "provinces": len(c["coverage"]),
        }
        for c in data
    ]
    table("carriers", rows, ["code", "name", "packages", "provinces"])


@app.command()
def balance(profile: Profile = None, as_json: JsonOut = False) -> None:
    """The shop's balance and recent ledger."""
    data = run(lambda: api(profile).get("allocation", "/v1/balance"))
    if as_json:
        show(data, True)
        return
    console.print(f"balance [bold]{yuan(data['balance_cents'])}[/]")
    rows = [{**e, "amount": yuan(e["amount_cents"]), "after": yuan(e["balance_after_cents"])} for e in data["ledger"]]
    table("ledger", rows, ["created_at", "kind", "amount", "after", "reference"])


@app.command()
def purchase(
    carrier: str,
    package_id: str,
    wait: Annotated[bool, typer.Option(help="Wait until the courier issued the numbers.")] = True,
    key: Annotated[str | None, typer.Option(help="Idempotency key (repeat it to retry safely).")] = None,
    profile: Profile = None,
) -> None:
    """Buy a package of numbers."""
    client = api(profile)
    idem = key or f"cli-{uuid.uuid4().hex}"
    p = run(
        lambda: client.post(
            "allocation",
            "/v1/purchases",
            json={"carrier": carrier, "package_id": package_id},
            headers={"Idempotency-Key": idem},
        )
    )
    console.print(f"purchase {p['id']} ({idem}): {p['status']}")
    path = f"/v1/purchases/{p['id']}"
    while wait and p["status"] == "pending":
        time.sleep(1)
        p = run(lambda: client.get("allocation", path))
    console.print(
        f"purchase {p['id']}: [bold]{p['status']}[/], {p['numbers_received']} numbers"
        + (f" ({p['error']})" if p["error"] else "")
    )
    if p["status"] == "failed":
        raise typer.Exit(1)


@app.command()
def purchases(profile: Profile = None, as_json: JsonOut = False) -> None:
    """Recent purchases."""
    data = run(lambda: api(profile).get("allocation", "/v1/purchases"))
    if as_json:
        show(data, True)
        return
    table("purchases", data, ["id", "carrier", "package_id", "status", "numbers_received", "expires_at", "error"])


@pools.command("list")
def pools_list(days: int = 7, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Stock per carrier, with numbers expiring within DAYS."""
    data = run(lambda: api(profile).get("allocation", "/v1/pools", params={"expiring_within_days": days}))
    if as_json:
        show(data, True)
        return
    rows = [
        {
            "carrier": p["carrier"],
            **p["counts"],
            "expiring soon": p["expiring_soon"],
            "threshold": p["low_stock_threshold"],
            "low": "LOW" if p["low_stock"] else "",
        }
        for p in data
    ]
    table(
        "stock",
        rows,
        [
            "carrier",
            "available",
            "allocated",
            "printed",
            "shipped",
            "voided",
            "expired",
            "quarantined",
            "expiring soon",
            "threshold",
            "low",
        ],
    )


@pools.command("set")
def pools_set(
    carrier: str,
    threshold: int,
    replenish: Annotated[str | None, typer.Option(help="Package to auto-buy.")] = None,
    profile: Profile = None,
) -> None:
    """Set a pool's low-stock threshold and auto-replenish package."""
    body = {"low_stock_threshold": threshold, "auto_replenish_package": replenish}
    show(run(lambda: api(profile).put("allocation", f"/v1/pools/{carrier}", json=body)), False)


@app.command()
def allocate(carrier: str, order_id: str, profile: Profile = None) -> None:
    """Allocate a number to an order (idempotent)."""
    a = run(lambda: api(profile).post("allocation", "/v1/allocations", json={"carrier": carrier, "order_id": order_id}))
    console.print(
        f"{a['order_id']} -> [bold]{a['number']}[/] ({'new' if a['created'] else 'already allocated'}), "
        f"expires {a['expires_at']}"
    )


# --- shipping ---------------------------------------------------------------------------------


@app.command()
def ship(
    order_id: str,
    carrier: Annotated[str | None, typer.Option(help="Recommended when absent.")] = None,
    number: Annotated[str | None, typer.Option(help="A number you typed; from the pool when absent.")] = None,
    profile: Profile = None,
) -> None:
    """Ship one order."""
    body = {k: v for k, v in {"carrier": carrier, "number": number}.items() if v}
    show(run(lambda: api(profile).post("shipping", f"/v1/orders/{order_id}/ship", json=body)), False)


@batches.command("ship")
def batch_ship(
    order_ids: Annotated[list[str] | None, typer.Argument(help="Order ids (or --file).")] = None,
    file: Annotated[Path | None, typer.Option(help="A file with one order id per line.")] = None,
    carrier: str | None = None,
    wait: bool = True,
    profile: Profile = None,
) -> None:
    """Ship many orders in one batch, with a live progress bar."""
    ids = list(order_ids or [])
    if file is not None:
        ids += [line.strip() for line in file.read_text().splitlines() if line.strip()]
    if not ids:
        err.print("[red]error[/] no order ids given")
        raise typer.Exit(2)
    client = api(profile)
    body: dict[str, Any] = {"order_ids": ids}
    if carrier:
        body["carrier"] = carrier
    batch = run(lambda: client.post("shipping", "/v1/shipment-batches", json=body))
    console.print(f"batch [bold]{batch['id']}[/]: {batch['total']} orders")
    if wait:
        batch = _follow(client, batch)
    summary = {k: batch.get(k) for k in ("id", "status", "total", "done", "failed", "skipped")}
    show(summary, False)
    if batch.get("failed"):
        raise typer.Exit(1)


def _follow(client: Api, batch: dict[str, Any]) -> dict[str, Any]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=not sys.stdout.isatty()) as progress:
        task = progress.add_task("shipping", total=batch["total"])
        path = f"/v1/shipment-batches/{batch['id']}"
        while True:
            batch = run(lambda: client.get("shipping", path, params={"limit": 0}))
            finished = batch["done"] + batch["failed"] + batch.get("skipped", 0)
            progress.update(task, completed=finished, description=f"shipping (failed {batch['failed']})")
            if batch["status"] in ("completed", "finished", "done") or finished >= batch["total"]:
                break
            time.sleep(0.5)
    console.print(f"progress: {finished}/{batch['total']} (done {batch['done']}, failed {batch['failed']})")
    return batch


@batches.command("status")
def batch_status(batch_id: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """A batch's progress."""
    show(run(lambda: api(profile).get("shipping", f"/v1/shipment-batches/{batch_id}", params={"limit": 0})), as_json)


@app.command()
def label(
    shipment_id: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the PDF.")] = Path("label.pdf"),
    batch: Annotated[bool, typer.Option(help="SHIPMENT_ID is a batch id: all its labels in one PDF.")] = False,
    profile: Profile = None,
) -> None:
    """Download a label (or a batch's labels) as PDF."""
    path = f"/v1/shipment-batches/{shipment_id}/labels.pdf" if batch else f"/v1/shipments/{shipment_id}/label.pdf"
    data = run(lambda: api(profile).get("shipping", path))
    out.write_bytes(data)
    console.print(f"wrote {out} ({len(data):,} bytes)")


# --- tracking and alerts ----------------------------------------------------------------------


@app.command()
def track(
    number_or_order: str,
    order: Annotated[bool, typer.Option(help="The argument is an order id.")] = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """A parcel's status, timeline and alerts."""
    path = f"/v1/orders/{number_or_order}/tracking" if order else f"/v1/trackings/{number_or_order}"
    data = run(lambda: api(profile).get("tracking", path))
    if as_json:
        show(data, True)
        return
    console.print(f"[bold]{data.get('carrier')} {data.get('number')}[/]: {data.get('status')}")
    events = data.get("timeline") or data.get("events") or []
    table(
        "timeline",
        events,
        [c for c in ("occurred_at", "status", "description", "location") if any(c in e for e in events)]
        or ["occurred_at", "status"],
    )


@alerts.command("list")
def alerts_list(
    state: str | None = "open",
    kind: str | None = None,
    carrier: str | None = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Alerts, by state (open, acknowledged, resolved), kind and carrier."""
    params = {k: v for k, v in {"state": state, "kind": kind, "carrier": carrier}.items() if v}
    data = run(lambda: api(profile).get("tracking", "/v1/alerts", params=params))
    if as_json:
        show(data, True)
        return
    rows = data if isinstance(data, list) else data.get("items", [])
    table("alerts", rows, ["id", "kind", "state", "carrier", "number", "order_id", "opened_at", "message"])


@alerts.command("ack")
def alerts_ack(alert_id: int, profile: Profile = None) -> None:
    """Acknowledge an alert."""
    a = run(lambda: api(profile).post("tracking", f"/v1/alerts/{alert_id}/ack"))
    console.print(f"alert {alert_id}: {a.get('state')}")


@webhooks.command("failures")
def webhooks_failures(profile: Profile = None, as_json: JsonOut = False) -> None:
    """Deliveries that finally failed."""
    data = run(lambda: api(profile).get("shipping", "/v1/webhook-deliveries", params={"status": "failed"}))
    if as_json:
        show(data, True)
        return
    table("failed deliveries", data, ["id", "event_type", "attempts", "last_status", "last_error", "created_at"])


@webhooks.command("resend")
def webhooks_resend(delivery_id: str, profile: Profile = None) -> None:
    """Send a failed delivery again (same event id)."""
    d = run(lambda: api(profile).post("shipping", f"/v1/webhook-deliveries/{delivery_id}/resend"))
    console.print(f"delivery {delivery_id}: {d.get('status')}")


if __name__ == "__main__":
    app()
