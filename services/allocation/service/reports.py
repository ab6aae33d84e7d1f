"""Spend reports: what a shop's numbers cost it over a period, per day, week or month in its zone, split by
carrier, store or channel. What each figure counts, and the moment that puts it in a bucket:

- bought: numbers received by purchases completed in the period (the purchase's ``completed_at``);
- used: numbers first marked shipped, whatever became of them after (``shipped_at``; a number shipped before
  a0005 and still shipped, at its row's last change);
- voided: printed or shipped numbers voided by a release, 回收单号 (the void's ``created_at``);
- expired: numbers that expired unused, or that the marketplace refused as expired (the earlier of
  ``expires_at`` and the row's last change);
- refunded: unused numbers refunded, by the shop or its on_expiry setting (the refund);
- spent_cents: ledger ``purchase`` debits; extension_fees_cents: ``extension`` and ``auto_extension`` debits;
  refunded_cents: every credit, ``refund``, ``auto_refund``, ``purchase_refund``, ``void_credit``,
  ``number_taken_by_manual_entry`` and ``number_issued_twice`` (each ledger row at its ``created_at``;
  ``services.allocation.spend`` maps every kind); net_cents: spent + extension fees - refunded, minus the
  period's ledger rows but top-ups, to the cent;
- used_cost_cents: the used numbers' prices, each its own purchase's ``price_cents / quantity`` (not the
  catalogue's; typed numbers cost 0), rounded to the cent; average_cost_cents: used_cost / used, to 2 decimals
  of a cent.

Only used numbers (and their cost) have a store and channel (shipping says them when it marks a number
shipped); the other figures are reported under a null group when the report is by store or channel, and so is
a used number shipped before shipping said them. By carrier, money goes under the carrier of the purchase its
ledger row references. Numbers credited because a purchase could not hold them (a typed entry had printed
them, or the courier issued them twice) are in refunded_cents but not in the refunded count (the purchase's
``numbers_credited`` and ``numbers_quarantined`` hold those)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runtime.auth import Principal
from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from services.allocation.repository.reports import Counted, Period, ReportRepository
from services.allocation.schemas.reports import SpendFigures, SpendGroup, SpendInterval, SpendReport, SpendRow
from services.allocation.spend import column_of
from shared.errors import ErrorCode

DEFAULT_TIME_ZONE = "Asia/Shanghai"
# The longest period per bucket size: a year of days, two of weeks, ten of months (about 120 buckets at most
# per group). Dates outside these years are refused, not an error deeper down.
MAX_DAYS = {SpendInterval.DAY: 366, SpendInterval.WEEK: 731, SpendInterval.MONTH: 3660}
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class SpendQuery:
    from_date: date
    to_date: date
    interval: SpendInterval = SpendInterval.DAY
    group_by: SpendGroup = SpendGroup.CARRIER
    tz: str = DEFAULT_TIME_ZONE
    shop_id: str | None = None  # the admin key's choice; a shop key may name only its own shop


def _invalid(name: str, message: str) -> AppError:
    """A query parameter refused, in the shape FastAPI's own validation answers."""
    fields_ = [{"field": name, "in": "query", "message": message}]
    return AppError(
        f"invalid request: {name}: {message}",
        code=ErrorCode.VALIDATION_ERROR,
        status_code=422,
        details={"fields": fields_},
    )


