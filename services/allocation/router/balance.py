"""Allocation routes: the shop's balance and ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from services.allocation.schemas.balance import BalanceOut
from services.allocation.service import balance

router = APIRouter(prefix="/v1/balance", tags=["balance"])


@router.get(
    "",
    summary="The shop's balance and ledger",
    description=(
        "Balance in integer cents with the most recent ledger entries; `ledger_total_cents` always equals it. "
        "Every entry says why: its `kind` (a stable code), its `reason` (what the kind means) and its `note` "
        "(the particulars: the package and price, the count, the number). Entry kinds: `topup`, `purchase` "
        "(note `bought package ZTO-1000: 1000 numbers at the catalogue price`, or `at the shop's negotiated "
        "price #12`), `purchase_refund` (the courier never issued), `refund` (numbers never handed out; a "
        "partial refund's note `partial refund of N: N numbers never handed out (M left unused)`), `extension`, "
        "`number_taken_by_manual_entry` (a number a purchase paid for that a typed entry had already printed, "
        "credited at the price paid per number), `number_issued_twice` (a number the courier issued to two "
        "purchases: quarantined, and each purchase that can no longer use it credited at the price it paid), "
        "`void_credit` (a printed number voided before collection, cancelled at the courier), "
        "`auto_extension` and `auto_refund` (the shop's `on_expiry` setting acting before numbers expire: "
        "`PUT /v1/expiry-settings`)."
    ),
)
async def get_balance(shop_id: ShopIdDep, uow: UowDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> BalanceOut:
    return await balance.balance(uow, shop_id, limit)
