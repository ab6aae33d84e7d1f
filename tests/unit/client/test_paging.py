"""``iter_*`` follows ``next_cursor`` page after page, with the same filters, until ``has_more`` is false."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
import respx
from waybill_client import AsyncWaybillClient, WaybillClient
from waybill_client.models import AlertOut, OrderOut

from tests.unit.client.support import KEY, URLS, example, page

ORDERS = f"{URLS['shipping']}/v1/orders"


def _order(n: int) -> dict[str, object]:
    return example("OrderOut", id=f"ord_{n}")


def _pages(request: httpx.Request) -> httpx.Response:
    """Three pages of orders: 0-1, 2-3, 4; the cursor of a page is where the next starts."""
    start = int(request.url.params.get("cursor", "0"))
    ids = list(range(start, min(start + 2, 5)))
    more = ids[-1] < 4
    body = {"data": [_order(n) for n in ids], "has_more": more, "next_cursor": str(ids[-1] + 1) if more else None}
    return httpx.Response(200, json=body)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


def test_sync_iterator_follows_next_cursor(mock: respx.MockRouter) -> None:
    route = mock.get(ORDERS).mock(side_effect=_pages)
    with WaybillClient(KEY, base_url=URLS["shipping"]) as client:
        orders = list(client.iter_orders(status="new", limit=2))
    assert [o.id for o in orders] == [f"ord_{n}" for n in range(5)]
    assert all(isinstance(o, OrderOut) for o in orders)
    sent = [dict(call.request.url.params) for call in route.calls]
    assert sent == [
        {"status": "new", "limit": "2"},
        {"status": "new", "limit": "2", "cursor": "2"},
        {"status": "new", "limit": "2", "cursor": "4"},
    ]


async def test_async_iterator_follows_next_cursor(mock: respx.MockRouter) -> None:
    route = mock.get(ORDERS).mock(side_effect=_pages)
    async with AsyncWaybillClient(KEY, base_url=URLS["shipping"]) as client:
        orders = [o async for o in client.iter_orders(limit=2)]
    assert [o.id for o in orders] == [f"ord_{n}" for n in range(5)]
    assert [call.request.url.params.get("cursor") for call in route.calls] == [None, "2", "4"]


def test_the_iterator_starts_at_a_given_cursor_and_reads_only_what_is_taken(mock: respx.MockRouter) -> None:
    route = mock.get(ORDERS).mock(side_effect=_pages)
    with WaybillClient(KEY, base_url=URLS["shipping"]) as client:
        first = list(itertools.islice(client.iter_orders(cursor="2"), 1))
    assert [o.id for o in first] == ["ord_2"]
    assert route.call_count == 1  # the pages are read as the items are taken


def test_one_page_then_the_next_by_hand(mock: respx.MockRouter) -> None:
    mock.get(ORDERS).mock(side_effect=_pages)
    with WaybillClient(KEY, base_url=URLS["shipping"]) as client:
        one = client.list_orders(limit=2)
        assert one.has_more
        two = client.list_orders(limit=2, cursor=one.next_cursor)
    assert [o.id for o in two.data] == ["ord_2", "ord_3"]


def test_a_page_that_says_more_without_a_cursor_ends_the_iteration(mock: respx.MockRouter) -> None:
    body = {**page("AlertOut", 2, None), "has_more": True}
    route = mock.get(f"{URLS['tracking']}/v1/alerts").respond(200, json=body)
    with WaybillClient(KEY, base_url=URLS["tracking"]) as client:
        alerts = list(client.iter_alerts(state="open"))
    assert len(alerts) == 2
    assert all(isinstance(a, AlertOut) for a in alerts)
    assert route.call_count == 1


async def test_async_paths_of_a_paged_list_are_kept(mock: respx.MockRouter) -> None:
    url = f"{URLS['shipping']}/v1/shipment-batches/bat_1/items"
    route = mock.get(url).mock(
        side_effect=[
            httpx.Response(200, json=page("BatchItemOut", 2, "c2")),
            httpx.Response(200, json=page("BatchItemOut", 1, None)),
        ]
    )
    async with AsyncWaybillClient(KEY, base_url=URLS["shipping"]) as client:
        items = [i async for i in client.iter_batch_items("bat_1", status="failed")]
    assert len(items) == 3
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"status": "failed"},
        {"status": "failed", "cursor": "c2"},
    ]
