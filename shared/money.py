"""Money on the wire: integer cents (分), never floats.

Binary floats cannot represent most decimal amounts, and balances are summed over many ledger entries, so
every amount is an integer number of cents from the JSON body to the database.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

MAX_CENTS = 10**12  # ten billion yuan: far above any shop's balance, small enough to catch unit mix-ups


def _no_floats(value: Any) -> Any:
    # pydantic's lax int would quietly accept 12.0, True and Decimal("12"); an amount arriving as one of
    # those means the sender is doing money arithmetic in the wrong type, so refuse it loudly.
    # Strings of digits stay accepted because query parameters and form fields are strings.
    if isinstance(value, bool | float | Decimal):
        raise ValueError("amounts are integer cents; floats, decimals and booleans are refused")
    return value


# Field before the validator: the other way round pydantic emits ge/le instead of minimum/maximum
# in the JSON schema.
Cents = Annotated[
    int,
    Field(ge=0, le=MAX_CENTS, description="Amount in integer cents (分)"),
    BeforeValidator(_no_floats),
]
# Ledger entries: debits are negative.
SignedCents = Annotated[
    int,
    Field(ge=-MAX_CENTS, le=MAX_CENTS, description="Signed amount in integer cents (分); debits are negative"),
    BeforeValidator(_no_floats),
]
PositiveCents = Annotated[
    int,
    Field(gt=0, le=MAX_CENTS, description="Strictly positive amount in integer cents (分)"),
    BeforeValidator(_no_floats),
]


def format_yuan(cents: int) -> str:
    """``1234`` -> ``"¥12.34"``, ``-5`` -> ``"-¥0.05"``; for humans only, never parse it back."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"format_yuan takes integer cents, got {type(cents).__name__}")
    sign = "-" if cents < 0 else ""
    yuan, fen = divmod(abs(cents), 100)
    return f"{sign}¥{yuan}.{fen:02d}"
