"""Times in the shop's time zone: the services answer UTC; a shop's pages use its settings' time_zone, and
the zone DASHBOARD_TIME_ZONE names (Beijing time by default) where no shop's is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from pydantic import ValidationError

from services.dashboard.local_time import local
from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import dashboard, sign_in
from tests.unit.dashboard.dashboard_fakes import (
    ADMIN,
    ALLOC,
    SHIP,
    SHOP,
    SHOP_KEY,
    error,
    list_page,
    mock_shop,
    settings,
    shop_settings,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_utc_reads_as_beijing_time() -> None:
    at = datetime(2026, 11, 28, 16, 30, 5, tzinfo=UTC)
    assert local(at, SHANGHAI) == "2026-11-29 00:30"  # past midnight in China: the next day
    assert local(at, SHANGHAI, seconds=True) == "2026-11-29 00:30:05"
    assert local(at.astimezone(timezone(timedelta(hours=-5))), SHANGHAI) == "2026-11-29 00:30"
    assert local(datetime(2026, 11, 28, 16, 30), SHANGHAI) == "2026-11-29 00:30"  # naive: UTC, as stored
    assert local(None, SHANGHAI) == ""


def test_the_default_zone_is_shanghai_and_an_unknown_one_is_refused() -> None:
    assert settings().time_zone == "Asia/Shanghai"
    assert settings(time_zone="Europe/Berlin").zone == ZoneInfo("Europe/Berlin")
    with pytest.raises(ValidationError, match="unknown time zone"):
        settings(time_zone="Mars/Olympus_Mons")


async def test_pages_show_times_in_beijing_time(shop: httpx.AsyncClient, services: Services) -> None:
    page = await shop.get(f"/shops/{SHOP}/alerts")
    assert "2026-11-28 13:00" in page.text  # opened_at 05:00 UTC
    assert "05:00" not in page.text
    assert "时间均为 Asia/Shanghai" in page.text


async def test_the_shops_own_zone_from_its_settings(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/settings").respond(json=shop_settings(time_zone="America/New_York"))
    page = await shop.get(f"/shops/{SHOP}/alerts")
    assert "2026-11-28 00:00" in page.text  # opened_at 05:00 UTC is midnight in New York (EST) in November
    assert "2026-11-28 13:00" not in page.text
    assert "时间均为 America/New_York" in page.text


async def test_the_dashboards_zone_when_the_shops_settings_cannot_be_read() -> None:
    async with dashboard(time_zone="Europe/Berlin") as browser:
        with respx.mock(assert_all_called=False) as router:
            mock_shop(router)
            router.get(f"{SHIP}/v1/settings").mock(return_value=error(503, "service_unavailable", "down"))
            await sign_in(browser, SHOP_KEY)
            page = await browser.get(f"/shops/{SHOP}/alerts")
    assert page.status_code == 200
    assert "2026-11-28 06:00" in page.text  # 05:00 UTC is 06:00 in Berlin in November
    assert "时间均为 Europe/Berlin" in page.text


async def test_the_operators_overview_keeps_the_dashboards_zone(services: Services) -> None:
    services.get(f"{SHIP}/v1/settings").respond(json=shop_settings(time_zone="America/New_York"))
    services.get(f"{ALLOC}/v1/shops").respond(
        json=list_page([{"id": SHOP, "name": "杭州小铺", "created_at": "2026-11-28T00:00:00+00:00"}])
    )
    async with dashboard(time_zone="Europe/Berlin") as browser:
        await sign_in(browser, ADMIN)
        overview = await browser.get("/")
        assert "时间均为 Europe/Berlin" in overview.text
        opened = await browser.get(f"/shops/{SHOP}/alerts")  # one shop's page: that shop's zone
    assert "时间均为 America/New_York" in opened.text
