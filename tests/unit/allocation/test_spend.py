"""Every ledger kind lands in exactly one column of a spend report (or, for top-ups, deliberately in none): a
kind added to LedgerKind without a column fails here; the CSV's money is exact, and CSV is answered only to a
client that prefers it."""

from __future__ import annotations

from datetime import date

import pytest

from services.allocation.models import LedgerKind
from services.allocation.schemas.reports import SpendFigures, SpendGroup, SpendInterval, SpendReport, SpendRow
from services.allocation.service.reports import SpendQuery, buckets
from services.allocation.spend import LEDGER_COLUMNS, SpendColumn, UnmappedLedgerKind, column_of
from services.allocation.spend_csv import render, wants_csv, yuan


@pytest.mark.parametrize("kind", list(LedgerKind))
def test_every_ledger_kind_has_a_column(kind: LedgerKind) -> None:
    assert kind.value in LEDGER_COLUMNS, f"{kind.value}: add it to services/allocation/spend.py"
    assert (column_of(kind) is None) == (kind is LedgerKind.TOPUP)


def test_a_kind_without_a_column_is_refused_not_left_out() -> None:
    with pytest.raises(UnmappedLedgerKind):
        column_of("something_new")


def test_debits_show_as_spend_and_credits_as_refunds() -> None:
    assert column_of(LedgerKind.PURCHASE) is SpendColumn.SPENT
    assert column_of(LedgerKind.EXTENSION) is SpendColumn.EXTENSION_FEES
    refunds = [LedgerKind.REFUND, LedgerKind.PURCHASE_REFUND, LedgerKind.VOID_CREDIT, LedgerKind.NUMBER_ISSUED_TWICE]
    assert {column_of(k) for k in refunds} == {SpendColumn.REFUNDED}
    assert (SpendColumn.SPENT.sign, SpendColumn.EXTENSION_FEES.sign, SpendColumn.REFUNDED.sign) == (-1, -1, 1)


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ("TEXT/CSV", True),
        ("application/json, text/csv", False),  # a tie: JSON
        ("application/json;q=0.5, text/csv", True),
        ("text/csv;q=0.2, application/json;q=0.9", False),
        ("text/csv;q=oops", False),
    ],
)
def test_csv_only_when_the_client_prefers_it(accept: str | None, csv: bool) -> None:
    assert wants_csv(accept) is csv


def test_yuan_are_exact_from_the_cents() -> None:
    assert [yuan(c) for c in (0, 1, 10, 280000, -840, 3001)] == ["0.00", "0.01", "0.10", "2800.00", "-8.40", "30.01"]


def _figures(**changes: object) -> dict[str, object]:
    base: dict[str, object] = dict.fromkeys(SpendFigures.model_fields, 0) | {"average_cost_cents": None}
    return base | changes


def test_the_csv_has_a_header_and_a_row_per_row() -> None:
    row = SpendRow(
        bucket=date(2026, 3, 2),
        shop_id="s-1",
        group=None,
        **_figures(used=3, used_cost_cents=901, average_cost_cents=300.33, net_cents=-5),
    )
    report = SpendReport(
        shop_id="s-1",
        from_date=date(2026, 3, 1),
        to_date=date(2026, 3, 2),
        interval=SpendInterval.DAY,
        group_by=SpendGroup.STORE,
        tz="Asia/Shanghai",
        buckets=[date(2026, 3, 1), date(2026, 3, 2)],
        rows=[row],
        totals=SpendFigures(**_figures()),
    )
    header, line, end = render(report).split("\r\n")
    assert header.split(",")[:3] == ["bucket", "shop_id", "store"]
    assert line == "2026-03-02,s-1,,0,3,0,0,0,0.00,0.00,0.00,-0.05,9.01,3.0033"
    assert end == ""


def test_buckets_cover_the_period() -> None:
    week = buckets(SpendQuery(date(2026, 3, 1), date(2026, 3, 16), SpendInterval.WEEK))
    assert week == [date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    months = buckets(SpendQuery(date(2025, 12, 31), date(2026, 2, 1), SpendInterval.MONTH))
    assert months == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert buckets(SpendQuery(date(2026, 3, 1), date(2026, 3, 1))) == [date(2026, 3, 1)]
