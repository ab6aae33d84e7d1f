"""Allocation's other pure rules: number rules set by operators, who may read a shop, low-stock crossings,
numbers a courier answer repeats, the purchase request digest, and the job names the worker answers to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime.auth import Principal
from runtime.errors import AppError
from services.allocation import tasks
from services.allocation.service.catalogue import checked_number_rule, rule_of
from services.allocation.service.fulfilment import issued_twice
from services.allocation.service.jobs import Job
from services.allocation.service.pools import LowStock, low_stock_change
from services.allocation.service.purchases import request_hash
from services.allocation.service.shops import may_read_shop
from shared.carriers import CarrierCode
from shared.catalogue import RuleAlternativeIn
from shared.errors import ErrorCode


def test_a_number_rule_is_stored_as_sent_and_builds() -> None:
    rule = [RuleAlternativeIn(pattern=r"EA\d{9}CN", check="s10", description="EMS")]
    stored = checked_number_rule(rule)
    assert stored == [{"pattern": r"EA\d{9}CN", "check": "s10", "description": "EMS"}]
    assert rule_of(stored).validate("ea123456785cn", carrier=CarrierCode.EMS) == "EA123456785CN"


def test_a_pattern_re2_refuses_is_a_422_naming_the_field() -> None:
    rule = [RuleAlternativeIn(pattern=r"\d{12}"), RuleAlternativeIn(pattern=r"(?=7)\d{14}")]
    with pytest.raises(AppError) as refused:
        checked_number_rule(rule)
    assert (refused.value.status_code, refused.value.code) == (422, ErrorCode.INVALID_NUMBER_PATTERN)
    assert refused.value.details["field"] == "number_rule.1.pattern"


def test_a_shop_key_reads_only_its_own_shop() -> None:
    assert may_read_shop(Principal("shop", "s-1"), "s-1")
    assert not may_read_shop(Principal("shop", "s-1"), "s-2")
    assert may_read_shop(Principal("admin"), "s-2")
    assert may_read_shop(Principal("internal", "s-1"), "s-2")


def test_a_low_stock_crossing_is_reported_once_until_stock_recovers() -> None:
    since = datetime(2026, 11, 28, tzinfo=UTC)
    assert low_stock_change(9, 10, None) is LowStock.CROSSED
    assert low_stock_change(9, 10, since) is LowStock.UNCHANGED  # already reported
    assert low_stock_change(10, 10, since) is LowStock.RECOVERED
    assert low_stock_change(10, 10, None) is LowStock.UNCHANGED


def test_numbers_held_elsewhere_or_repeated_in_one_answer_are_issued_twice() -> None:
    assert issued_twice(["a", "b", "c", "b", "d", "d", "d"], ["c", "a", "c"]) == ["c", "a", "b", "d"]
    assert issued_twice(["a", "b"], []) == []


def test_the_request_digest_ignores_key_order() -> None:
    assert request_hash({"carrier": "ZTO", "package_id": "ZTO-1000"}) == request_hash(
        {"package_id": "ZTO-1000", "carrier": "ZTO"}
    )
    assert request_hash({"carrier": "ZTO", "package_id": "ZTO-1000"}) != request_hash(
        {"carrier": "ZTO", "package_id": "ZTO-5000"}
    )


def test_every_job_the_api_enqueues_is_a_function_of_the_worker() -> None:
    names = {f.name for f in tasks.WorkerSettings.functions}  # type: ignore[attr-defined]
    assert {job.value for job in Job} == names
