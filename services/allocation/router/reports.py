"""Allocation routes: spend reports, as JSON or CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from runtime.app import UowDep
from runtime.auth import PrincipalDep
from runtime.openapi import responses
from services.allocation import spend_csv
from services.allocation.schemas.reports import SpendGroup, SpendInterval, SpendReport
from services.allocation.service import reports

router = APIRouter(prefix="/v1/reports", tags=["reports"])

CSV = spend_csv.MEDIA_TYPE
_CSV_EXAMPLE = (
    "bucket,shop_id,carrier,bought,used,voided,expired,refunded,spent_yuan,refunded_yuan,extension_fees_yuan,"
    "net_yuan,used_cost_yuan,average_cost_yuan\r\n"
    "2026-12-07,s-9a3f1c2b7e4d,ZTO,1000,412,3,0,0,2800.00,8.40,0.00,2791.60,1153.60,2.8000\r\n"
)
DESCRIPTION = """What the shop's numbers cost it, per `interval` bucket of the days `from_date` to `to_date` (both
included, dates in `tz`, the shop's zone: shipping's `GET /v1/settings` has it; Asia/Shanghai by default), split by
`group_by`. A row per bucket and group that has anything, and the totals.

- **bought**: numbers received by purchases completed in the period; **used**: numbers first marked shipped
  (whatever became of them after); **voided**: printed or shipped numbers voided (回收单号); **expired**: numbers
  that expired unused; **refunded**: unused numbers refunded.
- **spent_cents**: ledger `purchase`; **extension_fees_cents**: `extension`, `auto_extension`;
  **refunded_cents**: `refund`, `auto_refund`, `purchase_refund`, `void_credit`, `number_taken_by_manual_entry`,
  `number_issued_twice`; **net_cents** = spent + extension fees - refunded: minus the sum of the period's ledger
  rows but `topup`, to the cent.
- **used_cost_cents**: each used number at the price its own purchase paid per number (not the catalogue's;
  typed numbers cost 0); **average_cost_cents**: per shipped parcel, to 2 decimals of a cent.
- By `store` or `channel`, only used numbers and their cost have one (shipping says it when it marks a number
  shipped); everything else is under the null group.

`Accept: text/csv` answers CSV: a header row, a row per JSON row, money in yuan with 2 decimals, the average in yuan
with 4; `Content-Disposition` names the file. A shop key reports its own shop; the admin key any one (`shop_id`,
or `X-Shop-Id`) or, with neither, every shop, rows per shop. At most 366 days of day buckets, 731 of weeks, 3660
of months; an unknown zone or `to_date` before `from_date` answers 422 `validation_error`."""


@router.get(
    "/spend",
    summary="Spend report: numbers bought, used, voided, expired, refunded and their money",
    description=DESCRIPTION,
    responses={
        **responses(404, 422),
        200: {"content": {CSV: {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}}},
    },
    response_model=SpendReport,
)
async def get_spend_report(
    request: Request,
    principal: PrincipalDep,
    uow: UowDep,
    from_date: Annotated[date, Query(description="The first day (in `tz`).", examples=["2026-12-01"])],
    to_date: Annotated[date, Query(description="The last day, included (in `tz`).", examples=["2026-12-07"])],
    interval: Annotated[
        SpendInterval, Query(description="Bucket size: ISO weeks start on Monday.")
    ] = SpendInterval.DAY,
    group_by: Annotated[SpendGroup, Query(description="Split rows by carrier, store or channel.")] = SpendGroup.CARRIER,
    tz: Annotated[
        str, Query(max_length=64, description="The zone days are counted in (IANA).", examples=["Asia/Shanghai"])
    ] = reports.DEFAULT_TIME_ZONE,
    shop_id: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="Admin key: the shop to report (none: every shop). A shop key: its own only.",
        ),
    ] = None,
) -> SpendReport | Response:
    query = reports.SpendQuery(from_date, to_date, interval, group_by, tz, shop_id)
    report = await reports.spend_report(uow, principal, query)
    if not spend_csv.wants_csv(request.headers.get("accept")):
        return report
    disposition = f'attachment; filename="{spend_csv.filename(report)}"'
    return Response(spend_csv.render(report), media_type=CSV, headers={"Content-Disposition": disposition})
