"""Numbers for a batch chunk against an in-memory allocation: one bulk call per carrier, the pool's last
numbers one by one when it cannot fill the bulk call, and each order's refusal kept with its item."""

from __future__ import annotations

from runtime.service_client import ServiceError
from services.shipping.service.batch_numbers import Planned, allocate_numbers
from tests.fakes.allocation_api import FakeAllocationApi

SHOP = "s-1"


def _plan(carrier: str, count: int, first_seq: int = 0) -> list[Planned]:
    return [Planned(first_seq + i, f"ord_{carrier}{i}", f"T{carrier}{i}", carrier) for i in range(count)]


async def test_one_bulk_call_per_carrier() -> None:
    api = FakeAllocationApi()
    api.stock(SHOP, "ZTO", [f"78{i:012d}" for i in range(5)])
    api.stock(SHOP, "YTO", [f"YT{i:013d}" for i in range(5)])
    plan = _plan("ZTO", 3) + _plan("YTO", 2, first_seq=3)
    got = await allocate_numbers(api, SHOP, plan)
    assert api.calls == ["allocate_batch", "allocate_batch"]
    assert set(got.by_ref) == {p.order_ref for p in plan}
    assert got.failures == {}
    assert len(set(got.by_ref.values())) == 5  # a number is handed out once


async def test_a_pool_short_of_numbers_gives_what_it_has_one_by_one() -> None:
    api = FakeAllocationApi()
    api.stock(SHOP, "ZTO", ["780000000001", "780000000002"])
    plan = _plan("ZTO", 3)
    got = await allocate_numbers(api, SHOP, plan)
    assert api.calls == ["allocate_batch", "allocate", "allocate", "allocate"]
    assert sorted(got.by_ref) == ["TZTO0", "TZTO1"]
    assert list(got.failures) == [2]
    assert got.failures[2].startswith("allocation: pool_exhausted: ")


async def test_asking_again_for_the_same_orders_answers_the_same_numbers() -> None:
    api = FakeAllocationApi()
    api.stock(SHOP, "ZTO", [f"78{i:012d}" for i in range(3)])
    plan = _plan("ZTO", 3)
    first = await allocate_numbers(api, SHOP, plan)
    again = await allocate_numbers(api, SHOP, plan)  # a chunk redone after a crash
    assert again.by_ref == first.by_ref


async def test_any_other_refusal_fails_the_whole_part() -> None:
    api = FakeAllocationApi()
    # A refusal that asking again cannot change (a transient one is asked again: test_shipping_batches).
    api.fail_next("allocate_batch", ServiceError("allocation", 422, "validation_error", "bad carrier"))
    got = await allocate_numbers(api, SHOP, _plan("ZTO", 2))
    assert got.by_ref == {}
    assert got.failures == {
        0: "allocation: validation_error: bad carrier",
        1: "allocation: validation_error: bad carrier",
    }
    assert api.calls == ["allocate_batch"]
