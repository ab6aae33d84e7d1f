"""The number bookkeeping jobs' logic against an in-memory allocation: releases (voided when a label may
exist), marks, bulk marks in parts; refusals answered, outages raised for the job to retry."""

from __future__ import annotations

import pytest

from runtime.service_client import ServiceError
from services.shipping.service import numbers
from shared.allocation import MAX_BATCH_MARK, MarkItem, MarkState, WaybillState
from tests.fakes.allocation_api import FakeAllocationApi

SHOP = "s-1"
OUTAGE = ServiceError("allocation", 0, "unavailable", "ConnectError")


async def _allocated(api: FakeAllocationApi, *orders: str) -> list[str]:
    api.stock(SHOP, "ZTO", [f"7800000000{i:04d}" for i in range(len(orders))])
    return [(await api.allocate(SHOP, "ZTO", o)).number for o in orders]


async def test_an_unprinted_number_goes_back_to_the_pool() -> None:
    api = FakeAllocationApi()
    (number,) = await _allocated(api, "T1")
    assert await numbers.release(api, SHOP, number, "T1", void=False) == "available"
    assert api.waybill(SHOP, number).status is WaybillState.AVAILABLE


async def test_a_batch_number_is_printed_then_voided() -> None:
    api = FakeAllocationApi()
    (number,) = await _allocated(api, "T1")
    assert await numbers.release(api, SHOP, number, "T1", void=True) == "voided"
    assert api.calls[-2:] == ["mark", "release"]
    assert api.waybill(SHOP, number).status is WaybillState.VOIDED


async def test_a_refused_release_is_answered_not_raised() -> None:
    api = FakeAllocationApi()
    (number,) = await _allocated(api, "T1")
    assert await numbers.release(api, SHOP, number, "another order", void=False) == "refused: conflict"
    assert await numbers.release(api, SHOP, "unknown", "T1", void=False) == "refused: not_found"


async def test_an_outage_is_raised_for_the_job_to_retry() -> None:
    api = FakeAllocationApi()
    (number,) = await _allocated(api, "T1")
    api.fail_next("mark", OUTAGE)
    with pytest.raises(ServiceError) as info:
        await numbers.release(api, SHOP, number, "T1", void=True)
    assert info.value.transient
    api.fail_next("release", ServiceError("allocation", 503, "unavailable", "down"))
    with pytest.raises(ServiceError):
        await numbers.release(api, SHOP, number, "T1", void=False)
    assert api.waybill(SHOP, number).status is WaybillState.ALLOCATED  # nothing changed: the retry does it


async def test_mark_answers_the_state_or_the_refusal() -> None:
    api = FakeAllocationApi()
    (number,) = await _allocated(api, "T1")
    assert await numbers.mark(api, SHOP, number, MarkState.SHIPPED, "T1") == "shipped"
    assert await numbers.mark(api, SHOP, number, MarkState.PRINTED, "T1") == "refused: invalid_transition"
    api.fail_next("mark", OUTAGE)
    with pytest.raises(ServiceError):
        await numbers.mark(api, SHOP, number, MarkState.SHIPPED, "T1")


async def test_many_marks_go_in_parts_and_a_refused_number_holds_no_other_back() -> None:
    api = FakeAllocationApi()
    orders = [f"T{i}" for i in range(MAX_BATCH_MARK + 5)]
    allocated = await _allocated(api, *orders)
    items = [MarkItem(number=n, order_id=o) for n, o in zip(allocated, orders, strict=True)]
    items.append(MarkItem(number="7899999999", order_id="T0"))  # not the shop's: refused on its own
    assert await numbers.mark_many(api, SHOP, MarkState.SHIPPED, items) == len(allocated)
    assert api.calls.count("mark_many") == 2
    assert {api.waybill(SHOP, n).status for n in allocated} == {WaybillState.SHIPPED}


async def test_many_marks_raise_an_outage() -> None:
    api = FakeAllocationApi()
    (number,) = await _allocated(api, "T1")
    api.fail_next("mark_many", OUTAGE)
    with pytest.raises(ServiceError):
        await numbers.mark_many(api, SHOP, MarkState.SHIPPED, [MarkItem(number=number, order_id="T1")])
