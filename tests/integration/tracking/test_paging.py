"""Allocation's and tracking's lists page by cursor: a shop's purchases newest first, the admin's shops in id
order, a shop's alerts newest first, each item once however small the pages; the deprecated `after` and
`before_id` still page; a cursor not handed out is 422 `invalid_cursor`; another shop's cursor shows a shop
nothing but its own rows. (Here, beside the tracking tests, to share their tracking app.)"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.allocation_support import add_package
from tests.integration.conftest import ShopCreds, make_shop
from tests.integration.tracking.conftest import TrackingApp
from tests.integration.tracking.support import (
    NORMAL,
    T0,
    Journey,
    mark_subscribed,
    push,
    salt_of,
    shop_headers,
    subscribe,
    zto_number,
)
from tests.support import Env, refusal

PAGE_KEYS = {"data", "has_more", "next_cursor"}
INVALID_CURSOR = {
    "code": "invalid_cursor",
    "message": "cursor is not one this list handed out: start again without it",
    "details": {},
}
# A journey whose sixth event is a failed delivery: pushing it opens one `problem` alert.
PROBLEM = [*NORMAL[:5], ("派送不成功，收件人电话无法接通", "疑难", "2")]


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


# Not cursors any list hands out: not base64 JSON, not a list, lists of the wrong length or of the wrong types
# (each list's key: purchases (created_at, id), shops (id), alerts (id)).
GARBAGE = [
    "abc",
    "garbage!!",
    _cursor({"id": 1}),
    _cursor([]),
    _cursor(["s-1", "s-2", "s-3"]),
    _cursor([None, None]),
    _cursor([1.5]),
    _cursor([True]),
    _cursor(["2026-11-28T09:12:30", "p-1"]),  # a time without its zone
    _cursor([1_700_000_000, "p-1"]),
    base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
]


@pytest.fixture(autouse=True)
async def _empty_queues(redis: Any) -> AsyncIterator[None]:
    # Purchases and subscriptions queue jobs: neither this module's nor another test's may run elsewhere.
    await redis.delete("arq:allocation", "arq:tracking")
    yield
    await redis.delete("arq:allocation", "arq:tracking")


async def _page(client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    resp = await client.get(path, params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    page: dict[str, Any] = resp.json()
    assert set(page) == PAGE_KEYS
    assert page["has_more"] == (page["next_cursor"] is not None)
    return page


async def _walk(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list by following ``next_cursor`` (``params`` may start it: ``cursor``, ``after``...),
    checking each page is at most ``limit`` long and only the last says no more follow; and the pages read."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = await _page(client, path, headers, limit=limit, **params)
        pages += 1
        assert len(page["data"]) <= limit
        items += page["data"]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return items, pages
        assert len(page["data"]) == limit  # a page short of the limit is the last one
        params = {k: v for k, v in params.items() if k not in ("cursor", "after", "before_id")}
        params["cursor"] = page["next_cursor"]


# --- allocation: GET /v1/purchases -------------------------------------------------------------


async def _buy(client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], package_id: str, n: int) -> list[str]:
    """``n`` purchases of a one-cent package, one after another: their ids, oldest first."""
    topup = await client.post(f"/v1/shops/{shop.id}/topups", json={"amount_cents": n}, headers=admin)
    assert topup.status_code == 201, topup.text
    ids = []
    for _ in range(n):
        resp = await client.post(
            "/v1/purchases",
            json={"carrier": "ZTO", "package_id": package_id},
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    return ids


@pytest.fixture
async def cheap_package(allocation_client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    return await add_package(allocation_client, admin, quantity=1, price_cents=1)


async def test_purchases_walked_by_cursor_come_once_each_newest_first(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], cheap_package: str
) -> None:
    bought = await _buy(allocation_client, shop, admin, cheap_package, 5)

    walked, pages = await _walk(allocation_client, "/v1/purchases", shop.headers, limit=2)
    assert pages == 3
    assert [p["id"] for p in walked] == bought[::-1]
    keys = [(p["created_at"], p["id"]) for p in walked]
    assert keys == sorted(keys, reverse=True)
    # A list exactly one page long says so on that page; so does the last of pages that divide it evenly.
    whole = await _page(allocation_client, "/v1/purchases", shop.headers, limit=5)
    assert ([p["id"] for p in whole["data"]], whole["has_more"]) == (bought[::-1], False)
    assert (await _walk(allocation_client, "/v1/purchases", shop.headers, limit=1))[1] == 5
    # One more purchase after a page was read is not on the pages after it: they go on from where it ended.
    first = await _page(allocation_client, "/v1/purchases", shop.headers, limit=2)
    (newest,) = await _buy(allocation_client, shop, admin, cheap_package, 1)
    rest, _ = await _walk(allocation_client, "/v1/purchases", shop.headers, limit=2, cursor=first["next_cursor"])
    assert [p["id"] for p in first["data"] + rest] == bought[::-1]
    assert newest not in {p["id"] for p in rest}


# --- allocation: GET /v1/shops (admin) ---------------------------------------------------------


async def _shop_ids(env: Env) -> list[str]:
    """Every shop's id in the database's own id order: what the admin's list must show."""
    conn = await asyncpg.connect(env.database_url)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM allocation.shops ORDER BY id")]
    finally:
        await conn.close()


