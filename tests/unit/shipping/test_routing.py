"""Asking allocation for parcels' routing: one call per MAX_ROUTES numbers, destinations cleaned of what a
marketplace address may hold, and ``again`` set only when asking later may help."""

from __future__ import annotations

from runtime.service_client import ServiceError
from services.shipping.service import routing
from shared.routing import MAX_ROUTES
from tests.fakes.allocation_api import FakeAllocationApi, route_of

SHOP = "s-1"
HANGZHOU = ("浙江省", "杭州市", "余杭区", "文一西路 969 号")


async def _api(count: int) -> tuple[FakeAllocationApi, list[str]]:
    """A pool whose ``count`` numbers are allocated (routing takes live numbers only)."""
    api = FakeAllocationApi()
    api.stock(SHOP, "ZTO", [f"78{i:012d}" for i in range(count)])
    numbers = [(await api.allocate(SHOP, "ZTO", f"o-{i}")).number for i in range(count)]
    api.calls.clear()
    return api, numbers


async def test_one_call_per_thousand_numbers() -> None:
    api, numbers = await _api(MAX_ROUTES + 5)
    got = await routing.ask(api, SHOP, [(n, HANGZHOU) for n in numbers])
    assert api.calls == ["routes", "routes"]
    assert got.again is False
    assert got.values[numbers[-1]] == route_of("ZTO", "杭州市", "余杭区")
    sort_code, centre = route_of("ZTO", "杭州市", "余杭区")
    assert got.of(numbers[0]) == {"sort_code": sort_code, "package_center": centre}
    assert got.of("unknown") == {"sort_code": None, "package_center": None}


async def test_destinations_are_cleaned_and_unroutable_ones_not_asked() -> None:
    where = ("浙江省\n", "杭州市", "余杭\t区", "x" * 400)
    item = routing.destination("78", where)
    assert item is not None
    assert (item.province, item.district, len(item.address)) == ("浙江省", "余杭 区", 300)
    assert routing.destination("78", ("浙江省", " ", "", "路")) is None
    api, [number] = await _api(1)
    got = await routing.ask(api, SHOP, [(number, ("浙江省", "", "", "路"))])
    assert (api.calls, got.values, got.again) == ([], {}, False)


async def test_only_an_outage_is_worth_asking_again() -> None:
    api, [number] = await _api(1)
    api.fail_next("routes", ServiceError("allocation", 503, "upstream_error", "courier down"))
    down = await routing.ask(api, SHOP, [(number, HANGZHOU)])
    assert (down.values, down.again) == ({}, True)
    api.fail_next("routes", ServiceError("allocation", 422, "validation_error", "no"))
    refused = await routing.ask(api, SHOP, [(number, HANGZHOU)])
    assert (refused.values, refused.again) == ({}, False)
