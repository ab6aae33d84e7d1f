"""Allocation API models: balances and the ledger."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.money import PositiveCents


class TopupRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"amount_cents": 1000000, "reference": "bank-2026-11-28"}]}
    )

    amount_cents: PositiveCents
    reference: str | None = Field(None, max_length=200)


class LedgerEntryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "amount_cents": -280000,
                    "balance_after_cents": 720000,
                    "kind": "purchase",
                    "reference": "p-3f9c2a1b7d4e6f80",
                    "note": "bought package ZTO-1000: 1000 numbers at the catalogue price",
                    "reason": "a package of numbers bought, at the price in force (negotiated or catalogue)",
                    "created_at": "2026-11-28T09:30:00Z",
                }
            ]
        },
    )

    id: int
    amount_cents: int
    balance_after_cents: int
    kind: str = Field(description="Why, as a stable code (see `GET /v1/balance`).")
    reference: str | None = Field(description="What it concerns: a purchase id, the operator's top-up reference.")
    note: str | None = Field(description="Why, in words, with the particulars: set on every entry.")
    # A default, so that a client built before the field (and its fakes) still reads an entry.
    reason: str = Field("", description="What the kind means, in words (the same for every entry of a kind).")
    created_at: datetime


class BalanceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shop_id": "s-9a3f1c2b7e4d",
                    "balance_cents": 720000,
                    "ledger_total_cents": 720000,
                    "ledger": [
                        {
                            "id": 42,
                            "amount_cents": -280000,
                            "balance_after_cents": 720000,
                            "kind": "purchase",
                            "reference": "p-3f9c2a1b7d4e6f80",
                            "note": "bought package ZTO-1000: 1000 numbers at the shop's negotiated price #12",
                            "reason": "a package of numbers bought, at the price in force (negotiated or catalogue)",
                            "created_at": "2026-11-28T09:30:00Z",
                        },
                        {
                            "id": 41,
                            "amount_cents": 1000000,
                            "balance_after_cents": 1000000,
                            "kind": "topup",
                            "reference": "bank-2026-11-28",
                            "note": "top-up by an operator (bank-2026-11-28)",
                            "reason": "balance topped up by an operator",
                            "created_at": "2026-11-28T09:00:00Z",
                        },
                    ],
                }
            ]
        }
    )

    shop_id: str
    balance_cents: int
    ledger_total_cents: int = Field(description="Sum of every ledger entry; always equals the balance.")
    ledger: list[LedgerEntryOut] = Field(description="The most recent entries, newest first.")
