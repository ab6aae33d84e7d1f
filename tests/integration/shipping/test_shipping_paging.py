"""Shipping's lists page by cursor: every order once, oldest first, however many arrive while a shop reads;
the 0.1 `offset` and bare-array answers still work for old clients; a cursor not handed out is refused; a
shop's batches and their per-order results page the same way, and are the shop's own."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.conftest import ShopCreds, make_shop
from tests.integration.shipping.conftest import World, bind_shop
from tests.integration.shipping.test_shipping_batches import _batch, _orders, _view
from tests.support import Env, refusal

PAGE_KEYS = {"data", "has_more", "next_cursor"}
# A batch of the list: its progress, without the per-order results (those page at /{batch_id}/items).
SUMMARY_KEYS = {"id", "carrier", "total", "done", "failed", "skipped", "pending", "status", "label_prints"}
SUMMARY_KEYS |= {"created_at", "completed_at"}
INVALID_CURSOR = {
    "code": "invalid_cursor",
    "message": "cursor is not one this list handed out: start again without it",
    "details": {},
}
LEGACY = {"Waybill-Api-Version": "0.1"}


async def _create(world: World, shop: ShopCreds, external_id: str) -> str:
    body = {
        "external_id": external_id,
        "receiver": {
            "name": "李四",
            "phone": "13800000000",
            "state": "浙江省",
            "city": "杭州市",
            "address": "西湖区 1 号",
        },
        "weight_g": 800,
    }
    resp = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    order_id: str = resp.json()["id"]
    return order_id


async def _page(
    world: World, shop: ShopCreds, path: str, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    resp = await world.shipping.get(path, params=params, headers={**shop.headers, **(headers or {})})
    assert resp.status_code == 200, resp.text
    page: dict[str, Any] = resp.json()
    assert set(page) == PAGE_KEYS
    assert page["has_more"] == (page["next_cursor"] is not None)
    return page


async def _walk(world: World, shop: ShopCreds, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a list, following next_cursor until has_more is false."""
    pages = [await _page(world, shop, path, **params)]
    while pages[-1]["has_more"]:
        assert len(pages) < 100, "the cursor does not move"
        pages.append(await _page(world, shop, path, **params, cursor=pages[-1]["next_cursor"]))
    return pages


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


# --- GET /v1/orders ----------------------------------------------------------------------------


async def test_walking_orders_visits_each_once_oldest_first_with_new_ones_at_the_end(world: World) -> None:
    shop = await make_shop(world.allocation)  # REST orders: no marketplace binding needed
    other = await make_shop(world.allocation)
    ids = [await _create(world, shop, f"walk-{i}") for i in range(25)]
    await _create(world, other, "walk-0")  # the same external id in another shop: not in this shop's list

    pages = []
    arrived: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        pages.append(await _page(world, shop, "/v1/orders", **params))
        if len(pages) <= 2:  # orders arrive (in both shops) while the shop reads its list
            arrived.append(await _create(world, shop, f"late-{len(pages)}"))
            await _create(world, other, f"late-{len(pages)}")
        if not pages[-1]["has_more"]:
            break
        assert len(pages) < 10, "the cursor does not move"
        params = {"limit": 7, "cursor": pages[-1]["next_cursor"]}

    seen = [o["id"] for p in pages for o in p["data"]]
    assert seen == ids + arrived  # each once, oldest first, the late ones last
    assert [len(p["data"]) for p in pages] == [7, 7, 7, 6]
    assert [p["has_more"] for p in pages] == [True, True, True, False]
    assert pages[-1]["next_cursor"] is None
    created = [datetime.fromisoformat(o["created_at"]) for p in pages for o in p["data"]]
    assert created == sorted(created)

    # A limit the list fills exactly says no more; one short of it leaves the last order for a second page.
    whole = await _page(world, shop, "/v1/orders", limit=27)
    assert ([o["id"] for o in whole["data"]], whole["has_more"], whole["next_cursor"]) == (seen, False, None)
    short = await _page(world, shop, "/v1/orders", limit=26)
    assert short["has_more"] is True
    rest = await _page(world, shop, "/v1/orders", limit=26, cursor=short["next_cursor"])
    assert ([o["id"] for o in rest["data"]], rest["has_more"]) == ([seen[-1]], False)
    # The other shop's walk holds its own orders only.
    theirs = [o["external_id"] for p in await _walk(world, other, "/v1/orders", limit=2) for o in p["data"]]
    assert theirs == ["walk-0", "late-1", "late-2"]


