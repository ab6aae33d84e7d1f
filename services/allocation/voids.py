"""Voiding a printed number before the courier collects it (回收单号), as plain rules, no database: what the
shop is credited under a package's void-credit policy, the price paid for one number of a purchase, and what
the courier's answer to the cancellation means.

The moves themselves are ``services.allocation.service.voids``: a void opens when a release voids a printed
number, and settles once, when the courier has answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.allocation import VoidCourierOutcome

# The courier's refusal of a cancellation because it has the parcel (the sandbox's and Cainiao's code).
ALREADY_COLLECTED = "waybill.already-collected"
# Cancelled already (the sandbox answers success instead; unconfirmed for real couriers): our earlier ask got
# through and its answer was lost, so the number is cancelled all the same.
ALREADY_DISCARDED = "waybill.already-discarded"


@dataclass(frozen=True)
class VoidPolicy:
    """What a voided number earns back: ``percent`` of the price paid for it, less ``fee_cents``, never below
    0. Full is (100, 0), none (0, 0)."""

    percent: int = 100
    fee_cents: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100 or self.fee_cents < 0:
            raise ValueError(f"a void credit is 0..100 percent less a fee >= 0, not {self}")

    @property
    def name(self) -> str:
        """How the ledger and the API say it: ``full``, ``none``, ``50%``, ``full less 50 cents``."""
        if self.percent == 0:
            return "none"
        share = "full" if self.percent == 100 else f"{self.percent}%"
        return f"{share} less {self.fee_cents} cents" if self.fee_cents else share

    def credit(self, price_cents: int) -> int:
        """The credit for a number that cost ``price_cents``, rounded down."""
        return max(price_cents * self.percent // 100 - self.fee_cents, 0)


def number_price(price_cents: int, quantity: int, already: int) -> int:
    """The price paid for the next of a purchase's numbers after ``already`` others, from running totals (the
    way ``balance.pay_back`` pays back): each step rounded down, so that a purchase's numbers together never
    cost more than its price, and the cents lost to rounding come back at the steps that cross them."""
    if already >= quantity:
        return 0
    return price_cents * (already + 1) // quantity - price_cents * already // quantity


def courier_outcome(error_code: str | None) -> VoidCourierOutcome:
    """The courier's answer to the cancellation (None: it accepted). Only an accepted one is credited."""
    if error_code is None or error_code == ALREADY_DISCARDED:
        return VoidCourierOutcome.DISCARDED
    if error_code == ALREADY_COLLECTED:
        return VoidCourierOutcome.COLLECTED
    return VoidCourierOutcome.REFUSED


def credits(outcome: VoidCourierOutcome) -> bool:
    """The courier took the number back: the unit returns to the shop's quantity there, so we credit it."""
    return outcome is VoidCourierOutcome.DISCARDED