def validate(q: SpendQuery) -> None:
    try:
        ZoneInfo(q.tz)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone's shape ("../x", "")
        raise _invalid("tz", f"unknown time zone {q.tz!r} (an IANA name: Asia/Shanghai, UTC...)") from None
    for name, day in (("from_date", q.from_date), ("to_date", q.to_date)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise _invalid(name, f"must be between {FIRST_DAY} and {LAST_DAY}")
    if q.to_date < q.from_date:
        raise _invalid("to_date", "must not be before from_date")
    days = (q.to_date - q.from_date).days + 1
    if days > MAX_DAYS[q.interval]:
        raise _invalid("to_date", f"{days} days of {q.interval.value} buckets: at most {MAX_DAYS[q.interval]}")


def reported_shop(principal: Principal, asked: str | None) -> str | None:
    """The shop the report is of (None: every shop, for the admin key alone). A shop key naming another shop
    answers as an unknown one."""
    if principal.kind == "shop":
        if asked is not None and asked != principal.shop_id:
            raise NotFound(f"shop {asked} not found")
        return principal.shop_id
    if principal.kind == "internal":
        return asked or principal.require_shop_id()
    return asked or principal.shop_id


def bucket_of(day: date, interval: SpendInterval) -> date:
    if interval is SpendInterval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval is SpendInterval.MONTH:
        return day.replace(day=1)
    return day


def buckets(q: SpendQuery) -> list[date]:
    out, day = [], bucket_of(q.from_date, q.interval)
    while day <= q.to_date:
        out.append(day)
        if q.interval is SpendInterval.MONTH:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            day += timedelta(days=7 if q.interval is SpendInterval.WEEK else 1)
    return out


@dataclass
class _Sums:
    bought: int = 0
    used: int = 0
    voided: int = 0
    expired: int = 0
    refunded: int = 0
    spent_cents: int = 0
    refunded_cents: int = 0
    extension_fees_cents: int = 0
    used_cost: Decimal = field(default_factory=Decimal)

    def add(self, other: _Sums) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def figures(self) -> dict[str, Any]:
        average = (self.used_cost / self.used).quantize(_CENT, ROUND_HALF_UP) if self.used else None
        return {
            "bought": self.bought,
            "used": self.used,
            "voided": self.voided,
            "expired": self.expired,
            "refunded": self.refunded,
            "spent_cents": self.spent_cents,
            "refunded_cents": self.refunded_cents,
            "extension_fees_cents": self.extension_fees_cents,
            "net_cents": self.spent_cents + self.extension_fees_cents - self.refunded_cents,
            "used_cost_cents": int(self.used_cost.quantize(Decimal(1), ROUND_HALF_UP)),
            "average_cost_cents": None if average is None else float(average),
        }


Key = tuple[str, date, str | None]


def _count(rows: dict[Key, _Sums], counted: Iterable[Counted], name: str) -> None:
    for c in counted:
        sums = rows[(c.shop_id, c.bucket, c.group)]
        setattr(sums, name, getattr(sums, name) + c.count)


async def spend_report(uow: UnitOfWork, principal: Principal, q: SpendQuery) -> SpendReport:
    validate(q)
    shop_id = reported_shop(principal, q.shop_id)
    repo = ReportRepository(uow.session)
    if shop_id is not None and principal.kind != "shop" and not await repo.shop_exists(shop_id):
        raise NotFound(f"shop {shop_id} not found")
    period = Period(q.from_date, q.to_date + timedelta(days=1), q.tz, q.interval.value, q.group_by.value, shop_id)
    rows: dict[Key, _Sums] = defaultdict(_Sums)
    _count(rows, await repo.bought(period), "bought")
    _count(rows, await repo.voided(period), "voided")
    _count(rows, await repo.expired(period), "expired")
    _count(rows, await repo.refunded(period), "refunded")
    for u in await repo.used(period):
        sums = rows[(u.shop_id, u.bucket, u.group)]
        sums.used += u.count
        sums.used_cost += u.cost_cents
    for m in await repo.money(period):
        column = column_of(m.kind)
        if column is not None:
            sums = rows[(m.shop_id, m.bucket, m.group)]
            name = column.value
            setattr(sums, name, getattr(sums, name) + column.sign * m.amount_cents)
    totals = _Sums()
    for sums in rows.values():
        totals.add(sums)
    # By bucket, shop, then group (the null group last).
    ordered = sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2] is None, kv[0][2] or ""))
    return SpendReport(
        shop_id=shop_id,
        from_date=q.from_date,
        to_date=q.to_date,
        interval=q.interval,
        group_by=q.group_by,
        tz=q.tz,
        buckets=buckets(q),
        rows=[SpendRow(bucket=b, shop_id=s, group=g, **sums.figures()) for (s, b, g), sums in ordered],
        totals=SpendFigures(**totals.figures()),
    )
