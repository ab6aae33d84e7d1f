"""Shipping's channels against the real sandbox app in-process: a split order confirmed in parts, several
parcels, numbers changed, a refused number named, on Taobao and Pinduoduo. Each side signs and parses on its
own, so this is where the two must agree. No database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.sandbox.main import create_app
from services.sandbox.settings import SandboxSettings
from services.shipping.channels.base import ChannelError, OrderState, Refusal, StoreAccess
from services.shipping.channels.pinduoduo.channel import PinduoduoChannel
from services.shipping.channels.pinduoduo.client import PinduoduoClient
from services.shipping.channels.taobao.channel import TaobaoChannel
from services.shipping.channels.taobao.client import MarketplaceClient
from tests.sandbox.support import courier_form

APP_KEY, APP_SECRET = "sandbox-app", "sandbox-secret"
PDD_ID, PDD_SECRET = "pdd-client", "pdd-secret"


@dataclass
class World:
    http: httpx.AsyncClient
    taobao: TaobaoChannel
    pinduoduo: PinduoduoChannel

    async def control(self, path: str, body: object = None) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def numbers(self, count: int) -> list[str]:
        """ZTO numbers issued by the sandbox's courier (they fit both marketplaces' ZTO rule)."""
        body = {"cp_code": "ZTO", "seller_id": "s", "trade_order_info_dtos": [{"object_id": "o", "quantity": count}]}
        answer = (await self.http.post("/courier/gateway", data=courier_form("TMS_WAYBILL_GET", body))).json()
        codes: list[str] = answer["waybill_apply_new_cols"][0]["waybill_codes"]
        return codes


@pytest.fixture
async def world() -> AsyncIterator[World]:
    settings = SandboxSettings(seed=3, pinduoduo_client_id=PDD_ID, pinduoduo_client_secret=PDD_SECRET)
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://sandbox") as http,
    ):
        taobao = TaobaoChannel(
            MarketplaceClient(http, "http://sandbox/router/rest", APP_KEY, APP_SECRET, "hmac", 5),
            APP_KEY,
            APP_SECRET,
            300,
        )
        pdd = PinduoduoChannel(PinduoduoClient(http, "http://sandbox/pinduoduo/api/router", PDD_ID, PDD_SECRET, 5))
        yield World(http, taobao, pdd)


async def test_a_taobao_trade_in_two_parts_with_several_parcels_then_new_numbers(world: World) -> None:
    seller = await world.control("/control/marketplace/sellers", {"seller_nick": "split-shop"})
    made = await world.control("/control/marketplace/trades", {"seller_nick": "split-shop", "lines": 3})
    tid: str = made["tids"][0]
    store = StoreAccess("s1", "split-shop", str(seller["session"]))
    n = await world.numbers(6)
    order = await world.taobao.fetch_order(store, tid)
    assert order is not None
    ids = world.taobao.line_ids(order.items)

    await world.taobao.confirm(store, tid, n[:2], "ZTO", lines=ids[:1])
    order = await world.taobao.fetch_order(store, tid)
    assert order is not None
    assert (order.state, order.shipped_numbers) == (OrderState.PARTLY_SHIPPED, (n[0], n[1]))
    assert world.taobao.may_ship(order)

    await world.taobao.confirm(store, tid, n[2:3], "ZTO", lines=ids[1:], first=False)
    await world.taobao.change_numbers(store, tid, n[3:5], "ZTO", lines=ids[:1])
    await world.taobao.change_numbers(store, tid, n[3:5], "ZTO", lines=ids[:1])  # unchanged: success
    order = await world.taobao.fetch_order(store, tid)
    assert order is not None
    assert (order.state, order.shipped_numbers) == (OrderState.SHIPPED, (n[3], n[4], n[2]))

    with pytest.raises(ChannelError) as refused:
        await world.taobao.change_numbers(store, tid, [n[5], "12345"], "ZTO", lines=ids[1:])
    found = refused.value
    assert (found.code, found.refusal, found.number) == ("P10", Refusal.NUMBER_REJECTED, "12345")


async def test_a_pinduoduo_order_with_parcels_a_later_part_and_a_new_main_number(world: World) -> None:
    mall = await world.control("/control/pinduoduo/malls")
    made = await world.control("/control/pinduoduo/orders", {"mall_id": mall["mall_id"]})
    sn: str = made["order_sns"][0]
    store = StoreAccess("s2", str(mall["mall_id"]), str(mall["access_token"]))
    n = await world.numbers(6)
    order = await world.pinduoduo.fetch_order(store, sn)
    assert order is not None
    assert order.ship_by is not None

    await world.pinduoduo.confirm(store, sn, n[:2], "ZTO")
    await world.pinduoduo.confirm(store, sn, n[2:3], "ZTO", first=False)
    await world.pinduoduo.change_numbers(store, sn, n[3:4], "ZTO")
    order = await world.pinduoduo.fetch_order(store, sn)
    assert order is not None
    assert (order.state, order.shipped_numbers) == (OrderState.SHIPPED, (n[3], n[1], n[2]))

    other = await world.control("/control/pinduoduo/orders", {"mall_id": mall["mall_id"]})
    other_sn: str = other["order_sns"][0]
    with pytest.raises(ChannelError) as refused:
        await world.pinduoduo.confirm(store, other_sn, [n[4], n[1]], "ZTO")
    assert (refused.value.refusal, refused.value.number) == (Refusal.NUMBER_REJECTED, n[1])
    states = [(await world.http.get(f"/control/courier/numbers/{x}")).json()["state"] for x in n[:4]]
    assert states == ["issued"] * 4  # told to the marketplace, not collected by a courier