async def test_shops_walked_by_cursor_come_once_each_in_id_order_and_after_still_pages(
    env: Env, allocation_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = [(await make_shop(allocation_client, f"翻页店{i}")).id for i in range(5)]
    everyone = await _shop_ids(env)
    limit = max(1, len(everyone) // 5)  # a handful of pages, however many shops other tests made

    walked, pages = await _walk(allocation_client, "/v1/shops", admin, limit=limit)
    ids = [s["id"] for s in walked]
    assert ids == everyone
    assert len(ids) == len(set(ids))
    assert set(made) <= set(ids)
    assert pages >= 5

    # The deprecated `after` (the last id of the previous page) still starts a page after that id, and the
    # page it answers carries a cursor for the rest.
    start = ids.index(made[0])
    after = await _page(allocation_client, "/v1/shops", admin, limit=2, after=made[0])
    assert [s["id"] for s in after["data"]] == ids[start + 1 : start + 3]
    rest, _ = await _walk(allocation_client, "/v1/shops", admin, limit=limit, after=made[0])
    assert [s["id"] for s in rest] == ids[start + 1 :]
    assert (await _page(allocation_client, "/v1/shops", admin, after=ids[-1]))["data"] == []


# --- tracking: GET /v1/alerts ------------------------------------------------------------------


async def _problem(app: TrackingApp, shop_id: str) -> str:
    """A tracked parcel of the shop whose courier reports a failed delivery: one open `problem` alert."""
    number = zto_number()
    assert (await subscribe(app.client, shop_id, number)).status_code == 201
    await mark_subscribed(app.database_url, number)
    journey = Journey.of(number, PROBLEM)
    assert (await push(app.client, journey.param(6), await salt_of(app.database_url, number))).status_code == 200
    await app.drain()
    return number


async def _alerts(app: TrackingApp, shop_id: str, n: int) -> list[int]:
    """``n`` alerts of the shop, one after another: their ids, oldest first."""
    numbers = [await _problem(app, shop_id) for _ in range(n)]
    page = await _page(app.client, "/v1/alerts", shop_headers(shop_id), limit=1000)
    by_number = {a["number"]: a for a in page["data"]}
    assert {by_number[n]["kind"] for n in numbers} == {"problem"}
    return [by_number[n]["id"] for n in numbers]


@pytest.fixture
async def alerts_app(tracking: TrackingApp) -> TrackingApp:
    tracking.clock.set(T0)
    return tracking


def _new_shop() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"


async def test_alerts_walked_by_cursor_come_once_each_newest_first_and_before_id_still_pages(
    alerts_app: TrackingApp,
) -> None:
    shop_id = _new_shop()
    made = await _alerts(alerts_app, shop_id, 5)
    headers = shop_headers(shop_id)

    walked, pages = await _walk(alerts_app.client, "/v1/alerts", headers, limit=2)
    assert pages == 3
    ids = [a["id"] for a in walked]
    assert ids == made[::-1]
    assert ids == sorted(ids, reverse=True)
    # Filters hold on every page.
    problems, _ = await _walk(alerts_app.client, "/v1/alerts", headers, limit=2, kind="problem", state="open")
    assert [a["id"] for a in problems] == ids
    assert (await _walk(alerts_app.client, "/v1/alerts", headers, limit=2, kind="late"))[0] == []

    # The deprecated `before_id`: the alerts older than that one, newest first, with a cursor for the rest.
    before = await _page(alerts_app.client, "/v1/alerts", headers, limit=2, before_id=ids[1])
    assert ([a["id"] for a in before["data"]], before["has_more"]) == (ids[2:4], True)
    rest, _ = await _walk(alerts_app.client, "/v1/alerts", headers, limit=2, before_id=ids[1])
    assert [a["id"] for a in rest] == ids[2:]
    assert (await _page(alerts_app.client, "/v1/alerts", headers, before_id=ids[-1]))["data"] == []


# --- a cursor not handed out, and another shop's --------------------------------------------------


async def _refused(client: httpx.AsyncClient, path: str, headers: dict[str, str], cursor: str) -> None:
    resp = await client.get(path, params={"cursor": cursor}, headers=headers)
    assert resp.status_code == 422, (path, cursor, resp.text)
    assert refusal(resp) == INVALID_CURSOR, (path, cursor)


@pytest.mark.parametrize("cursor", GARBAGE)
async def test_a_cursor_not_handed_out_is_refused_on_each_list(
    allocation_client: httpx.AsyncClient, shop: ShopCreds, admin: dict[str, str], alerts_app: TrackingApp, cursor: str
) -> None:
    await _refused(allocation_client, "/v1/purchases", shop.headers, cursor)
    await _refused(allocation_client, "/v1/pools/events", shop.headers, cursor)
    await _refused(allocation_client, "/v1/shops", admin, cursor)
    await _refused(alerts_app.client, "/v1/alerts", shop_headers(_new_shop()), cursor)


async def test_one_lists_cursor_is_refused_by_another(
    allocation_client: httpx.AsyncClient,
    shop: ShopCreds,
    admin: dict[str, str],
    cheap_package: str,
    alerts_app: TrackingApp,
) -> None:
    """Keys of another shape (a shop id, an alert id, a purchase's time and id) are not this list's."""
    await _buy(allocation_client, shop, admin, cheap_package, 2)
    purchases = (await _page(allocation_client, "/v1/purchases", shop.headers, limit=1))["next_cursor"]
    shops = (await _page(allocation_client, "/v1/shops", admin, limit=1))["next_cursor"]
    shop_id = _new_shop()
    await _alerts(alerts_app, shop_id, 2)
    alerts = (await _page(alerts_app.client, "/v1/alerts", shop_headers(shop_id), limit=1))["next_cursor"]
    assert None not in (purchases, shops, alerts)
    await _refused(allocation_client, "/v1/purchases", shop.headers, shops)
    await _refused(allocation_client, "/v1/purchases", shop.headers, alerts)
    await _refused(allocation_client, "/v1/shops", admin, purchases)
    await _refused(allocation_client, "/v1/shops", admin, alerts)
    await _refused(alerts_app.client, "/v1/alerts", shop_headers(shop_id), purchases)
    await _refused(alerts_app.client, "/v1/alerts", shop_headers(shop_id), shops)
    # Cut or edited, a real cursor is refused too; untouched it still works.
    for tampered in (purchases[:-3], purchases[:-1] + "!", "x" + purchases):
        await _refused(allocation_client, "/v1/purchases", shop.headers, tampered)
    assert len((await _page(allocation_client, "/v1/purchases", shop.headers, cursor=purchases))["data"]) == 1


async def test_another_shops_purchase_cursor_shows_only_the_shops_own_purchases(
    allocation_client: httpx.AsyncClient,
    shop: ShopCreds,
    other_shop: ShopCreds,
    admin: dict[str, str],
    cheap_package: str,
) -> None:
    # B's purchases are older and newer than A's: a cursor into A's list points between them.
    b_older = await _buy(allocation_client, other_shop, admin, cheap_package, 2)
    a_ids = await _buy(allocation_client, shop, admin, cheap_package, 3)
    b_newer = await _buy(allocation_client, other_shop, admin, cheap_package, 2)
    a_cursor = (await _page(allocation_client, "/v1/purchases", shop.headers, limit=1))["next_cursor"]
    assert a_cursor is not None

    seen, _ = await _walk(allocation_client, "/v1/purchases", other_shop.headers, limit=1, cursor=a_cursor)
    ids = [p["id"] for p in seen]
    # Only B's, and of them those older than where A's page ended: A's cursor moved where B's list starts.
    assert ids == b_older[::-1]
    assert not set(ids) & set(a_ids)
    # B's own list is untouched, and A's cursor still reads A's list on A's key.
    own, _ = await _walk(allocation_client, "/v1/purchases", other_shop.headers, limit=2)
    assert [p["id"] for p in own] == (b_older + b_newer)[::-1]
    mine, _ = await _walk(allocation_client, "/v1/purchases", shop.headers, limit=1, cursor=a_cursor)
    assert [p["id"] for p in mine] == a_ids[::-1][1:]


async def test_another_shops_alert_cursor_shows_only_the_shops_own_alerts(alerts_app: TrackingApp) -> None:
    a, b = _new_shop(), _new_shop()
    b_older = await _alerts(alerts_app, b, 2)
    a_ids = await _alerts(alerts_app, a, 3)
    b_newer = await _alerts(alerts_app, b, 2)
    a_cursor = (await _page(alerts_app.client, "/v1/alerts", shop_headers(a), limit=1))["next_cursor"]
    assert a_cursor is not None

    seen, _ = await _walk(alerts_app.client, "/v1/alerts", shop_headers(b), limit=1, cursor=a_cursor)
    ids = [x["id"] for x in seen]
    assert ids == b_older[::-1]
    assert not set(ids) & set(a_ids)
    # The deprecated before_id naming A's alert is no different.
    before, _ = await _walk(alerts_app.client, "/v1/alerts", shop_headers(b), limit=1, before_id=a_ids[-1])
    assert [x["id"] for x in before] == b_older[::-1]
    own, _ = await _walk(alerts_app.client, "/v1/alerts", shop_headers(b), limit=2)
    assert [x["id"] for x in own] == (b_older + b_newer)[::-1]
