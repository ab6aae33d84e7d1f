"""A shop's negotiated package prices: operators' commands (the admin key). The shop sees what it pays in
`waybill carriers` (its price of each package)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from waybill_client.models import ShopPriceCreate, ShopPriceOut

from cli.api import CliError, ExitCode, connect, handled, request
from cli.commands.orders import moment
from cli.options import JsonOut, Profile
from cli.output import emit_json, line, table, to_cents, when, yuan

prices = typer.Typer(help="A shop's negotiated package prices (admin key).", no_args_is_help=True)
ShopId = Annotated[str, typer.Argument(help="The shop's id.")]
COLUMNS = ["id", "package_id", "carrier", "price", "catalogue", "valid_from", "valid_to", "state", "note"]


def _state(p: ShopPriceOut) -> str:
    if p.revoked_at is not None:
        return f"revoked {when(p.revoked_at)}"
    return "in force" if p.in_force else "not in force now"


def _rows(items: Sequence[ShopPriceOut]) -> list[dict[str, Any]]:
    return [
        {
            **dict(p),
            "price": yuan(p.price_cents),
            "catalogue": yuan(p.catalogue_price_cents),
            "valid_from": when(p.valid_from),
            "valid_to": when(p.valid_to) or "open-ended",
            "state": _state(p),
        }
        for p in items
    ]


@prices.command("list")
@handled
def prices_list(shop_id: ShopId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Every negotiated price of the shop, revoked ones too, latest period first."""
    with connect(profile, admin=True) as client:
        page = client.list_shop_prices(shop_id)
    if as_json:
        emit_json(page)
        return
    table("negotiated prices", _rows(page.data), COLUMNS)


@prices.command("set")
@handled
def prices_set(
    shop_id: ShopId,
    package_id: Annotated[str, typer.Argument(help="The package (ZTO-1000...).")],
    price: Annotated[str, typer.Argument(help="What the shop pays for the whole package, in yuan (2400.00).")],
    valid_from: Annotated[
        str | None, typer.Option("--from", help="From this time (ISO 8601; default now; no zone: --tz's).")
    ] = None,
    valid_to: Annotated[
        str | None, typer.Option("--to", help="Up to this time, exclusive (default: open-ended).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Your words: the contract, the reason.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Set the shop's price of a package for a period; an overlap with another of its prices is refused (exit
    5, price_overlap: revoke that one first)."""
    try:
        cents = to_cents(price, zero=True)
    except ValueError as exc:
        raise CliError(ExitCode.USAGE, "invalid_amount", str(exc)) from None
    values: dict[str, Any] = {"package_id": package_id, "price_cents": cents}
    if valid_from is not None:
        values["valid_from"] = moment(valid_from, "--from")
    if valid_to is not None:
        values["valid_to"] = moment(valid_to, "--to")
    if note is not None:
        values["note"] = note
    body = request(ShopPriceCreate, **values)
    with connect(profile, admin=True) as client:
        p = client.add_shop_price(shop_id, body)
    if as_json:
        emit_json(p)
        return
    until = f"until {when(p.valid_to)}" if p.valid_to else "until revoked"
    line(
        f"price {p.id}: {p.package_id} at {yuan(p.price_cents)} for shop {p.shop_id} (catalogue "
        f"{yuan(p.catalogue_price_cents)}), from {when(p.valid_from)} {until}; {_state(p)}"
    )


@prices.command("revoke")
@handled
def prices_revoke(
    shop_id: ShopId,
    price_id: Annotated[int, typer.Argument(min=1, help="The price's id (from `prices list`).")],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Revoke a negotiated price: purchases from now on pay the catalogue's (those made keep theirs)."""
    with connect(profile, admin=True) as client:
        p = client.revoke_shop_price(shop_id, price_id)
    if as_json:
        emit_json(p)
    else:
        line(f"price {p.id} ({p.package_id}, {yuan(p.price_cents)}) {_state(p)}")
