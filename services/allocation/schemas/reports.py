"""Allocation API models: spend reports (``GET /v1/reports/spend``)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class SpendInterval(StrEnum):
    """A report's buckets, each a calendar period in the report's zone."""

    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first
    MONTH = "month"


class SpendGroup(StrEnum):
    """What a report's rows are split by besides the bucket."""

    CARRIER = "carrier"
    STORE = "store"
    CHANNEL = "channel"


_FIGURES_EXAMPLE: JsonDict = {
    "bought": 1000,
    "used": 412,
    "voided": 3,
    "expired": 0,
    "refunded": 0,
    "spent_cents": 280000,
    "refunded_cents": 840,
    "extension_fees_cents": 0,
    "net_cents": 279160,
    "used_cost_cents": 115360,
    "average_cost_cents": 280.0,
}
_ROW_EXAMPLE: JsonDict = {"bucket": "2026-12-07", "shop_id": "s-9a3f1c2b7e4d", "group": "ZTO", **_FIGURES_EXAMPLE}
_REPORT_EXAMPLE: JsonDict = {
    "shop_id": "s-9a3f1c2b7e4d",
    "from_date": "2026-12-01",
    "to_date": "2026-12-07",
    "interval": "day",
    "group_by": "carrier",
    "tz": "Asia/Shanghai",
    "buckets": [f"2026-12-0{d}" for d in range(1, 8)],
    "rows": [_ROW_EXAMPLE],
    "totals": _FIGURES_EXAMPLE,
}


class SpendFigures(BaseModel):
    """What one bucket (and group) counted, or the whole report's totals. Money in integer cents."""

    model_config = ConfigDict(json_schema_extra={"examples": [_FIGURES_EXAMPLE]})

    bought: int = Field(description="Numbers received by purchases completed in the period (by completed_at).")
    used: int = Field(description="Numbers first marked shipped in the period (old rows: by their last change).")
    voided: int = Field(description="Printed or shipped numbers voided in the period (回收单号; one each).")
    expired: int = Field(description="Numbers that expired in the period unused.")
    refunded: int = Field(description="Unused numbers refunded in the period (a shop's refund or an auto-refund).")
    spent_cents: int = Field(description="Paid for purchases (ledger `purchase`).")
    refunded_cents: int = Field(
        description="Paid back: refunds, failed purchases, void credits and the credits for numbers a purchase "
        "could not hold (every credit kind of the ledger)."
    )
    extension_fees_cents: int = Field(description="Fees for extending numbers' validity (by hand or automatic).")
    net_cents: int = Field(
        description="spent + extension fees - refunded: minus the sum of the period's ledger rows but top-ups."
    )
    used_cost_cents: int = Field(
        description="What the numbers used cost, each at its own purchase's price per number (price / quantity, "
        "not the catalogue's); typed numbers cost 0. Rounded to the cent."
    )
    average_cost_cents: float | None = Field(
        description="used_cost / used, in cents to 2 decimals (null when nothing was used)."
    )


class SpendRow(SpendFigures):
    model_config = ConfigDict(json_schema_extra={"examples": [_ROW_EXAMPLE]})

    bucket: date = Field(description="The bucket's first day in the report's zone (a Monday for weeks, the 1st).")
    shop_id: str
    group: str | None = Field(
        description="The carrier, store id or channel; null where the figure has none (a typed number's store, "
        "and every figure but used and used_cost when grouped by store or channel)."
    )


class SpendReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_REPORT_EXAMPLE]})

    shop_id: str | None = Field(description="The shop reported; null: every shop (the admin key), rows per shop.")
    from_date: date
    to_date: date = Field(description="The last day reported (inclusive).")
    interval: SpendInterval
    group_by: SpendGroup
    tz: str = Field(description="The zone days are counted in (an IANA name).")
    buckets: list[date] = Field(description="Every bucket of the period, in order, with rows or not.")
    rows: list[SpendRow] = Field(
        description="One per bucket, shop and group that has anything; by bucket, shop, group."
    )
    totals: SpendFigures