async def test_a_filter_holds_across_pages(world: World) -> None:
    shop = await make_shop(world.allocation)
    ids = [await _create(world, shop, f"filter-{i}") for i in range(10)]
    cancelled = ids[::3]
    for order_id in cancelled:
        resp = await world.shipping.post(f"/v1/orders/{order_id}/cancel", headers=shop.headers)
        assert resp.status_code == 200, resp.text
    pages = await _walk(world, shop, "/v1/orders", status="cancelled", limit=2)
    assert [o["id"] for p in pages for o in p["data"]] == cancelled
    assert [len(p["data"]) for p in pages] == [2, 2]
    paid = await _walk(world, shop, "/v1/orders", status="paid", limit=4)
    assert [o["id"] for p in paid for o in p["data"]] == [i for i in ids if i not in cancelled]


async def test_the_deprecated_offset_still_pages_orders(world: World) -> None:
    shop = await make_shop(world.allocation)
    ids = [await _create(world, shop, f"offset-{i}") for i in range(12)]
    page = await _page(world, shop, "/v1/orders", offset=5, limit=4)
    assert [o["id"] for o in page["data"]] == ids[5:9]
    assert page["has_more"] is True
    # A 0.1 client keeps counting offsets; a client moving to cursors continues from the offset page.
    assert [o["id"] for o in (await _page(world, shop, "/v1/orders", offset=9, limit=4))["data"]] == ids[9:]
    after = await _page(world, shop, "/v1/orders", limit=4, cursor=page["next_cursor"])
    assert [o["id"] for o in after["data"]] == ids[9:]
    assert after["has_more"] is False
    beyond = await _page(world, shop, "/v1/orders", offset=12, limit=4)
    assert (beyond["data"], beyond["has_more"], beyond["next_cursor"]) == ([], False, None)
    assert [o["id"] for o in (await _page(world, shop, "/v1/orders", offset=0, limit=3))["data"]] == ids[:3]
    # A client that keeps `offset` in its query while following cursors loses nothing: the cursor alone
    # says where the next page starts.
    kept = await _page(world, shop, "/v1/orders", offset=5, limit=4, cursor=page["next_cursor"])
    assert [o["id"] for o in kept["data"]] == ids[9:]


# --- cursors not handed out --------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",  # not base64
        "A",  # not a whole base64 quantum
        _cursor("not-a-list"),
        _cursor({"created_at": "2026-11-28T09:12:30+08:00", "id": "ord_x"}),
        _cursor(["ord_x"]),  # one part of two
        _cursor(["2026-11-28T09:12:30+08:00", "ord_x", 3]),  # three parts of two
        _cursor(["2026-11-28T09:12:30", "ord_x"]),  # a time without its zone
        _cursor(["yesterday", "ord_x"]),
        _cursor([1_700_000_000, "ord_x"]),
        _cursor(["2026-11-28T09:12:30+08:00", 42]),
        base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
    ],
)
async def test_a_cursor_not_handed_out_is_refused(world: World, cursor: str) -> None:
    shop = await make_shop(world.allocation)
    resp = await world.shipping.get("/v1/orders", params={"cursor": cursor}, headers=shop.headers)
    assert resp.status_code == 422, resp.text
    assert refusal(resp) == INVALID_CURSOR


