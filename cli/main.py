"""``waybill``: the operators' and shops' command line, over the services' REST APIs (through waybill_client).

The commands live in ``cli.commands``, one module per part of the API; this module puts them together."""

from __future__ import annotations

import logging
from importlib.metadata import version as package_version
from typing import Annotated

import typer

from cli.commands import (
    alerts,
    auto_ship,
    batches,
    carriers,
    expiry,
    labels,
    order_alerts,
    orders,
    prices,
    purchases,
    reports,
    settings,
    shipments,
    shops,
    stock,
    stores,
    tracking,
    webhooks,
)
from cli.output import console, err, override_timezone

EXIT_CODES = (
    "Exit codes: 0 ok; 1 the command reports a failure (a failed purchase, failed orders in a batch, a printer "
    "that refused); 2 usage, or input the API refused (400, 422); 3 no key, or a key refused (401, 403); 4 not "
    "found; 5 conflict (402, 409); 6 the service failed or is busy (5xx, 429); 7 no answer. With --json an "
    'error is printed on stdout as {"error": {code, message, details, status, request_id}}.'
)
app = typer.Typer(
    help="Waybill backend: shops, stock, allocation, shipping, tracking.", epilog=EXIT_CODES, no_args_is_help=True
)


def _version(value: bool) -> None:
    if value:
        console.print(f"waybill {package_version('waybill')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz",
            help="Show times in this zone (an IANA name: Asia/Shanghai, UTC...); default: the profile's "
            "timezone (WAYBILL_TIMEZONE), else Asia/Shanghai.",
        ),
    ] = None,
) -> None:
    """Options of every command (see EXIT_CODES for what it exits with)."""
    try:
        override_timezone(tz)
    except ValueError as exc:
        err.print(f"error invalid_timezone: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    # The command prints its own output: a library's log lines (httpx logs every request at INFO) would mix
    # into it wherever logging is configured, and break `--json`.
    logging.getLogger("httpx").setLevel(logging.WARNING)


# Shops and keys (operators, the admin key)
app.add_typer(shops.shops, name="shops")
app.add_typer(shops.keys, name="keys")
app.command("topup")(shops.topup)
app.add_typer(prices.prices, name="prices")
# Numbers: catalogue, balance, purchases, stock
app.add_typer(carriers.carriers, name="carriers")
app.command("balance")(purchases.balance)
app.command("purchase")(purchases.purchase)
app.add_typer(purchases.purchases, name="purchases")
app.add_typer(stock.pools, name="pools")
app.command("allocate")(stock.allocate)
app.add_typer(stock.waybills, name="waybills")
app.add_typer(reports.reports, name="reports")
# Shipping
app.add_typer(orders.orders, name="orders")
app.command("ship")(orders.ship)
app.command("cancel")(orders.cancel)
app.command("void")(orders.void)
app.add_typer(shipments.shipments, name="shipments")
app.add_typer(order_alerts.order_alerts, name="order-alerts")
app.add_typer(auto_ship.auto_ship, name="auto-ship")
app.add_typer(batches.batches, name="batch")
app.command("label")(labels.label)
app.add_typer(stores.stores, name="stores")
app.add_typer(settings.settings, name="settings")
settings.settings.command("expiry")(expiry.settings_expiry)  # allocation's, beside shipping's settings
app.add_typer(webhooks.webhooks, name="webhooks")
# Tracking
app.command("track")(tracking.track)
app.add_typer(alerts.alerts, name="alerts")


if __name__ == "__main__":
    app()
