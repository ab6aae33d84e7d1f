"""Operators' number patterns (PATCH /v1/carriers/{code}): one the linear-time engine (RE2) refuses answers 422
``invalid_number_pattern`` naming the alternative, one too long 422 ``validation_error``, and a pattern that
would backtrack catastrophically under Python's ``re`` is stored and then matched in bounded time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.allocation.service.catalogue import rule_of
from shared.waybill import MAX_PATTERN_LENGTH, InvalidWaybillNumber

# A carrier no other test edits or allocates: its rule is restored afterwards anyway.
CARRIER = "TTKDEX"


@pytest.fixture
async def restored(allocation_client: httpx.AsyncClient, admin: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
    before = (await allocation_client.get(f"/v1/carriers/{CARRIER}", headers=admin)).json()
    yield before
    resp = await allocation_client.patch(
        f"/v1/carriers/{CARRIER}", json={"number_rule": before["number_rule"]}, headers=admin
    )
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    "pattern", [r"(?=\d)\d{12}", r"(\d)\1{11}", r"\d{12}\Z", r"\d{1001}", r"[0-9"], ids=lambda p: p
)
async def test_a_pattern_the_engine_refuses_is_422_with_its_own_code(
    pattern: str, allocation_client: httpx.AsyncClient, admin: dict[str, str], restored: dict[str, Any]
) -> None:
    rule = [{"pattern": r"\d{12}"}, {"pattern": pattern}]
    resp = await allocation_client.patch(f"/v1/carriers/{CARRIER}", json={"number_rule": rule}, headers=admin)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_number_pattern"
    assert error["details"]["field"] == "number_rule.1.pattern"
    assert "RE2" in error["details"]["reason"]
    # Nothing changed.
    after = (await allocation_client.get(f"/v1/carriers/{CARRIER}", headers=admin)).json()
    assert after["number_rule"] == restored["number_rule"]


async def test_a_pattern_too_long_is_422(
    allocation_client: httpx.AsyncClient, admin: dict[str, str], restored: dict[str, Any]
) -> None:
    rule = [{"pattern": "\\d" * (MAX_PATTERN_LENGTH // 2 + 1)}]
    resp = await allocation_client.patch(f"/v1/carriers/{CARRIER}", json={"number_rule": rule}, headers=admin)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["fields"][0]["field"] == "number_rule.0.pattern"


async def test_a_catastrophic_pattern_is_stored_and_matched_in_bounded_time(
    allocation_client: httpx.AsyncClient, admin: dict[str, str], restored: dict[str, Any]
) -> None:
    rule = [{"pattern": r"(\d+)+$", "check": "none", "description": "evil"}]
    resp = await allocation_client.patch(f"/v1/carriers/{CARRIER}", json={"number_rule": rule}, headers=admin)
    assert resp.status_code == 200, resp.text
    stored = (await allocation_client.get(f"/v1/carriers/{CARRIER}", headers=admin)).json()["number_rule"]
    started = time.perf_counter()
    with pytest.raises(InvalidWaybillNumber):
        rule_of(stored).validate("1" * 39 + "!")
    assert time.perf_counter() - started < 1.0