async def test_a_tampered_cursor_is_refused_on_every_paged_list(world: World) -> None:
    shop = await make_shop(world.allocation)
    for i in range(3):
        await _create(world, shop, f"tamper-{i}")
    real = (await _page(world, shop, "/v1/orders", limit=1))["next_cursor"]
    batch = await world.shipping.post("/v1/shipment-batches", json={"order_ids": ["ord_missing"]}, headers=shop.headers)
    assert batch.status_code == 202, batch.text
    tampered = [real[:-3], real[:-1] + "!", "x" + real]
    lists = ["/v1/orders", "/v1/shipments", "/v1/webhook-deliveries", "/v1/shipment-batches"]
    for path in lists:
        for cursor in [*tampered, "garbage!!"]:
            resp = await world.shipping.get(path, params={"cursor": cursor}, headers=shop.headers)
            assert resp.status_code == 422, (path, cursor, resp.text)
            assert refusal(resp) == INVALID_CURSOR, (path, cursor)
    # An orders cursor given to the batch items list (keyed by seq) is not one that list handed out.
    items = f"/v1/shipment-batches/{batch.json()['id']}/items"
    for cursor in [real, *tampered]:
        resp = await world.shipping.get(items, params={"cursor": cursor}, headers=shop.headers)
        assert resp.status_code == 422, (cursor, resp.text)
        assert refusal(resp) == INVALID_CURSOR
    # The real cursor still works.
    assert (await _page(world, shop, "/v1/orders", limit=1, cursor=real))["has_more"] is True


# --- GET /v1/shipment-batches and /{id}/items -------------------------------------------------


async def test_batches_list_newest_first_with_counts_and_items_page_by_seq(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(60)})
    order_ids = await _orders(world, shop, 23)
    given = {
        "a": order_ids[:5],
        "b": [*order_ids[5:8], "ord_missing_b"],
        "c": [*order_ids[8:15], "ord_missing_c", *order_ids[15:]],  # 16 items, the unknown one at seq 7
    }
    made = {name: (await _batch(world, shop, ids, carrier="ZTO"))["id"] for name, ids in given.items()}
    other = await make_shop(world.allocation)
    # Another shop naming our order ids: nothing of ours, each of its items "order not found".
    theirs = await world.shipping.post("/v1/shipment-batches", json={"order_ids": order_ids[:2]}, headers=other.headers)
    assert theirs.status_code == 202, theirs.text

    async def listed() -> list[dict[str, Any]]:
        pages = await _walk(world, shop, "/v1/shipment-batches")
        assert len(pages) == 1
        found: list[dict[str, Any]] = pages[0]["data"]
        return found

    before = await listed()
    assert [b["id"] for b in before] == [made["c"], made["b"], made["a"]]
    for summary in before:
        assert set(summary) == SUMMARY_KEYS
        view = await _view(world, shop, summary["id"])
        assert summary == {k: v for k, v in view.items() if k != "items"}
    assert [(b["total"], b["failed"], b["pending"]) for b in before] == [(16, 1, 15), (4, 1, 3), (5, 0, 5)]

    await world.run_jobs()
    after = await listed()
    assert [b["id"] for b in after] == [made["c"], made["b"], made["a"]]
    counts = [(b["total"], b["done"], b["failed"], b["skipped"], b["pending"], b["status"]) for b in after]
    assert counts == [(16, 15, 1, 0, 0, "completed"), (4, 3, 1, 0, 0, "completed"), (5, 5, 0, 0, 0, "completed")]
    for summary in after:
        view = await _view(world, shop, summary["id"])
        assert summary == {k: v for k, v in view.items() if k != "items"}
        assert summary["completed_at"] is not None

    # The list pages too, newest first.
    two = await _walk(world, shop, "/v1/shipment-batches", limit=2)
    assert [[b["id"] for b in p["data"]] for p in two] == [[made["c"], made["b"]], [made["a"]]]
    assert [p["has_more"] for p in two] == [True, False]

    # The items of c, seven at a time: by seq, each once, as the batch was given.
    pages = await _walk(world, shop, f"/v1/shipment-batches/{made['c']}/items", limit=7)
    items = [i for p in pages for i in p["data"]]
    assert [len(p["data"]) for p in pages] == [7, 7, 2]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert [i["seq"] for i in items] == list(range(16))
    assert [i["order_id"] for i in items] == given["c"]
    assert items == (await _view(world, shop, made["c"]))["items"]
    assert items[7]["status"] == "failed"
    assert items[7]["message"] == "order not found"
    assert all(i["status"] == "shipped" and i["number"] for i in items[:7] + items[8:])
    # A status filter holds across pages.
    shipped = await _walk(world, shop, f"/v1/shipment-batches/{made['c']}/items", status="shipped", limit=7)
    assert [[i["seq"] for i in p["data"]] for p in shipped] == [[0, 1, 2, 3, 4, 5, 6], [8, 9, 10, 11, 12, 13, 14], [15]]
    failed = await _page(world, shop, f"/v1/shipment-batches/{made['c']}/items", status="failed")
    assert [(i["seq"], i["order_id"]) for i in failed["data"]] == [(7, "ord_missing_c")]
    assert failed["has_more"] is False

    # Each shop sees its own batches only; another shop's batch id is not found.
    (their_batch,) = (await _page(world, other, "/v1/shipment-batches"))["data"]
    assert their_batch["id"] == theirs.json()["id"]
    assert (their_batch["total"], their_batch["failed"]) == (2, 2)
    assert theirs.json()["id"] not in {b["id"] for b in after}
    for path in (f"/v1/shipment-batches/{made['c']}/items", f"/v1/shipment-batches/{made['c']}"):
        resp = await world.shipping.get(path, headers=other.headers)
        assert resp.status_code == 404, resp.text
        assert refusal(resp)["code"] == "not_found"
    missing = await world.shipping.get("/v1/shipment-batches/bat_does_not_exist/items", headers=shop.headers)
    assert missing.status_code == 404
    assert refusal(missing)["code"] == "not_found"


