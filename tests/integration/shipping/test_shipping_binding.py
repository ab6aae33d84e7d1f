"""Binding a shop to a marketplace seller needs proof: the session must be that seller's (the marketplace
says whose it is), and one nick goes to one shop even when shops race for it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.integration.conftest import ShopCreds, make_shop
from tests.integration.shipping.conftest import World
from tests.support import Env


async def _put(world: World, shop: ShopCreds, **body: Any) -> httpx.Response:
    return await world.shipping.put("/v1/settings", json=body, headers=shop.headers)


def _seller_checks(world: World) -> list[dict[str, str]]:
    return [c for c in world.market.calls if c.get("method") == "taobao.user.seller.get"]


async def test_a_nick_needs_a_session_that_belongs_to_it(world: World, shipping_env: Env) -> None:
    shop = await make_shop(world.allocation)
    victim_session = world.market.add_seller(f"victim-{shop.id}")
    own_session = world.market.add_seller(f"own-{shop.id}")

    # Another seller's nick with our own session: the marketplace says the session is not theirs.
    squat = await _put(world, shop, seller_nick=f"victim-{shop.id}", session=own_session)
    assert squat.status_code == 422, squat.text
    assert squat.json()["error"]["code"] == "seller_not_verified"
    # A nick without any session, and a session the marketplace does not know.
    bare = await _put(world, shop, seller_nick=f"victim-{shop.id}")
    assert bare.status_code == 422
    assert bare.json()["error"]["code"] == "seller_not_verified"
    forged = await _put(world, shop, seller_nick=f"victim-{shop.id}", session="6100made-up")
    assert forged.status_code == 422
    assert forged.json()["error"]["details"] == {"field": "session"}
    assert (await world.shipping.get("/v1/settings", headers=shop.headers)).json()["seller_nick"] is None

    # The genuine session binds.
    ok = await _put(world, shop, seller_nick=f"victim-{shop.id}", session=victim_session, sender_name="甲")
    assert ok.status_code == 200, ok.text
    assert ok.json()["seller_nick"] == f"victim-{shop.id}"
    # A session alone must be the bound seller's (a renewed token); moving to another seller names it.
    swapped = await _put(world, shop, session=own_session)
    assert swapped.status_code == 422
    assert swapped.json()["error"]["code"] == "seller_not_verified"
    moved = await _put(world, shop, seller_nick=f"own-{shop.id}", session=own_session)
    assert moved.status_code == 200, moved.text
    assert moved.json()["seller_nick"] == f"own-{shop.id}"
    # Every check went to the marketplace with the session given; sender-only changes need none.
    sessions = [own_session, "6100made-up", victim_session, own_session, own_session]
    assert [c["session"] for c in _seller_checks(world)] == sessions
    before = len(_seller_checks(world))
    assert (await _put(world, shop, sender_phone="0571-1")).status_code == 200
    assert len(_seller_checks(world)) == before


async def test_a_new_session_must_belong_to_the_bound_nick(world: World, shipping_env: Env) -> None:
    shop = await make_shop(world.allocation)
    nick = f"mine-{shop.id}"
    assert (await _put(world, shop, seller_nick=nick, session=world.market.add_seller(nick))).status_code == 200
    other = world.market.add_seller(f"theirs-{shop.id}")
    # Keeping the nick and swapping in someone else's session would confirm shipments as them.
    swapped = await _put(world, shop, seller_nick=nick, session=other)
    assert swapped.status_code == 422
    assert swapped.json()["error"]["code"] == "seller_not_verified"
    assert (await world.shipping.get("/v1/settings", headers=shop.headers)).json()["seller_nick"] == nick


async def test_marketplace_down_while_checking_is_a_503_and_binds_nothing(world: World, shipping_env: Env) -> None:
    shop = await make_shop(world.allocation)
    nick = f"down-{shop.id}"
    session = world.market.add_seller(nick)
    world.market.seller_check_failures = 1
    resp = await _put(world, shop, seller_nick=nick, session=session)
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "2"
    assert (await world.shipping.get("/v1/settings", headers=shop.headers)).json()["seller_nick"] is None
    assert (await _put(world, shop, seller_nick=nick, session=session)).status_code == 200


async def test_shops_racing_for_one_nick_get_one_200_and_409s(world: World, shipping_env: Env) -> None:
    shops = [await make_shop(world.allocation) for _ in range(8)]
    nick = f"contested-{shops[0].id}"
    session = world.market.add_seller(nick)
    answers = await asyncio.gather(*(_put(world, s, seller_nick=nick, session=session) for s in shops))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 7, [a.text for a in answers]
    assert all(a.json()["error"]["code"] == "conflict" for a in answers if a.status_code == 409)
    (winner,) = (s for s, a in zip(shops, answers, strict=True) if a.status_code == 200)
    for s in shops:
        bound = (await world.shipping.get("/v1/settings", headers=s.headers)).json()["seller_nick"]
        assert bound == (nick if s is winner else None)
