"""A confirmation attempt's result: which outcomes run the job again, and what the job reports."""

from __future__ import annotations

from services.shipping.service.confirmation import ConfirmOutcome, Result


def test_only_retry_and_busy_run_again() -> None:
    assert {o for o in ConfirmOutcome if Result(o).again} == {ConfirmOutcome.RETRY, ConfirmOutcome.BUSY}


def test_the_summary_carries_the_detail() -> None:
    assert Result(ConfirmOutcome.CONFIRMED).summary() == "confirmed"
    assert Result(ConfirmOutcome.FAILED, detail="B60: used").summary() == "failed: B60: used"