# --- clients of 0.1 -------------------------------------------------------------------------------


def _list_of(resp: httpx.Response) -> list[dict[str, Any]]:
    assert resp.status_code == 200, resp.text
    found = resp.json()
    assert isinstance(found, list), found
    return found


async def test_a_0_1_client_gets_bare_arrays_with_deprecation_headers(world: World) -> None:
    shop = await make_shop(world.allocation)
    ids = [await _create(world, shop, f"legacy-{i}") for i in range(4)]
    page = await _page(world, shop, "/v1/orders")

    old = await world.shipping.get("/v1/orders", headers={**shop.headers, **LEGACY})
    assert _list_of(old) == page["data"]
    assert [o["id"] for o in old.json()] == ids
    assert old.headers["deprecation"] == "true"
    sunset = parsedate_to_datetime(old.headers["sunset"])
    assert sunset > datetime.now(UTC)
    assert int(old.headers["content-length"]) == len(old.content)
    # The 0.1 way of paging still pages the bare array.
    paged = await world.shipping.get("/v1/orders", params={"offset": 1, "limit": 2}, headers={**shop.headers, **LEGACY})
    assert [o["id"] for o in _list_of(paged)] == ids[1:3]
    # A whole list is an array too.
    events = await world.shipping.get(f"/v1/orders/{ids[0]}/events", headers={**shop.headers, **LEGACY})
    assert [e["event"] for e in _list_of(events)] == ["create"]
    assert events.headers["deprecation"] == "true"

    # A non-list answer is the same with or without the header, and says nothing about deprecation.
    one = await world.shipping.get(f"/v1/orders/{ids[0]}", headers={**shop.headers, **LEGACY})
    assert one.status_code == 200
    assert one.json() == (await world.shipping.get(f"/v1/orders/{ids[0]}", headers=shop.headers)).json()
    assert one.json()["id"] == ids[0]
    assert "deprecation" not in one.headers
    assert "sunset" not in one.headers
    # Errors keep their shape.
    refused = await world.shipping.get("/v1/orders", params={"cursor": "garbage!!"}, headers={**shop.headers, **LEGACY})
    assert refused.status_code == 422
    assert refusal(refused) == INVALID_CURSOR
    assert "deprecation" not in refused.headers
    # Any other version gets pages.
    newer = await world.shipping.get("/v1/orders", headers={**shop.headers, "Waybill-Api-Version": "0.2"})
    assert set(newer.json()) == PAGE_KEYS
    assert "deprecation" not in newer.headers
