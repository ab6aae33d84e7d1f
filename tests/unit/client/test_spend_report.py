"""The spend report from both clients: the period and options in the query, the JSON read into SpendReport,
and ``get_spend_report_csv`` asking for (and answering) the CSV file's bytes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import respx
from waybill_client.models import SpendReport

from tests.unit.client.support import URLS, async_client, example, sync_client

CSV = b"bucket,shop_id,carrier\r\n2026-12-07,s-1,ZTO\r\n"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


def test_the_report_as_json(mock: respx.MockRouter) -> None:
    route = mock.get(f"{URLS['allocation']}/v1/reports/spend").respond(200, json=example("SpendReport"))
    with sync_client() as client:
        found = client.get_spend_report(date(2026, 12, 1), date(2026, 12, 7), interval="week", group_by="store")
    assert isinstance(found, SpendReport)
    request = route.calls.last.request
    assert dict(request.url.params) == {
        "from_date": "2026-12-01",
        "to_date": "2026-12-07",
        "interval": "week",
        "group_by": "store",
    }
    assert request.headers["Accept"] == "application/json"


def test_the_report_as_csv_sync(mock: respx.MockRouter) -> None:
    route = mock.get(f"{URLS['allocation']}/v1/reports/spend").respond(
        200, content=CSV, headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    with sync_client() as client:
        assert client.get_spend_report_csv(date(2026, 12, 1), date(2026, 12, 7), tz="UTC", shop_id="s-1") == CSV
    request = route.calls.last.request
    assert request.headers["Accept"] == "text/csv"
    assert dict(request.url.params) == {
        "from_date": "2026-12-01",
        "to_date": "2026-12-07",
        "tz": "UTC",
        "shop_id": "s-1",
    }


async def test_the_report_as_csv_async(mock: respx.MockRouter) -> None:
    route = mock.get(f"{URLS['allocation']}/v1/reports/spend").respond(200, content=CSV)
    async with async_client() as client:
        assert await client.get_spend_report_csv(date(2026, 12, 1), date(2026, 12, 7), group_by="channel") == CSV
        # The CSV's Accept is for that call alone.
        mock.get(f"{URLS['allocation']}/v1/balance").respond(200, json=example("BalanceOut"))
        await client.get_balance()
    assert route.calls.last.request.headers["Accept"] == "text/csv"
    assert mock.calls.last.request.headers["Accept"] == "application/json"
