"""What a purchase is paid back (refunds and credits share running totals) and what an extension costs."""

from __future__ import annotations

from services.allocation.models import Purchase
from services.allocation.service.balance import extension_fee, insufficient_balance, pay_back
from shared.errors import ErrorCode


def _purchase(quantity: int, price_cents: int) -> Purchase:
    return Purchase(quantity=quantity, price_cents=price_cents, refunded_quantity=0, refunded_cents=0)


def test_pay_back_rounds_each_step_down_from_running_totals() -> None:
    purchase = _purchase(10, 1001)  # 100.1 cents a number
    assert pay_back(purchase, 3) == 300
    assert pay_back(purchase, 3) == 300  # 6 numbers: 600.6, rounded down, less the 300 already paid
    assert pay_back(purchase, 4) == 401  # the whole price in all, never a cent lost to rounding
    assert (purchase.refunded_quantity, purchase.refunded_cents) == (10, 1001)


def test_pay_back_never_exceeds_the_price() -> None:
    purchase = _purchase(1000, 280_000)
    assert pay_back(purchase, 750) == 210_000
    assert pay_back(purchase, 500) == 70_000  # only 250 were left to pay back
    assert pay_back(purchase, 1) == 0
    assert (purchase.refunded_quantity, purchase.refunded_cents) == (1000, 280_000)


def test_the_extension_fee_is_pro_rata_and_rounded_up() -> None:
    assert extension_fee(90, 30) == 90
    assert extension_fee(90, 45) == 135
    assert extension_fee(100, 1) == 4  # 3.33 cents: never undercharge a partial month
    assert extension_fee(0, 365) == 0


def test_insufficient_balance_is_a_402_with_its_details() -> None:
    error = insufficient_balance("balance is less than the extension fee 5 cents", {"fee_cents": 5})
    assert (error.status_code, error.code, error.details) == (402, ErrorCode.INSUFFICIENT_BALANCE, {"fee_cents": 5})
