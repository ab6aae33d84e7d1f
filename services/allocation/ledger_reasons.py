"""What each ledger kind means, in words (the API's ``reason`` of a ledger entry; the row's ``note`` adds the
particulars). Every LedgerKind has one: tests/unit/allocation/test_ledger_reasons.py holds them together."""

from __future__ import annotations

from collections.abc import Mapping

from services.allocation.kinds import LedgerKind

REASONS: Mapping[LedgerKind, str] = {
    LedgerKind.TOPUP: "balance topped up by an operator",
    LedgerKind.PURCHASE: "a package of numbers bought, at the price in force (negotiated or catalogue)",
    LedgerKind.PURCHASE_REFUND: "a purchase the courier never fulfilled, paid back in full",
    LedgerKind.REFUND: "numbers never handed out, refunded at the price paid for them (all, or a count asked)",
    LedgerKind.EXTENSION: "the validity of a purchase's usable numbers extended, for the package's fee",
    LedgerKind.NUMBER_TAKEN_BY_MANUAL_ENTRY: (
        "numbers a purchase paid for that typed entries had already printed, credited at the price paid"
    ),
    LedgerKind.NUMBER_ISSUED_TWICE: "numbers the courier issued twice (quarantined), credited at the price paid",
    LedgerKind.VOID_CREDIT: (
        "a printed number voided before collection and cancelled at the courier, credited per the purchase's "
        "void-credit policy"
    ),
    LedgerKind.AUTO_EXTENSION: "the shop's on_expiry setting extended numbers about to expire, for the fee",
    LedgerKind.AUTO_REFUND: "the shop's on_expiry setting refunded numbers about to expire, never handed out",
}


def reason(kind: str) -> str:
    """The words of a stored kind (one the code no longer knows: the kind itself)."""
    try:
        return REASONS[LedgerKind(kind)]
    except ValueError:
        return kind
