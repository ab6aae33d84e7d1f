"""The carrier catalogue: what every key reads (carriers and their packages on sale), and operators' edits
(the admin key)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from waybill_client.models import CarrierOut, CarrierUpdate, PackageCreate, PackageOut

from cli.api import CliError, ExitCode, connect, handled, request
from cli.options import JsonOut, Profile, Wide
from cli.output import bold, emit_json, fields, say, table, to_cents, when, yuan

carriers = typer.Typer(
    help="The carrier catalogue: alone, the list; show one; operators edit it (admin key).",
    invoke_without_command=True,
)
Code = Annotated[str, typer.Argument(help="The carrier's code (ZTO, YTO, SF...).")]


def _void_credit(p: PackageOut) -> str:
    """What a printed number voided before collection earns back: a share of its price, less a fee."""
    credit = p.void_credit
    if credit is None:
        return ""
    fee = f" less {yuan(credit.fee_cents)}" if credit.fee_cents else ""
    return f" void {credit.percent}%{fee}"


def _shop_price(p: PackageOut) -> str:
    """The shop's own price of the package, when it negotiated one (the catalogue's is shown anyway)."""
    mine = p.shop_price
    if mine is None or mine.price_source != "negotiated":
        return ""
    until = f" until {when(mine.valid_to)}" if mine.valid_to else ""
    return f" (yours {yuan(mine.price_cents)}{until})"


def _packages(c: CarrierOut, every: bool, *, void_credit: bool = False) -> str:
    on_sale = [p for p in c.packages if p.active or every]
    return ", ".join(
        f"{p.id} {yuan(p.price_cents)}/{p.validity_days}d" + _shop_price(p) + (_void_credit(p) if void_credit else "")
        for p in on_sale
    )


@carriers.callback()
@handled
def carriers_main(ctx: typer.Context, wide: Wide = False, profile: Profile = None, as_json: JsonOut = False) -> None:
    """The carrier catalogue with the packages on sale (price in yuan, validity in days)."""
    if ctx.invoked_subcommand is not None:
        return
    with connect(profile, either=True) as client:
        page = client.list_carriers()
    if as_json:
        emit_json(page)
        return
    rows = [
        {
            "code": c.code,
            "name": c.name_zh,
            "name_en": c.name_en,
            "packages": _packages(c, wide),
            "provinces": len(c.coverage),
            "active": c.active,
        }
        for c in page.data
    ]
    columns = ["code", "name", "packages", "provinces"]
    table("carriers", rows, [*columns, "name_en", "active"] if wide else columns)


def _show(c: CarrierOut) -> None:
    values: dict[str, Any] = dict(c)
    values["packages"] = _packages(c, True, void_credit=True)
    values["coverage"] = ", ".join(c.coverage)
    values["number_rule"] = "; ".join(r.pattern for r in c.number_rule)
    fields(values)


@carriers.command("show")
@handled
def carriers_show(code: Code, profile: Profile = None, as_json: JsonOut = False) -> None:
    """One carrier: its codes at the marketplace and the providers, number rule, coverage, packages."""
    with connect(profile, either=True) as client:
        c = client.get_carrier(code)
    if as_json:
        emit_json(c)
    else:
        _show(c)


@carriers.command("update")
@handled
def carriers_update(
    code: Code,
    name_zh: Annotated[str | None, typer.Option(help="The Chinese name (中文名).")] = None,
    name_en: Annotated[str | None, typer.Option(help="The English name.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Offered to shops, or not.")] = None,
    coverage: Annotated[
        list[str] | None, typer.Option(help="A province it delivers to (repeat it: the whole list).")
    ] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Edit a carrier (operators); what is not given is left as it is."""
    given = {"name_zh": name_zh, "name_en": name_en, "active": active, "coverage": coverage}
    values = {k: v for k, v in given.items() if v is not None}
    if not values:
        raise CliError(ExitCode.USAGE, "invalid_input", "nothing to change: give at least one option")
    body = request(CarrierUpdate, **values)
    with connect(profile, admin=True) as client:
        c = client.update_carrier(code, body)
    if as_json:
        emit_json(c)
    else:
        _show(c)


def _cents(amount: str, what: str, *, zero: bool = False) -> int:
    try:
        return to_cents(amount, zero=zero)
    except ValueError as exc:
        raise CliError(ExitCode.USAGE, "invalid_amount", f"{what}: {exc}") from None


@carriers.command("add-package")
@handled
def carriers_add_package(
    code: Code,
    package_id: Annotated[str, typer.Argument(help="The package's id, e.g. ZTO-5000.")],
    quantity: Annotated[int, typer.Option(min=1, help="Numbers in the package.")],
    price: Annotated[str, typer.Option(help="Its price in yuan, e.g. 2500.00")],
    validity_days: Annotated[int, typer.Option(min=1, help="Days its numbers stay valid.")],
    extension_fee: Annotated[str | None, typer.Option(help="Yuan per 30 days of extension.")] = None,
    void_credit: Annotated[
        int | None,
        typer.Option(
            min=0, max=100, help="Percent of a number's price credited when it is voided before collection (100)."
        ),
    ] = None,
    void_fee: Annotated[str | None, typer.Option(help="Yuan kept out of that credit per voided number (0).")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Put a package on sale for a carrier (operators)."""
    values: dict[str, Any] = {
        "id": package_id,
        "quantity": quantity,
        "price_cents": _cents(price, "--price"),
        "validity_days": validity_days,
    }
    if extension_fee is not None:
        values["extension_fee_cents_per_30_days"] = _cents(extension_fee, "--extension-fee", zero=True)
    if void_credit is not None or void_fee is not None:
        values["void_credit"] = {
            "percent": 100 if void_credit is None else void_credit,
            "fee_cents": 0 if void_fee is None else _cents(void_fee, "--void-fee", zero=True),
        }
    body = request(PackageCreate, **values)
    with connect(profile, admin=True) as client:
        p = client.add_carrier_package(code, body)
    if as_json:
        emit_json(p)
    else:
        price = yuan(p.price_cents)
        terms = f" of {p.carrier}: {p.quantity} numbers, {price}, {p.validity_days} days"
        say("package ", bold(p.id), terms + ("," + _void_credit(p) if p.void_credit else ""))
