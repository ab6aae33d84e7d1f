"""The shop's shipping settings: the marketplace store it is bound to, the sender on labels, courier
preferences, its time zone, the ship-by alert's lead time, when shipments are confirmed (at print, or at
collection), and its labels (their size, per carrier where it differs, and privacy labels). (The CLI's own
times keep the profile's timezone: reading the shop's zone would cost every command a call.)"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer
from waybill_client.models import SettingsIn, SettingsOut

from cli.api import CliError, ExitCode, connect, handled, request
from cli.commands.labels import LABEL_SIZES
from cli.options import JsonOut, Profile
from cli.output import emit_json, fields

settings = typer.Typer(
    help="The shop's settings: its marketplace store, sender, courier preferences.", no_args_is_help=True
)
WEIGHTS = ("price", "coverage", "transit", "stock")
SHOP_SIZE = "shop"  # a carrier's labels back at the shop's own size (as stores' confirm-mode says "shop")


def _show(s: SettingsOut, as_json: bool) -> None:
    if as_json:
        emit_json(s)
    else:
        fields(s)


def _put(values: dict[str, Any], profile: str | None, as_json: bool) -> None:
    body = request(SettingsIn, **values)  # only the fields given: the others keep their value
    with connect(profile) as client:
        _show(client.put_shop_settings(body), as_json)


@settings.command("show")
@handled
def settings_show(profile: Profile = None, as_json: JsonOut = False) -> None:
    """The shop's settings (the marketplace session itself is never shown)."""
    with connect(profile) as client:
        _show(client.get_shop_settings(), as_json)


def _weights(given: list[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in given:
        name, sep, value = item.partition("=")
        try:
            if not sep or name not in WEIGHTS:
                raise ValueError
            weights[name] = float(value)
        except ValueError:
            raise CliError(
                ExitCode.USAGE, "invalid_input", f"--weight {item!r}: NAME=NUMBER, NAME one of {', '.join(WEIGHTS)}"
            ) from None
    return weights


@settings.command("set")
@handled
def settings_set(
    sender_name: Annotated[str | None, typer.Option(help="The sender on labels (寄件人).")] = None,
    sender_phone: Annotated[str | None, typer.Option(help="The sender's phone.")] = None,
    sender_address: Annotated[str | None, typer.Option(help="The sender's address.")] = None,
    default_carrier: Annotated[str | None, typer.Option(help="The carrier preferred when ranking.")] = None,
    time_zone: Annotated[
        str | None,
        typer.Option(help="The shop's time zone, an IANA name (Asia/Shanghai, America/New_York); the API checks it."),
    ] = None,
    weight: Annotated[
        list[str] | None, typer.Option(help="A weight of the recommendation, NAME=NUMBER (price, coverage...).")
    ] = None,
    late_to_ship_lead_minutes: Annotated[
        int | None,
        typer.Option(help="Open a late_to_ship order alert this many minutes before an order's ship-by time."),
    ] = None,
    label_size: Annotated[
        str | None,
        typer.Option(help="The labels' size in mm: 100x150, 100x180 (two parts) or 76x130, for every carrier."),
    ] = None,
    carrier_label_size: Annotated[
        list[str] | None,
        typer.Option(
            help=f"A carrier's own label size, CARRIER=SIZE (SF=76x130), or CARRIER={SHOP_SIZE} for the shop's."
        ),
    ] = None,
    privacy: Annotated[
        bool | None,
        typer.Option(
            "--privacy/--no-privacy", help="Privacy labels (隐私面单): mask the receiver's name and phone (张*)."
        ),
    ] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Change the sender, courier preferences, the shop's time zone, the ship-by alert's lead time or the
    labels; what is not given keeps its value."""
    values: dict[str, Any] = {
        k: v
        for k, v in {
            "sender_name": sender_name,
            "sender_phone": sender_phone,
            "sender_address": sender_address,
            "default_carrier": default_carrier,
            "time_zone": time_zone,
            "late_to_ship_lead_minutes": late_to_ship_lead_minutes,
            "label_size": _label_size(label_size, "--label-size") if label_size is not None else None,
            "privacy_labels": privacy,
        }.items()
        if v is not None
    }
    if weight:
        values["weights"] = _weights(weight)
    if not values and not carrier_label_size:
        raise CliError(ExitCode.USAGE, "invalid_input", "nothing to change: give at least one option")
    if carrier_label_size:
        changes = _carrier_sizes(carrier_label_size)
        # The API replaces the whole map: the carriers not named keep theirs.
        with connect(profile) as client:
            current = dict(client.get_shop_settings().label_sizes or {})
        values["label_sizes"] = {c: size for c, size in {**current, **changes}.items() if size != SHOP_SIZE}
    _put(values, profile, as_json)


def _label_size(value: str, option: str) -> str:
    if value not in LABEL_SIZES:
        raise CliError(ExitCode.USAGE, "invalid_input", f"{option} {value!r}: one of {', '.join(LABEL_SIZES)}")
    return value


def _carrier_sizes(given: list[str]) -> dict[str, str]:
    sizes: dict[str, str] = {}
    for item in given:
        carrier, sep, size = item.partition("=")
        if not sep or not carrier.strip():
            raise CliError(
                ExitCode.USAGE, "invalid_input", f"--carrier-label-size {item!r}: CARRIER=SIZE or CARRIER={SHOP_SIZE}"
            )
        carrier = carrier.strip().upper()
        sizes[carrier] = size if size == SHOP_SIZE else _label_size(size, f"--carrier-label-size {carrier}")
    return sizes


@settings.command("store")
@handled
def settings_store(
    seller_nick: Annotated[str, typer.Argument(help="The store's seller nick on the marketplace.")],
    session: Annotated[str, typer.Option(help="The marketplace session (the seller's authorisation).")],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Bind the shop's first Taobao store (kept for older scripts: `waybill stores bind` binds any number of
    Taobao and Pinduoduo stores). The session must be the seller's: checked with the marketplace."""
    _put({"seller_nick": seller_nick, "session": session}, profile, as_json)


@settings.command("session")
@handled
def settings_session(
    session: Annotated[str, typer.Argument(help="The renewed marketplace session of the bound seller.")],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Renew the session of the shop's first Taobao store (`waybill stores renew` renews any store's)."""
    _put({"session": session}, profile, as_json)


ConfirmModeName = Literal["at_print", "at_collection"]
NO_TIME = ("none", "-", "")


def _confirm_time(value: str) -> str | None:
    return None if value.strip().lower() in NO_TIME else value.strip()


@settings.command("confirm-mode")
@handled
def settings_confirm_mode(
    mode: Annotated[
        ConfirmModeName,
        typer.Argument(
            help="at_print: the marketplace is told as soon as the label is made; at_collection: once the courier "
            "collects a parcel, or at the confirmation time."
        ),
    ],
    time: Annotated[
        str | None,
        typer.Option("--time", help="at_collection: confirm held shipments at this time of day at the latest (HH:MM)."),
    ] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """When the shop's shipments are confirmed on the marketplace (a store may set its own: `stores
    confirm-mode`)."""
    values: dict[str, Any] = {"confirm_mode": mode}
    if time is not None:
        values["confirm_time"] = _confirm_time(time)
    _put(values, profile, as_json)


@settings.command("confirm-time")
@handled
def settings_confirm_time(
    time: Annotated[
        str, typer.Argument(help="HH:MM in the shop's time zone (18:00), or none: only the collection confirms.")
    ],
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """At collection: the time of day by which held shipments are confirmed, collected or not."""
    _put({"confirm_time": _confirm_time(time)}, profile, as_json)
