"""Shops, their API keys and top-ups: operators' commands, with the admin key."""

from __future__ import annotations

from typing import Annotated

import typer
from waybill_client.models import BalanceOut, KeyCreate, ShopCreate, TopupRequest

from cli.api import CliError, ExitCode, connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile
from cli.output import bold, emit_json, fields, line, next_page, read_list, say, table, to_cents, yuan

shops = typer.Typer(help="Shops (admin key).", no_args_is_help=True)
keys = typer.Typer(help="A shop's API keys (admin key).", no_args_is_help=True)

Amount = Annotated[str, typer.Argument(help="Amount in yuan, e.g. 1000.50")]
Reference = Annotated[str | None, typer.Option(help="Your reference for the top-up (a payment id...).")]


@shops.command("create")
@handled
def shops_create(name: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Create a shop; prints its API key once."""
    body = request(ShopCreate, name=name)
    with connect(profile, admin=True) as client:
        shop = client.create_shop(body)
    if as_json:
        emit_json(shop)
        return
    say("shop ", bold(shop.id), " created")
    line(f"API key (shown once, store it now): {shop.api_key}")


@shops.command("list")
@handled
def shops_list(
    limit: Annotated[int, typer.Option(min=1, max=500, help="Shops per page.")] = 100,
    cursor: Cursor = None,
    every: Every = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Shops in id order, a page at a time."""
    with connect(profile, admin=True) as client:
        page = read_list(every, client.iter_shops, client.list_shops, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    table("shops", page.data, ["id", "name", "created_at"])
    next_page(page.has_more, page.next_cursor)


@shops.command("show")
@handled
def shops_show(shop_id: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One shop."""
    with connect(profile, admin=True) as client:
        shop = client.get_shop(shop_id)
    if as_json:
        emit_json(shop)
    else:
        fields(shop)


def top_up(shop_id: str, amount: str, reference: str | None, profile: str | None, as_json: bool) -> None:
    try:
        cents = to_cents(amount)
    except ValueError as exc:
        raise CliError(ExitCode.USAGE, "invalid_amount", str(exc)) from None
    values = {"amount_cents": cents} if reference is None else {"amount_cents": cents, "reference": reference}
    body = request(TopupRequest, **values)
    with connect(profile, admin=True) as client:
        balance: BalanceOut = client.top_up_shop(shop_id, body)
    if as_json:
        emit_json(balance)
    else:
        say(f"shop {shop_id}: topped up {yuan(cents)}, balance ", bold(yuan(balance.balance_cents)))


@shops.command("topup")
@handled
def shops_topup(
    shop_id: str, amount: Amount, reference: Reference = None, profile: Profile = None, as_json: JsonOut = False
) -> None:
    """Top up a shop's balance."""
    top_up(shop_id, amount, reference, profile, as_json)


@handled
def topup(
    shop_id: str, amount: Amount, reference: Reference = None, profile: Profile = None, as_json: JsonOut = False
) -> None:
    """Top up a shop's balance (admin; the same as `shops topup`)."""
    top_up(shop_id, amount, reference, profile, as_json)


def create_key(shop_id: str, label: str, profile: str | None, as_json: bool) -> None:
    body = request(KeyCreate, label=label)
    with connect(profile, admin=True) as client:
        key = client.create_key(shop_id, body)
    if as_json:
        emit_json(key)
    else:
        line(f"key {key.key_id}: {key.api_key} (shown once)")


def revoke_key(shop_id: str, key_id: str, profile: str | None, as_json: bool) -> None:
    with connect(profile, admin=True) as client:
        client.revoke_key(shop_id, key_id)
    if as_json:
        # The API answers 204: say what was done, for scripts.
        emit_json({"shop_id": shop_id, "key_id": key_id, "revoked": True})
    else:
        line(f"key {key_id} revoked")


Label = Annotated[str, typer.Option(help="What the key is for (shown in the key list).")]


@keys.command("create")
@handled
def keys_create(shop_id: str, label: Label = "cli", profile: Profile = None, as_json: JsonOut = False) -> None:
    """Issue another API key for a shop (shown once)."""
    create_key(shop_id, label, profile, as_json)


@keys.command("revoke")
@handled
def keys_revoke(shop_id: str, key_id: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Revoke a shop's API key (it stops working within seconds)."""
    revoke_key(shop_id, key_id, profile, as_json)


# The names of 0.1, kept so that scripts go on working (hidden from the help: `keys` is the place now).
@shops.command("add-key", hidden=True)
@handled
def shops_add_key(shop_id: str, label: Label = "cli", profile: Profile = None, as_json: JsonOut = False) -> None:
    """Issue another API key for a shop (now `keys create`)."""
    create_key(shop_id, label, profile, as_json)


@shops.command("revoke-key", hidden=True)
@handled
def shops_revoke_key(shop_id: str, key_id: str, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Revoke a shop's API key (now `keys revoke`)."""
    revoke_key(shop_id, key_id, profile, as_json)
