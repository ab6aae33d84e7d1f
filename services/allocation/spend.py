"""Which column of a spend report each ledger kind lands in, as plain rules, no database.

Every kind but ``topup`` (money put in, not spent) lands in exactly one money column, so a report's
``net_cents`` (spent + extension fees - refunded) is minus the sum of its period's ledger rows but top-ups, to
the cent. A kind added to ``LedgerKind`` without a column here fails tests/unit/allocation/test_spend.py, and
a report that meets it fails loudly rather than leave its money out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from services.allocation.models import LedgerKind


class SpendColumn(StrEnum):
    SPENT = "spent_cents"  # debits: the report shows them as positive amounts
    EXTENSION_FEES = "extension_fees_cents"  # debits, as positive amounts
    REFUNDED = "refunded_cents"  # credits

    @property
    def sign(self) -> int:
        """What a ledger amount (negative: a debit) is multiplied by in this column."""
        return 1 if self is SpendColumn.REFUNDED else -1


# Keyed by the stored value: "auto_extension" and "auto_refund" are the kinds a shop's on_expiry setting writes
# (a0006), named by value so that this table holds wherever LedgerKind has them or not yet.
LEDGER_COLUMNS: Mapping[str, SpendColumn | None] = {
    LedgerKind.TOPUP: None,
    LedgerKind.PURCHASE: SpendColumn.SPENT,
    LedgerKind.EXTENSION: SpendColumn.EXTENSION_FEES,
    "auto_extension": SpendColumn.EXTENSION_FEES,
    LedgerKind.PURCHASE_REFUND: SpendColumn.REFUNDED,  # the courier never issued the numbers
    LedgerKind.REFUND: SpendColumn.REFUNDED,
    "auto_refund": SpendColumn.REFUNDED,
    LedgerKind.VOID_CREDIT: SpendColumn.REFUNDED,
    LedgerKind.NUMBER_TAKEN_BY_MANUAL_ENTRY: SpendColumn.REFUNDED,
    LedgerKind.NUMBER_ISSUED_TWICE: SpendColumn.REFUNDED,
}


class UnmappedLedgerKind(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(f"ledger kind {kind!r} has no spend report column (services/allocation/spend.py)")


def column_of(kind: str) -> SpendColumn | None:
    """The column a ledger row of this kind lands in (None: top-ups, not spend)."""
    try:
        return LEDGER_COLUMNS[kind]
    except KeyError:
        raise UnmappedLedgerKind(kind) from None
