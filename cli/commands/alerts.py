"""Logistics alerts (物流预警) and their thresholds."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from waybill_client.models import AlertSettingIn

from cli.api import CliError, ExitCode, connect, handled, request
from cli.options import Cursor, Every, JsonOut, Profile, Wide
from cli.output import emit_json, line, next_page, read_list, table

alerts = typer.Typer(help="Logistics alerts (物流预警).", no_args_is_help=True)
COLUMNS = ["id", "kind", "state", "carrier", "number", "order_id", "opened_at", "message"]
WIDE = [*COLUMNS, "acknowledged_at", "resolved_at"]
SETTING_COLUMNS = ["carrier", "not_collected_hours", "no_update_hours", "late_grace_hours", "transit_days"]


@alerts.command("list")
@handled
def alerts_list(
    state: Annotated[str | None, typer.Option(help="open, acknowledged, resolved, or all.")] = "open",
    kind: Annotated[str | None, typer.Option(help="not_collected, no_update, problem, late...")] = None,
    carrier: str | None = None,
    number: Annotated[str | None, typer.Option(help="Only this parcel's alerts.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Alerts per page.")] = 100,
    cursor: Cursor = None,
    every: Every = False,
    wide: Wide = False,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Alerts, newest first, by state, kind, carrier and number; a page at a time."""
    with connect(profile) as client:
        page = read_list(
            every,
            client.iter_alerts,
            client.list_alerts,
            state=None if state in ("", "all") else state,
            kind=kind,
            carrier=carrier,
            number=number,
            limit=limit,
            cursor=cursor,
        )
    if as_json:
        emit_json(page)
        return
    table("alerts", page.data, WIDE if wide else COLUMNS)
    next_page(page.has_more, page.next_cursor)


@alerts.command("ack")
@handled
def alerts_ack(alert_id: int, profile: Profile = None, as_json: JsonOut = False) -> None:
    """Acknowledge an alert (it stays until the parcel's situation resolves it)."""
    with connect(profile) as client:
        a = client.acknowledge_alert(alert_id)
    if as_json:
        emit_json(a)
    else:
        line(f"alert {a.id}: {a.state}")


@alerts.command("settings")
@handled
def alerts_settings(profile: Profile = None, as_json: JsonOut = False) -> None:
    """The alert thresholds in force, per carrier (* is the default of every carrier)."""
    with connect(profile) as client:
        page = client.get_alert_settings()
    if as_json:
        emit_json(page)
        return
    table("alert settings", page.data, SETTING_COLUMNS)


@alerts.command("set")
@handled
def alerts_set(
    carrier: Annotated[str | None, typer.Option(help="One carrier; every carrier when absent.")] = None,
    not_collected_hours: Annotated[float | None, typer.Option(help="Alert when not collected within N hours.")] = None,
    no_update_hours: Annotated[float | None, typer.Option(help="Alert after N hours in transit without news.")] = None,
    late_grace_hours: Annotated[float | None, typer.Option(help="Alert N hours past the transit time.")] = None,
    transit_days: Annotated[int | None, typer.Option(help="Transit days when the shipment names none.")] = None,
    profile: Profile = None,
    as_json: JsonOut = False,
) -> None:
    """Set alert thresholds, for a carrier or for every carrier; what is not given falls back to the
    all-carrier setting, then to the defaults."""
    given = {
        "not_collected_hours": not_collected_hours,
        "no_update_hours": no_update_hours,
        "late_grace_hours": late_grace_hours,
        "transit_days": transit_days,
    }
    values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if not values:
        raise CliError(ExitCode.USAGE, "invalid_input", "nothing to set: give at least one threshold")
    if carrier:
        values["carrier"] = carrier
    body = request(AlertSettingIn, **values)
    with connect(profile) as client:
        s = client.put_alert_settings(body)
    if as_json:
        emit_json(s)
        return
    table("alert settings", [s], SETTING_COLUMNS)
