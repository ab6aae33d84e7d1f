"""支出报表: what the shop's numbers cost it per day, week or month in its own zone (allocation's spend report), a
chart of it drawn here as SVG, the table and totals, and the same as a CSV file; operators see every shop's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from markupsafe import Markup
from waybill_client import AsyncWaybillClient, WaybillError
from waybill_client.models import SpendReport

from services.dashboard import catalogue, web
from services.dashboard.api import Panel, for_session, panel
from services.dashboard.charts import Series, stacked_columns
from services.dashboard.i18n import choose_lang, translator

router = APIRouter(include_in_schema=False)

Interval = Literal["day", "week", "month"]
Group = Literal["carrier", "store", "channel"]
DEFAULT_DAYS = 14


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    interval: Interval
    by: Group
    tz: str

    @property
    def query(self) -> str:
        return f"from_date={self.first}&to_date={self.last}&interval={self.interval}&by={self.by}"


def period_of(
    first: date | None, last: date | None, interval: Interval, by: Group, zone: tuple[str, ZoneInfo]
) -> Period:
    """The period asked, by default the last DEFAULT_DAYS days up to today in the zone."""
    end = last or datetime.now(zone[1]).date()
    return Period(first or end - timedelta(days=DEFAULT_DAYS - 1), end, interval, by, zone[0])


def _zone(request: Request) -> tuple[str, ZoneInfo]:
    """The shop's zone once shop_page read its settings, else the dashboard's."""
    settings = web.state(request).settings
    found: tuple[str, ZoneInfo] = getattr(request.state, "shop_zone", None) or (settings.time_zone, settings.zone)
    return found


def _label(day: date, interval: str) -> str:
    return day.strftime("%Y-%m") if interval == "month" else day.strftime("%m-%d")


def chart(report: SpendReport, request: Request, names: dict[str, str]) -> Markup:
    """Spend per bucket by carrier (purchases and extension fees, before refunds); by store or channel, the cost
    of the numbers used (the one figure that has a store): stacked per group, every shop's added up."""
    lang = choose_lang(request)
    _ = translator(lang)
    by_carrier = report.group_by == "carrier"
    index = {b: i for i, b in enumerate(report.buckets)}
    stacks: dict[str | None, list[int]] = {}
    for r in report.rows:
        value = r.spent_cents + r.extension_fees_cents if by_carrier else r.used_cost_cents
        if value:
            stacks.setdefault(r.group, [0] * len(index))[index[r.bucket]] += value
    ordered = sorted(stacks, key=lambda g: (g is None, g or ""))
    series = [Series(_name(g, report, names, request), stacks[g], none=g is None) for g in ordered]
    title = _("支出（购买与延期费）") if by_carrier else _("已用单号的成本")
    svg = stacked_columns(
        [_label(b, report.interval) for b in report.buckets],
        series,
        title=title,
        empty=_("这段时间没有支出。"),
        amount=web.yuan,
        show_title=False,  # the page heads it
    )
    return Markup(svg)  # every text in it was escaped by stacked_columns


def _name(group: str | None, report: SpendReport, names: dict[str, str], request: Request) -> str:
    lang = choose_lang(request)
    if group is None:
        return translator(lang)("未注明")
    if report.group_by == "channel":
        return catalogue.channel_text(group, lang)
    return names.get(group, group)


@dataclass
class SpendView:
    period: Period
    report: Panel[SpendReport]
    chart: Markup | None
    base: str  # the page's path, for the form, the CSV link and the paging
    all_shops: bool


async def _store_names(client: AsyncWaybillClient, by: Group) -> dict[str, str]:
    if by != "store":
        return {}
    found = await panel(client.list_stores(limit=200))
    return {s.id: s.name for s in found.data.data} if found.data else {}


async def _view(request: Request, client: AsyncWaybillClient, period: Period, base: str, shop: bool) -> SpendView:
    report = await panel(
        client.get_spend_report(period.first, period.last, interval=period.interval, group_by=period.by, tz=period.tz)
    )
    names = await _store_names(client, period.by) if shop else {}
    drawn = chart(report.data, request, names) if report.data is not None else None
    return SpendView(period, report, drawn, base, all_shops=not shop)


Since = Annotated[date | None, Query(alias="from_date")]
Until = Annotated[date | None, Query(alias="to_date")]


@router.get("/shops/{shop_id}/reports")
async def spend(
    request: Request,
    shop_id: str,
    first: Since = None,
    last: Until = None,
    interval: Interval = "day",
    by: Group = "carrier",
) -> Response:
    access = await web.shop_page(request, shop_id)
    if isinstance(access, Response):
        return access
    period = period_of(first, last, interval, by, _zone(request))
    view = await _view(request, access.client, period, f"{access.base}/reports", shop=True)
    return web.render(request, "reports.html", access=access, view=view, tab="reports")


@router.get("/shops/{shop_id}/reports/spend.csv")
async def spend_csv(
    request: Request,
    shop_id: str,
    first: Since = None,
    last: Until = None,
    interval: Interval = "day",
    by: Group = "carrier",
) -> Response:
    access = await web.shop_page(request, shop_id)  # its settings: the report's days are the shop's
    if isinstance(access, Response):
        return access
    period = period_of(first, last, interval, by, _zone(request))
    return await _csv(request, access.client, period, shop_id)


@router.get("/reports")
async def every_shop(
    request: Request, first: Since = None, last: Until = None, interval: Interval = "day", by: Group = "carrier"
) -> Response:
    """Operators: every shop's report (the admin key without a shop), in the dashboard's zone."""
    session = await web.current_session(request)
    if session is None:
        return web.to_login(request)
    if session.kind != "operator":
        return web.error_page(request, 404, "not_found")
    period = period_of(first, last, interval, by, _zone(request))
    view = await _view(request, for_session(web.state(request).client, session), period, "/reports", shop=False)
    return web.render(request, "reports.html", view=view)


@router.get("/reports/spend.csv")
async def every_shop_csv(
    request: Request, first: Since = None, last: Until = None, interval: Interval = "day", by: Group = "carrier"
) -> Response:
    session = await web.current_session(request)
    if session is None:
        return web.to_login(request)
    if session.kind != "operator":
        return web.error_page(request, 404, "not_found")
    period = period_of(first, last, interval, by, _zone(request))
    return await _csv(request, for_session(web.state(request).client, session), period, "all-shops")


async def _csv(request: Request, client: AsyncWaybillClient, period: Period, who: str) -> Response:
    try:
        data = await client.get_spend_report_csv(
            period.first, period.last, interval=period.interval, group_by=period.by, tz=period.tz
        )
    except WaybillError as exc:
        return web.error_page(request, web.status_of(exc), exc.code, exc.message)
    name = f"spend-{who}-{period.first}-{period.last}-{period.interval}-{period.by}.csv"
    headers = {**web.PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{web.seg(name)}"'}
    return Response(data, media_type="text/csv", headers=headers)
