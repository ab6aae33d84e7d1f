"""Which carrier ships an order, with the catalogue and the shop's stock from an in-memory allocation."""

from __future__ import annotations

import pytest

from runtime.errors import AppError
from runtime.service_client import ServiceError
from services.shipping.models import ShopSettings
from services.shipping.service.courier_choice import ranked, recommend
from shared.errors import ErrorCode
from tests.fakes.allocation_api import FakeAllocationApi, carrier

SHOP = "s-1"


def _api() -> FakeAllocationApi:
    api = FakeAllocationApi([carrier("ZTO", packages=[(1000, 280_000)]), carrier("YTO", packages=[(1000, 250_000)])])
    api.stock(SHOP, "ZTO", [f"78{i:012d}" for i in range(3)])
    return api


async def test_the_stock_is_the_shops_available_numbers() -> None:
    options = {o.carrier: o for o in await ranked(_api(), SHOP, None, "广东省")}
    assert options["ZTO"].available == 3
    assert options["YTO"].available == 0
    assert options["ZTO"].price_per_number_cents == 280.0


async def test_recommends_the_carrier_with_stock() -> None:
    assert await recommend(_api(), SHOP, None, "广东省") == "ZTO"


async def test_the_shop_default_when_it_can_ship() -> None:
    api = _api()
    api.stock(SHOP, "YTO", ["YT0000000000001"])
    shop = ShopSettings(shop_id=SHOP, default_carrier="ZTO", weights={})
    assert await recommend(api, SHOP, shop, "广东省") == "ZTO"


async def test_no_carrier_with_stock_is_pool_exhausted() -> None:
    api = FakeAllocationApi([carrier("ZTO")])
    with pytest.raises(AppError) as info:
        await recommend(api, SHOP, None, "广东省")
    assert info.value.code == ErrorCode.POOL_EXHAUSTED
    assert info.value.status_code == 409


async def test_allocation_unreachable_is_a_503() -> None:
    api = _api()
    api.fail_next("pools", ServiceError("allocation", 0, "unavailable", "ConnectError"))
    with pytest.raises(AppError) as info:
        await ranked(api, SHOP, None, "广东省")
    assert info.value.status_code == 503
    assert info.value.code == ErrorCode.UNAVAILABLE
