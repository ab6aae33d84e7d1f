"""A spend report as CSV (``Accept: text/csv``): a header row, then a row per bucket, shop and group, as in the
JSON's ``rows`` (no totals row: a spreadsheet sums the columns itself). Money in yuan with 2 decimals, exact
from the cents; the average cost per parcel in yuan with 4 decimals (it is a fraction of a cent per parcel)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from services.allocation.schemas.reports import SpendReport

MEDIA_TYPE = "text/csv"
COUNTS = ("bought", "used", "voided", "expired", "refunded")
MONEY = ("spent", "refunded", "extension_fees", "net", "used_cost")


def yuan(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def header(report: SpendReport) -> list[str]:
    return ["bucket", "shop_id", report.group_by.value, *COUNTS, *(f"{m}_yuan" for m in MONEY), "average_cost_yuan"]


def render(report: SpendReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header(report))
    for r in report.rows:
        average = "" if r.average_cost_cents is None else f"{Decimal(str(r.average_cost_cents)) / 100:.4f}"
        writer.writerow(
            [
                r.bucket.isoformat(),
                r.shop_id,
                r.group or "",
                *(getattr(r, c) for c in COUNTS),
                *(yuan(getattr(r, f"{m}_cents")) for m in MONEY),
                average,
            ]
        )
    return out.getvalue()


def filename(report: SpendReport) -> str:
    who = report.shop_id or "all-shops"
    return f"spend-{who}-{report.from_date}-{report.to_date}-{report.interval.value}-{report.group_by.value}.csv"


def wants_csv(accept: str | None) -> bool:
    """Whether the Accept header prefers CSV to JSON (JSON when it prefers neither, or on a tie)."""
    best = {"application/json": 0.0, MEDIA_TYPE: 0.0}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        for kind in best:
            if media.lower() == kind:
                best[kind] = max(best[kind], q)
    return best[MEDIA_TYPE] > best["application/json"]
