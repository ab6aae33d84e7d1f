"""Reports: what the shop's numbers cost it (``GET /v1/reports/spend``)."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from typing import Annotated

import typer
from waybill_client.models import SpendReport, SpendRow

from cli.api import CliError, ExitCode, connect, handled
from cli.options import JsonOut, Profile
from cli.output import emit_json, line, table, timezone, yuan

reports = typer.Typer(help="Reports: spend per day, week or month, by carrier, store or channel.", no_args_is_help=True)
DEFAULT_DAYS = 7
COUNTS = ["bought", "used", "voided", "expired", "refunded"]
MONEY = ["spent", "refunded ¥", "fees", "net", "cost/parcel"]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(ExitCode.USAGE, "invalid_input", f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


def _row(r: SpendRow, group: str) -> dict[str, object]:
    return {
        "bucket": r.bucket.isoformat(),
        "shop": r.shop_id,
        group: r.group or "-",
        **{c: getattr(r, c) for c in COUNTS},
        "spent": yuan(r.spent_cents),
        "refunded ¥": yuan(r.refunded_cents),
        "fees": yuan(r.extension_fees_cents),
        "net": yuan(r.net_cents),
        "cost/parcel": yuan(r.average_cost_cents),
    }


def _print(report: SpendReport) -> None:
    group = str(report.group_by)
    columns = ["bucket", *(["shop"] if report.shop_id is None else []), group, *COUNTS, *MONEY]
    title = f"spend {report.from_date} to {report.to_date} ({report.tz}, by {report.interval}, per {group})"
    table(title, [_row(r, group) for r in report.rows], columns)
    t = report.totals
    line(
        f"total: bought {t.bought}, used {t.used}, voided {t.voided}, expired {t.expired}, refunded {t.refunded}; "
        f"spent {yuan(t.spent_cents)}, refunded {yuan(t.refunded_cents)}, extension fees "
        f"{yuan(t.extension_fees_cents)}, net {yuan(t.net_cents)}; "
        f"cost per shipped parcel {yuan(t.average_cost_cents) or '-'}"
    )


@reports.command("spend")
@handled
def spend(
    from_: Annotated[
        str | None,
        typer.Option("--from", help=f"First day, YYYY-MM-DD (default: {DEFAULT_DAYS - 1} days before --to)."),
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day, included (default: today).")] = None,
    interval: Annotated[str, typer.Option(help="day, week (Monday first) or month.")] = "day",
    by: Annotated[str, typer.Option("--by", help="carrier, store or channel.")] = "carrier",
    shop: Annotated[str | None, typer.Option("--shop", help="Operators (the admin key): this shop's report.")] = None,
    all_shops: Annotated[
        bool, typer.Option("--all-shops", help="Operators (the admin key): every shop, rows per shop.")
    ] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print the API's CSV (money in yuan) instead of a table.")
    ] = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Numbers bought, used, voided, expired and refunded, money spent, refunded and extension fees, and the
    cost per shipped parcel, per bucket. Days are counted in the --tz zone (else the profile's, else
    Asia/Shanghai): give the shop's."""
    if as_csv and as_json:
        raise CliError(ExitCode.USAGE, "invalid_input", "--csv and --json: one or the other")
    if shop and all_shops:
        raise CliError(ExitCode.USAGE, "invalid_input", "--shop and --all-shops: one or the other")
    with connect(profile, admin=bool(shop or all_shops), either=True) as client:
        zone = timezone()  # the profile's, once connect has read it (--tz wins)
        last = _day(to, "--to") or datetime.now(zone).date()
        first = _day(from_, "--from") or last - timedelta(days=DEFAULT_DAYS - 1)
        options = {"interval": interval, "group_by": by, "tz": zone.key, "shop_id": shop}
        if as_csv:
            data = client.get_spend_report_csv(first, last, **options)
            # The file's bytes as the API wrote them (RFC 4180's CRLF line ends included), for > file.csv.
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        report = client.get_spend_report(first, last, **options)
    if as_json:
        emit_json(report)
    else:
        _print(report)
