"""The shop's marketplace stores (Taobao, Pinduoduo): bind, list, show, rename, renew the token, unbind.

A token is the seller's authorisation on the marketplace: it is read from a file (``--token-file``, ``-`` for
stdin) or typed at a hidden prompt, so that it stays out of the shell's history; ``--token`` is there for
scripts that hold it in a variable already.

The seller id is Taobao's seller nick or Pinduoduo's mall id (``mall_id`` of pdd.mall.info.get, lywzx/pdd-node-sdk
packages/pdd-origin-api/src/dianPu/PddMallInfoGet.ts); shipping asks the marketplace whose a token is."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from waybill_client.models import StoreIn, StoreOut, StoreUpdate

from cli.api import CliError, ExitCode, connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import answer_status, bold, emit_json, fields, next_page, read_list, say, table

stores = typer.Typer(
    help="The shop's marketplace stores (Taobao, Pinduoduo): their orders arrive here, their shipments are "
    "confirmed there.",
    no_args_is_help=True,
)
COLUMNS = ["id", "channel", "seller_id", "name", "active", "token_set", "confirm_mode", "created_at"]
WIDE = [*COLUMNS, "updated_at"]
# A token is at most 400 characters (the API's limit); a file much larger is not a token (or is /dev/zero),
# so no more than this is read of it.
TOKEN_FILE_MOST = 64 * 1024

StoreId = Annotated[str, typer.Argument(help="The store's id (sto_..., from `stores list`).")]
Marketplace = Literal["taobao", "pinduoduo"]
Token = Annotated[
    str | None,
    typer.Option(help="The token itself (it lands in the shell's history: prefer --token-file or the prompt)."),
]
TokenFile = Annotated[
    Path | None,
    typer.Option(help="A file holding the token (`-`: read it from stdin); without it or --token, a prompt asks."),
]


def read_token(token: str | None, token_file: Path | None) -> str:
    """The token from ``--token``, ``--token-file`` or a hidden prompt (on stderr: `--json` keeps stdout)."""
    if token is not None and token_file is not None:
        raise CliError(ExitCode.USAGE, "invalid_input", "give --token or --token-file, not both")
    if token_file is not None:
        text = _read_file(token_file)
    elif token is not None:
        text = token
    else:
        text = typer.prompt("token", hide_input=True, err=True)
    text = text.strip()  # a file's trailing newline, a pasted space
    if not text:
        raise CliError(ExitCode.USAGE, "invalid_input", "token: empty")
    return text


def _read_file(path: Path) -> str:
    try:
        if str(path) == "-":
            return sys.stdin.read(TOKEN_FILE_MOST)
        with path.open(encoding="utf-8") as fh:
            return fh.read(TOKEN_FILE_MOST)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(ExitCode.USAGE, "invalid_input", f"--token-file {path}: cannot read it ({exc})") from None


def _store_line(verb: str, s: StoreOut) -> None:
    named = f" ({s.name})" if s.name and s.name != s.seller_id else ""
    say("store ", bold(s.id), f" {verb}: {s.channel} seller {s.seller_id}{named}")


@stores.command("bind")
@handled
def stores_bind(
    channel: Annotated[Marketplace, typer.Argument(help="The marketplace: taobao or pinduoduo.")],
    seller_id: Annotated[
        str | None,
        typer.Option(
            help="The seller you expect (Taobao's seller nick, Pinduoduo's mall id): the token must be theirs."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name to know the store by (default: the seller id).")] = None,
    token: Token = None,
    token_file: TokenFile = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Bind a store: the marketplace is asked whose the token is. Binding a seller already bound renews its
    token (and makes an unbound store active again)."""
    values = {"channel": channel, "token": read_token(token, token_file), "seller_id": seller_id, "name": name}
    body = request(StoreIn, **{k: v for k, v in values.items() if v is not None})
    with connect(profile) as client:
        store = client.bind_store(body)
    if as_json:
        emit_json(store)
        return
    # 200: the shop had bound this seller already (the API answers 201 for a new store).
    _store_line("renewed" if answer_status() == 200 else "bound", store)


@stores.command("list")
@handled
def stores_list(
    channel: Annotated[Marketplace | None, typer.Option(help="Only this marketplace's stores.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Stores per page.")] = 100,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """The shop's stores, newest first (unbound ones too: `active` no), a page at a time."""
    with connect(profile) as client:
        page = read_list(every, client.iter_stores, client.list_stores, channel=channel, limit=limit, cursor=cursor)
    if as_json:
        emit_json(page)
        return
    table("stores", page.data, WIDE if wide else COLUMNS)
    next_page(page.has_more, page.next_cursor)


@stores.command("show")
@handled
def stores_show(store_id: StoreId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One store (its token is never shown: `token_set` says whether one is held)."""
    with connect(profile) as client:
        store = client.get_store(store_id)
    if as_json:
        emit_json(store)
    else:
        fields(store)


@stores.command("rename")
@handled
def stores_rename(
    store_id: StoreId,
    name: Annotated[str, typer.Argument(help="The store's new name (up to 100 characters).")],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Rename a store."""
    if not name.strip():
        raise CliError(ExitCode.USAGE, "invalid_input", "name: empty")
    _update(store_id, request(StoreUpdate, name=name.strip()), "renamed", profile, as_json)


@stores.command("renew")
@handled
def stores_renew(
    store_id: StoreId,
    token: Token = None,
    token_file: TokenFile = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Renew a store's token (checked with the marketplace: it must be the same seller's). An unbound store is
    bound again with `stores bind`."""
    _update(store_id, request(StoreUpdate, token=read_token(token, token_file)), "renewed", profile, as_json)


def _update(store_id: str, body: StoreUpdate, done: str, profile: str | None, as_json: bool) -> None:
    with connect(profile) as client:
        store = client.update_store(store_id, body)
    if as_json:
        emit_json(store)
    else:
        _store_line(done, store)


@stores.command("confirm-mode")
@handled
def stores_confirm_mode(
    store_id: StoreId,
    mode: Annotated[
        Literal["at_print", "at_collection", "shop"],
        typer.Argument(help="at_print, at_collection, or shop: the shop's own setting (`settings confirm-mode`)."),
    ],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """When this store's shipments are confirmed on its marketplace: at print, at collection, or as the shop."""
    body = request(StoreUpdate, confirm_mode=None if mode == "shop" else mode)
    with connect(profile) as client:
        store = client.update_store(store_id, body)
    if as_json:
        emit_json(store)
    else:
        mode_text = f"confirms {store.confirm_mode}" if store.confirm_mode else "confirms as the shop does"
        say("store ", bold(store.id), f" {mode_text}")


@stores.command("unbind")
@handled
def stores_unbind(store_id: StoreId, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Unbind a store: its orders stop arriving and its token is dropped; its orders stay, and those not yet
    confirmed on the marketplace fail (`store_unbound`). `stores bind` binds it again."""
    with connect(profile) as client:
        store = client.unbind_store(store_id)
    if as_json:
        emit_json(store)
    else:
        _store_line("unbound", store)
