"""The dashboard's aggregation over mocked services (respx): what each panel shows, and how a service's
error or absence is confined to its own panels."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from services.dashboard import service
from services.dashboard.service import ServiceError, Services
from services.dashboard.session import Session
from tests.unit.dashboard.dashboard_fakes import (
    ADMIN,
    ALLOC,
    SHIP,
    SHOP,
    SHOP_KEY,
    TRACK,
    error,
    mock_shop,
    pool,
    settings,
)

SHOP_SESSION = Session("shop", SHOP_KEY, SHOP, "杭州小铺", "csrf", time.time(), time.time())
OPERATOR = Session("operator", ADMIN, None, None, "csrf", time.time(), time.time())


@pytest.fixture
async def api() -> AsyncIterator[Services]:
    async with httpx.AsyncClient() as http:
        yield Services(http, settings())


async def test_shop_view_gathers_every_panel(api: Services) -> None:
    with respx.mock(assert_all_called=True) as router:
        routes = mock_shop(router)
        view = await service.shop_view(api, SHOP_SESSION, SHOP, settings())

    assert view.shop.data is not None
    assert view.shop.data["name"] == "杭州小铺"
    assert view.balance.data is not None
    assert view.balance.data["balance_cents"] == 123456
    assert view.stock.data is not None
    by_carrier = {s.carrier: s for s in view.stock.data}
    assert by_carrier["ZTO"].counts["available"] == 995
    assert by_carrier["ZTO"].expiring_soon == 5
    assert by_carrier["YTO"].low_stock
    assert not by_carrier["ZTO"].low_stock
    # Batches found through the shipments, each once, the one in progress first.
    assert view.batches.data is not None
    assert [(b.id, b.status, b.percent) for b in view.batches.data] == [
        ("b-new", "processing", 40),
        ("b-old", "completed", 100),
    ]
    assert view.batches_in_progress == 1
    assert routes["b-new"].call_count == 1
    assert view.alerts.data is not None
    assert [a["id"] for a in view.alerts.data] == [41]
    assert routes["alerts"].calls.last.request.url.params["state"] == "open"
    assert view.shipments.data is not None
    tracked = {s.number: (s.tracking_status, s.tracking_note) for s in view.shipments.data}
    assert tracked == {
        "N0003": ("pending", None),
        "N0002": ("in_transit", None),
        "N0001": (None, "not tracked yet"),
        "N0000": (None, None),  # a failed shipment has no parcel to track
    }
    assert routes["track-2"].calls.last.request.url.params["carrier"] == "ZTO"
    # A shop's own key, and no X-Shop-Id: the services scope the call to the key's shop.
    sent = routes["pools"].calls.last.request.headers
    assert sent["authorization"] == f"Bearer {SHOP_KEY}"
    assert "x-shop-id" not in sent


async def test_operator_reads_a_shop_with_the_admin_key_and_x_shop_id(api: Services) -> None:
    with respx.mock() as router:
        routes = mock_shop(router, "s-9")
        view = await service.shop_view(api, OPERATOR, "s-9", settings())
    assert view.stock.ok
    assert view.alerts.ok
    assert view.shipments.ok
    for name in ("pools", "alerts", "shipments", "track-2"):
        sent = routes[name].calls.last.request.headers
        assert (sent["authorization"], sent["x-shop-id"]) == (f"Bearer {ADMIN}", "s-9"), name


async def test_tracking_down_leaves_the_other_panels(api: Services) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="track.test").mock(side_effect=httpx.ConnectError("refused"))  # first match wins
        mock_shop(router)
        view = await service.shop_view(api, SHOP_SESSION, SHOP, settings())
    assert view.alerts.error is not None
    assert view.alerts.error.unavailable
    assert view.alerts.error.message == "tracking is unavailable (it did not answer)"
    assert view.stock.ok
    assert view.batches.ok
    assert view.shipments.data is not None
    assert len(view.shipments.data) == 4
    notes = {s.number: s.tracking_note for s in view.shipments.data}
    assert notes["N0002"] == "tracking is unavailable (it did not answer)"


async def test_shipping_down_marks_batches_and_shipments_unavailable(api: Services) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="ship.test").mock(side_effect=httpx.ReadTimeout("slow"))
        mock_shop(router)
        view = await service.shop_view(api, SHOP_SESSION, SHOP, settings())
    assert view.batches.error is not None
    assert view.batches.error.service == "shipping"
    assert view.shipments.error is not None
    assert view.shipments.error.unavailable
    assert view.stock.ok
    assert view.alerts.ok


async def test_a_services_error_is_its_own_message(api: Services) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        # Same pattern again: respx replaces the route.
        router.get(f"{ALLOC}/v1/pools").mock(return_value=error(403, "forbidden", "this key may not read pools"))
        router.get(f"{SHIP}/v1/shipment-batches/b-new").mock(return_value=Response502())
        view = await service.shop_view(api, SHOP_SESSION, SHOP, settings())
    assert view.stock.error is not None
    assert (view.stock.error.status, view.stock.error.code, view.stock.error.message) == (
        403,
        "forbidden",
        "this key may not read pools",
    )
    assert not view.stock.error.unavailable
    # Not the error shape (a proxy's page): the status, never the body.
    assert view.batches.error is not None
    assert view.batches.error.message == "shipping answered HTTP 502"


def Response502() -> httpx.Response:  # noqa: N802 - reads as a constructor in the test above
    return httpx.Response(502, text="<html>bad gateway</html>")


async def test_identify_a_shop_key_and_the_admin_key(api: Services) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        clock = router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1, "simulated": False})
        who = await service.identify(api, SHOP_KEY)
        assert (who.kind, who.shop_id, who.shop_name) == ("shop", SHOP, "杭州小铺")
        assert not clock.called
        op = await service.identify(api, ADMIN)
        assert (op.kind, op.shop_id) == ("operator", None)
        assert clock.calls.last.request.headers["authorization"] == f"Bearer {ADMIN}"


async def test_identify_refuses_a_key_that_is_not_the_admin_key(api: Services) -> None:
    with respx.mock() as router:
        router.get(f"{TRACK}/internal/v1/clock").mock(
            return_value=error(403, "forbidden", "this endpoint needs the admin key")
        )
        with pytest.raises(ServiceError) as caught:
            await service.identify(api, "dev-internal-key")
    assert caught.value.message == "this endpoint needs the admin key"


async def test_overview_summarises_every_shop_and_isolates_a_failing_one(api: Services) -> None:
    shops = [{"id": f"s-{i}", "name": f"店{i}", "created_at": "2026-11-28T00:00:00+00:00"} for i in range(3)]
    with respx.mock() as router:
        listing = router.get(f"{ALLOC}/v1/shops").respond(json=shops)

        def pools(request: httpx.Request) -> httpx.Response:
            shop = request.headers["x-shop-id"]
            if shop == "s-2":
                return error(500, "internal_error", "internal error; the request id identifies it in logs")
            return httpx.Response(200, json=[pool("ZTO", 10, low=shop == "s-1"), pool("YTO", 999)])

        def alerts(request: httpx.Request) -> httpx.Response:
            n = int(request.headers["x-shop-id"].removeprefix("s-"))
            return httpx.Response(200, json=[{"id": i} for i in range(n)])

        router.get(f"{ALLOC}/v1/pools").mock(side_effect=pools)
        router.get(f"{TRACK}/v1/alerts").mock(side_effect=alerts)
        view = await service.overview(api, OPERATOR, settings())

    assert listing.calls.last.request.headers["authorization"] == f"Bearer {ADMIN}"
    assert view.shops.data is not None
    rows = {s.id: s for s in view.shops.data}
    assert [s.id for s in view.shops.data] == ["s-0", "s-1", "s-2"]
    assert rows["s-0"].low_stock.data == []
    assert rows["s-1"].low_stock.data == ["ZTO"]
    assert [rows[i].open_alerts.data for i in ("s-0", "s-1", "s-2")] == [0, 1, 2]
    assert rows["s-2"].low_stock.error is not None
    assert rows["s-2"].low_stock.error.code == "internal_error"


async def test_overview_pages_through_shops_in_id_order(api: Services) -> None:
    every = [{"id": f"s-{i}", "name": f"店{i}", "created_at": "2026-11-28T00:00:00+00:00"} for i in range(5)]

    def shops(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        rest = [s for s in every if after is None or s["id"] > after]
        return httpx.Response(200, json=rest[: int(request.url.params["limit"])])

    with respx.mock() as router:
        listing = router.get(f"{ALLOC}/v1/shops").mock(side_effect=shops)
        router.get(f"{ALLOC}/v1/pools").respond(json=[])
        router.get(f"{TRACK}/v1/alerts").respond(json=[])
        first = await service.overview(api, OPERATOR, settings(overview_shops=2))
        assert listing.calls.last.request.url.params["limit"] == "3"  # one more: is there a next page?
        second = await service.overview(api, OPERATOR, settings(overview_shops=2), after=first.next_after)
        assert listing.calls.last.request.url.params["after"] == "s-1"
        last = await service.overview(api, OPERATOR, settings(overview_shops=2), after=second.next_after)

    def ids(view: service.Overview) -> list[str]:
        assert view.shops.data is not None
        return [s.id for s in view.shops.data]

    assert (ids(first), first.after, first.next_after) == (["s-0", "s-1"], None, "s-1")
    assert (ids(second), second.next_after) == (["s-2", "s-3"], "s-3")
    assert (ids(last), last.next_after) == (["s-4"], None)


async def test_overview_without_a_shop_list_says_so(api: Services) -> None:
    with respx.mock() as router:
        router.get(f"{ALLOC}/v1/shops").mock(return_value=error(405, "method_not_allowed", "Method Not Allowed"))
        view = await service.overview(api, OPERATOR, settings())
    assert view.shops.error is not None
    assert view.shops.error.status == 405


async def test_an_id_typed_into_a_form_stays_one_path_segment(api: Services) -> None:
    seen: list[bytes] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return error(404, "not_found", "not found")

    with respx.mock() as router:
        router.route(host="alloc.test").mock(side_effect=record)
        router.route(host="ship.test").mock(side_effect=record)
        router.route(host="track.test").mock(side_effect=record)
        view = await service.shop_view(api, OPERATOR, "../balance", settings())
    assert view.shop.error is not None
    allocation_paths = sorted(
        p.split(b"?")[0] for p in seen if p.startswith((b"/v1/shops", b"/v1/balance", b"/v1/pools"))
    )
    assert allocation_paths == [b"/v1/balance", b"/v1/pools", b"/v1/shops/..%2Fbalance"]
