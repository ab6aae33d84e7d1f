"""平台店铺 (the shop's marketplace stores) and the orders' channel and store: the page, its forms (bind,
rename, renew, unbind after a confirm page), what each asks shipping, the refusals, and the orders page's
channel and store columns and filters."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.unit.dashboard.conftest import Services
from tests.unit.dashboard.dashboard_app import csrf_of
from tests.unit.dashboard.dashboard_fakes import SHIP, SHOP, error, list_page, order, shop_settings, store

BASE = f"/shops/{SHOP}"


async def token(browser: httpx.AsyncClient) -> str:
    return csrf_of(await browser.get(f"{BASE}/stores"))


def query(resp: httpx.Response) -> dict[str, str]:
    assert resp.status_code == 303, resp.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()}


def row(text: str, store_id: str) -> str:
    found = re.search(rf'<tr data-store="{store_id}".*?</tr>', text, re.S)
    assert found is not None, store_id
    return found.group(0)


# --- the page ---------------------------------------------------------------------------------------------


async def test_the_stores_page_lists_the_shops_stores(shop: httpx.AsyncClient, services: Services) -> None:
    unbound = store("sto-old", "taobao", "旧店", "旧店", active=False, token_set=False)
    services.get(f"{SHIP}/v1/stores").respond(
        json=list_page([store("sto-tb", "taobao", "杭州小铺旗舰店", "杭州小铺 天猫店"), unbound], "c2")
    )
    page = await shop.get(f"{BASE}/stores")
    assert page.status_code == 200
    text = page.text
    assert f'href="{BASE}/stores" class="on" data-testid="tab-stores">平台店铺<' in text  # the nav links it
    active = row(text, "sto-tb")
    assert 'data-col="channel">淘宝<' in active
    assert "<code>杭州小铺旗舰店</code>" in active
    assert 'value="杭州小铺 天猫店"' in active
    assert 'data-col="active">已绑定<' in active
    assert 'data-col="token">已授权<' in active
    assert 'data-col="bound-at">2026-11-20 09:30<' in active  # 01:30 UTC in the shop's zone (Shanghai)
    assert f'action="{BASE}/stores/sto-tb/token"' in active
    assert f'href="{BASE}/stores/sto-tb/unbind"' in active
    old = row(text, "sto-old")
    assert "已解绑" in old
    assert "未授权" in old
    assert "/unbind" not in old  # nothing to unbind, nor a token to renew
    assert "/token" not in old
    assert f'href="{BASE}/stores?cursor=c2" rel="next"' in text
    assert 'name="token" type="password"' in text  # a token is never shown as typed
    params = services.routes["stores"].calls.last.request.url.params
    assert params["limit"] == "100"


async def test_bound_at_is_in_the_shops_time_zone_and_english_on_the_switch(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{SHIP}/v1/settings").respond(json=shop_settings(time_zone="America/New_York"))
    text = (await shop.get(f"{BASE}/stores?lang=en")).text
    tb = row(text, "sto-tb")
    assert 'data-col="bound-at">2026-11-19 20:30<' in tb
    assert 'data-col="channel">Taobao<' in tb
    assert 'data-col="channel">Pinduoduo<' in row(text, "sto-pdd")
    assert ">Bind a store<" in text
    assert ">Renew token<" in text


async def test_no_stores_yet_and_a_shipping_down_say_so(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/stores").respond(json=list_page([]))
    assert 'data-testid="no-stores">还没有绑定平台店铺。' in (await shop.get(f"{BASE}/stores")).text
    services.get(f"{SHIP}/v1/stores").mock(return_value=error(503, "unavailable", "db down"))
    down = await shop.get(f"{BASE}/stores")
    assert down.status_code == 200
    assert 'data-testid="unavailable">服务暂时不可用' in down.text
    assert 'data-testid="bind-store"' in down.text  # binding still offered


async def test_an_operator_reads_a_shops_stores_with_x_shop_id(operator: httpx.AsyncClient, services: Services) -> None:
    assert (await operator.get(f"{BASE}/stores")).status_code == 200
    sent = services.routes["stores"].calls.last.request.headers
    assert (sent["authorization"], sent["x-shop-id"]) == ("Bearer admin-key-for-tests", SHOP)


async def test_a_shop_cannot_open_another_shops_stores(shop: httpx.AsyncClient, services: Services) -> None:
    for path in ("/shops/s-2/stores", "/shops/s-2/stores/sto-tb/unbind"):
        assert (await shop.get(path)).status_code == 404, path
    assert not services.routes["stores"].called


# --- binding ----------------------------------------------------------------------------------------------


async def test_bind_a_store_sends_only_what_was_typed(shop: httpx.AsyncClient, services: Services) -> None:
    bind = services.post(f"{SHIP}/v1/stores").respond(201, json=store("sto-new", "pinduoduo", "900002", "900002"))
    data = {"csrf_token": await token(shop), "channel": "pinduoduo", "token": " c5a8d1 ", "seller_id": "", "name": ""}
    resp = await shop.post(f"{BASE}/stores", data=data)
    assert resp.headers["location"] == f"{BASE}/stores?notice=store_bound"
    assert json.loads(bind.calls.last.request.content) == {"channel": "pinduoduo", "token": "c5a8d1"}
    page = await shop.get(resp.headers["location"])
    assert 'data-testid="notice">店铺已绑定' in page.text

    full = {**data, "channel": "taobao", "seller_id": " 杭州小铺 ", "name": "天猫店"}
    await shop.post(f"{BASE}/stores", data=full)
    sent = json.loads(bind.calls.last.request.content)
    assert sent == {"channel": "taobao", "token": "c5a8d1", "seller_id": "杭州小铺", "name": "天猫店"}


async def test_a_bind_form_that_is_no_binding_is_refused_before_any_call(
    shop: httpx.AsyncClient, services: Services
) -> None:
    bind = services.post(f"{SHIP}/v1/stores").respond(201, json=store("sto-x", "taobao", "x", "x"))
    csrf = await token(shop)
    for bad in (
        {"channel": "jd", "token": "t"},  # not a marketplace we bind
        {"channel": "own", "token": "t"},  # the shop's own channel has no store
        {"channel": "taobao", "token": "   "},
        {"channel": "taobao", "token": "t" * 401},  # longer than the API takes
        {"channel": "taobao", "token": "t", "seller_id": "s" * 65},
        {"channel": "taobao", "token": "t", "name": "n" * 101},
        {"token": "t"},
    ):
        resp = await shop.post(f"{BASE}/stores", data={"csrf_token": csrf, **bad})
        assert query(resp) == {"error": "validation_error"}, bad
        assert resp.headers["location"].endswith("#bind")
    assert not bind.called


async def test_a_token_the_marketplace_does_not_confirm_is_said_in_chinese(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.post(f"{SHIP}/v1/stores").mock(
        return_value=error(422, "seller_not_verified", "the authorisation does not belong to seller 杭州小铺")
    )
    data = {"csrf_token": await token(shop), "channel": "taobao", "token": "t", "seller_id": "杭州小铺"}
    resp = await shop.post(f"{BASE}/stores", data=data)
    assert query(resp)["error"] == "seller_not_verified"
    page = await shop.get(resp.headers["location"])
    assert "平台店铺授权未通过校验：授权已失效，或不属于所填的卖家。" in page.text
    assert 'data-testid="error-code">seller_not_verified<' in page.text


async def test_a_seller_bound_to_another_shop_is_a_conflict(shop: httpx.AsyncClient, services: Services) -> None:
    services.post(f"{SHIP}/v1/stores").mock(return_value=error(409, "conflict", "bound to another shop"))
    resp = await shop.post(f"{BASE}/stores", data={"csrf_token": await token(shop), "channel": "taobao", "token": "t"})
    assert query(resp)["error"] == "conflict"


# --- rename, renew ----------------------------------------------------------------------------------------


async def test_rename_and_renew_a_store(shop: httpx.AsyncClient, services: Services) -> None:
    patch = services.patch(f"{SHIP}/v1/stores/sto-tb").respond(
        json=store("sto-tb", "taobao", "杭州小铺旗舰店", "淘宝店")
    )
    csrf = await token(shop)
    renamed = await shop.post(f"{BASE}/stores/sto-tb/rename", data={"csrf_token": csrf, "name": " 淘宝店 "})
    assert renamed.headers["location"] == f"{BASE}/stores?notice=store_renamed"
    assert json.loads(patch.calls.last.request.content) == {"name": "淘宝店"}
    renewed = await shop.post(f"{BASE}/stores/sto-tb/token", data={"csrf_token": csrf, "token": "6100f9a"})
    assert renewed.headers["location"] == f"{BASE}/stores?notice=store_renewed"
    assert json.loads(patch.calls.last.request.content) == {"token": "6100f9a"}
    assert "店铺授权已更新。" in (await shop.get(renewed.headers["location"])).text


async def test_an_empty_name_or_token_is_refused_before_any_call(shop: httpx.AsyncClient, services: Services) -> None:
    patch = services.patch(f"{SHIP}/v1/stores/sto-tb").respond(json=store("sto-tb", "taobao", "s", "s"))
    csrf = await token(shop)
    for path, data in (
        ("rename", {"name": "  "}),
        ("rename", {"name": "n" * 101}),
        ("token", {"token": ""}),
        ("token", {"token": "t" * 401}),
    ):
        resp = await shop.post(f"{BASE}/stores/sto-tb/{path}", data={"csrf_token": csrf, **data})
        assert query(resp) == {"error": "validation_error"}, (path, data)
    assert not patch.called


async def test_a_renewal_of_another_sellers_token_is_refused(shop: httpx.AsyncClient, services: Services) -> None:
    services.patch(f"{SHIP}/v1/stores/sto-tb").mock(return_value=error(422, "seller_not_verified", "not theirs"))
    resp = await shop.post(f"{BASE}/stores/sto-tb/token", data={"csrf_token": await token(shop), "token": "t"})
    assert query(resp)["error"] == "seller_not_verified"


# --- unbinding, after a confirm step ------------------------------------------------------------------------


async def test_unbind_asks_first_then_unbinds(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/stores/sto-tb").respond(
        json=store("sto-tb", "taobao", "杭州小铺旗舰店", "杭州小铺 天猫店")
    )
    delete = services.delete(f"{SHIP}/v1/stores/sto-tb").respond(
        json=store("sto-tb", "taobao", "杭州小铺旗舰店", "杭州小铺 天猫店", active=False, token_set=False)
    )
    confirm = await shop.get(f"{BASE}/stores/sto-tb/unbind")
    assert confirm.status_code == 200
    text = confirm.text
    assert "解绑店铺 杭州小铺 天猫店" in text
    assert "尚未在平台确认发货的会失败" in text  # what it does, said before it is done
    assert f'action="{BASE}/stores/sto-tb/unbind"' in text
    assert f'href="{BASE}/stores" data-testid="keep"' in text
    assert not delete.called  # the page alone unbinds nothing
    resp = await shop.post(f"{BASE}/stores/sto-tb/unbind", data={"csrf_token": csrf_of(confirm)})
    assert resp.headers["location"] == f"{BASE}/stores?notice=store_unbound"
    assert delete.call_count == 1
    assert "店铺已解绑，其订单不再进入。" in (await shop.get(resp.headers["location"])).text


async def test_the_confirm_page_of_a_store_unbound_already_offers_no_form(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{SHIP}/v1/stores/sto-old").respond(json=store("sto-old", "taobao", "旧店", "旧店", active=False))
    text = (await shop.get(f"{BASE}/stores/sto-old/unbind")).text
    assert "该店铺已解绑。" in text
    assert 'data-testid="confirm-unbind"' not in text


async def test_unbinding_a_store_that_is_not_the_shops(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/stores/sto-zz").mock(return_value=error(404, "not_found", "store sto-zz not found"))
    services.delete(f"{SHIP}/v1/stores/sto-zz").mock(return_value=error(404, "not_found", "store sto-zz not found"))
    page = await shop.get(f"{BASE}/stores/sto-zz/unbind")
    assert page.status_code == 404
    assert 'data-testid="error-code">not_found<' in page.text
    resp = await shop.post(f"{BASE}/stores/sto-zz/unbind", data={"csrf_token": csrf_of(page)})
    assert query(resp)["error"] == "not_found"


async def test_a_store_id_stays_one_path_segment(shop: httpx.AsyncClient, services: Services) -> None:
    got = services.get(f"{SHIP}/v1/stores/sto%20tb%3Fx%23y").respond(json=store("sto tb?x#y", "taobao", "s", "s"))
    page = await shop.get(f"{BASE}/stores/sto%20tb%3Fx%23y/unbind")
    assert page.status_code == 200
    assert got.called  # quoted whole: no query or fragment made of it
    assert f'action="{BASE}/stores/sto%20tb%3Fx%23y/unbind"' in page.text
    # A path that climbs out is no store page of the dashboard's: nothing is asked of shipping.
    assert (await shop.get(f"{BASE}/stores/..%2F..%2Fsettings/unbind")).status_code == 404
    assert not services.routes["stores"].called


# --- the orders' channel and store ------------------------------------------------------------------------


async def test_the_orders_page_shows_each_orders_channel_and_store(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/orders").respond(
        json=list_page(
            [
                order(5),
                order(6, channel="pinduoduo", store_id="sto-pdd"),
                order(7, channel="own", store_id=None),
                order(8, store_id="sto-gone"),  # a store not among those read: its id
            ]
        )
    )
    text = (await shop.get(f"{BASE}/orders")).text
    assert re.search(
        r'data-order="ord-5".*?data-col="channel">淘宝<br><small class="muted" data-col="store">杭州小铺 天猫店<',
        text,
        re.S,
    )
    assert re.search(r'data-order="ord-6".*?data-col="channel">拼多多<br><small [^>]*>拼多多小铺<', text, re.S)
    assert re.search(r'data-order="ord-7".*?data-col="channel">自有渠道</td>', text, re.S)
    assert re.search(r'data-order="ord-8".*?data-col="store">sto-gone<', text, re.S)
    # The filter offers every channel and every store.
    assert '<option value="own" >自有渠道</option>' in text
    assert '<option value="sto-pdd" >拼多多 · 拼多多小铺</option>' in text


async def test_the_orders_page_filters_by_channel_and_store(shop: httpx.AsyncClient, services: Services) -> None:
    services.get(f"{SHIP}/v1/orders").respond(json=list_page([order(5)], "c2"))
    page = await shop.get(f"{BASE}/orders?channel=taobao&store=sto-tb")
    assert page.status_code == 200
    params = services.routes["orders"].calls.last.request.url.params
    assert (params["status"], params["channel"], params["store_id"]) == ("paid", "taobao", "sto-tb")
    assert '<option value="taobao" selected>淘宝</option>' in page.text
    assert '<option value="sto-tb" selected>淘宝 · 杭州小铺 天猫店</option>' in page.text
    # The next page keeps the filters.
    assert f'href="{BASE}/orders?channel=taobao&amp;store=sto-tb&amp;cursor=c2" rel="next"' in page.text

    every = await shop.get(f"{BASE}/orders?channel=&store=")  # the form's "every channel, every store"
    assert every.status_code == 200
    params = services.routes["orders"].calls.last.request.url.params
    assert "channel" not in params
    assert "store_id" not in params


async def test_filters_that_are_none_are_refused_before_any_call(shop: httpx.AsyncClient, services: Services) -> None:
    for path in ("?channel=jd", "?store=../settings", f"?store={'s' * 65}", "?channel=taobao%00"):
        page = await shop.get(f"{BASE}/orders{path}")
        assert page.status_code == 422, path
        assert 'data-testid="error-code">validation_error<' in page.text
    assert not services.routes["orders"].called


async def test_the_orders_still_show_when_the_stores_cannot_be_read(
    shop: httpx.AsyncClient, services: Services
) -> None:
    services.get(f"{SHIP}/v1/stores").mock(return_value=error(503, "unavailable", "down"))
    text = (await shop.get(f"{BASE}/orders?store=sto-tb")).text
    assert 'data-order="ord-5"' in text
    assert 'data-col="store">sto-tb<' in text  # its id, for want of its name
    assert '<option value="sto-tb" selected>sto-tb</option>' in text  # the filter in force stays visible
