"""Paid messages arriving together are taken in as one group: one list call for their trades, the trades it
leaves out read one by one, the group stored whole or not at all, and every per-message guarantee kept
(signatures, dedupe, nothing stored for a trade the marketplace does not bear out)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.shipping.repository.orders import OrderRepository
from services.shipping.service import intake_batch
from services.shipping.settings import ShippingSettings
from tests.integration.shipping.conftest import World, bind_shop
from tests.integration.shipping.fakes import sign
from tests.support import Env

LIST = "taobao.trades.sold.increment.get"


@pytest.fixture(autouse=True)
def _wide_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message a test pushes at once joins one group, however slowly the test machine serves them."""
    monkeypatch.setattr(intake_batch, "WINDOW_S", 0.25)


FULLINFO = "taobao.trade.fullinfo.get"


async def _push(world: World, form: dict[str, str]) -> httpx.Response:
    return await world.shipping.post("/webhooks/marketplace", data=form)


async def _push_all(world: World, forms: list[dict[str, str]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*(_push(world, f) for f in forms)))


def _calls(world: World, method: str) -> list[dict[str, str]]:
    return [c for c in world.market.calls if c["method"] == method]


async def _rows(settings: ShippingSettings, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_messages_arriving_together_are_read_back_in_one_list_call(
    world: World, shipping_env: Env, shipping_settings: ShippingSettings
) -> None:
    shop = await bind_shop(world, shipping_env)
    trades = [world.market.new_trade(shop.nick) for _ in range(8)]
    world.market.calls.clear()
    answers = await _push_all(world, [world.market.message(t) for t in trades])
    assert [a.status_code for a in answers] == [200] * 8
    assert [a.json()["status"] for a in answers] == ["order_created"] * 8
    [listed] = _calls(world, LIST)  # one list call for the eight trades, asking only for the fields we need
    assert listed["status"] == "WAIT_SELLER_SEND_GOODS"
    assert listed["use_has_next"] == "true"
    assert listed["page_size"] == "100"
    assert "receiver_address" in listed["fields"]
    assert "orders.oid" in listed["fields"]
    assert _calls(world, FULLINFO) == []
    tids = [t.tid for t in trades]
    rows = await _rows(
        shipping_settings,
        "SELECT o.external_id, o.receiver_state, o.weight_g, array_agg(e.event) AS events FROM shipping.orders o "
        "JOIN shipping.order_events e ON e.order_id = o.id WHERE o.external_id = ANY($1) GROUP BY o.id",
        tids,
    )
    assert sorted(r["external_id"] for r in rows) == sorted(tids)
    assert all(r["events"] == ["create"] and r["receiver_state"] == "广东省" and r["weight_g"] == 1250 for r in rows)
    messages = await _rows(
        shipping_settings,
        "SELECT tid, outcome, shop_id FROM shipping.marketplace_messages WHERE channel = 'taobao' AND tid = ANY($1)",
        tids,
    )
    assert sorted(m["tid"] for m in messages) == sorted(tids)
    assert {(m["outcome"], m["shop_id"]) for m in messages} == {("order_created", shop.id)}


async def test_a_trade_the_list_leaves_out_is_read_on_its_own(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trades = [world.market.new_trade(shop.nick) for _ in range(4)]
    world.market.unlisted.add(trades[2].tid)  # modified since the message (another status, say)
    world.market.calls.clear()
    answers = await _push_all(world, [world.market.message(t) for t in trades])
    assert [a.json()["status"] for a in answers] == ["order_created"] * 4
    assert len(_calls(world, LIST)) == 1
    assert [c["tid"] for c in _calls(world, FULLINFO)] == [trades[2].tid]


async def test_forged_and_unconfirmed_messages_in_a_group_change_nothing(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    genuine = world.market.new_trade(shop.nick)
    gone = world.market.new_trade(shop.nick)
    unpaid = world.market.new_trade(shop.nick, status="WAIT_BUYER_PAY")
    forged_trade = world.market.new_trade(shop.nick)
    forged = world.market.message(forged_trade)
    forged["sign"] = sign(forged, secret="not-the-secret")
    del world.market.trades[gone.tid]  # a paid message for a trade the marketplace does not have
    world.market.calls.clear()
    answers = await _push_all(world, [world.market.message(t) for t in (genuine, gone, unpaid)] + [forged])
    assert [a.status_code for a in answers] == [200, 200, 200, 401]
    assert [a.json()["status"] for a in answers[:3]] == ["order_created", "trade_not_found", "trade_wait_buyer_pay"]
    assert answers[3].json()["error"]["code"] == "bad_signature"
    resp = await world.shipping.get("/v1/orders", headers=shop.headers)
    assert [o["external_id"] for o in resp.json()["data"]] == [genuine.tid]
    # Neither listed trade in the group bore the other two out: each was read on its own before the answer.
    assert sorted(c["tid"] for c in _calls(world, FULLINFO)) == sorted([gone.tid, unpaid.tid])
    assert all(c.get("tid") != forged_trade.tid for c in world.market.calls)
    # The forged message's id was not burnt: the genuine one goes through afterwards.
    assert (await _push(world, world.market.message(forged_trade))).json()["status"] == "order_created"


async def test_redelivered_messages_are_stored_once(
    world: World, shipping_env: Env, shipping_settings: ShippingSettings
) -> None:
    shop = await bind_shop(world, shipping_env)
    a, b = world.market.new_trade(shop.nick), world.market.new_trade(shop.nick)
    first, second = world.market.message(a), world.market.message(b)
    answers = await _push_all(world, [first, second, first, first])
    assert [r.json()["status"] for r in answers] == ["order_created", "order_created", "duplicate", "duplicate"]
    again = await _push_all(world, [second, first])
    assert [r.json()["status"] for r in again] == ["duplicate", "duplicate"]
    # Another message of the same trade finds its order.
    assert (await _push(world, world.market.message(a))).json()["status"] == "order_exists"
    stored = await _rows(
        shipping_settings,
        "SELECT id FROM shipping.marketplace_messages WHERE id = ANY($1)",
        [first["id"], second["id"]],
    )
    assert len(stored) == 2
    resp = await world.shipping.get("/v1/orders", headers=shop.headers)
    assert sorted(o["external_id"] for o in resp.json()["data"]) == sorted([a.tid, b.tid])


async def test_a_group_that_fails_is_stored_not_at_all_then_message_by_message(
    world: World, shipping_env: Env, shipping_settings: ShippingSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await bind_shop(world, shipping_env)
    trades = [world.market.new_trade(shop.nick) for _ in range(3)]
    seen: list[int] = []

    async def broken(self: OrderRepository, rows: Any) -> None:
        seen.append(len(rows))
        raise RuntimeError("the database went away after the orders' INSERT")

    # The group's audit rows fail after its orders were inserted: the group's transaction rolls back whole,
    # and each message is taken again on its own (which writes its audit row through another path).
    monkeypatch.setattr(OrderRepository, "add_events", broken)
    answers = await _push_all(world, [world.market.message(t) for t in trades])
    assert seen == [3]
    assert [a.json()["status"] for a in answers] == ["order_created"] * 3
    rows = await _rows(
        shipping_settings,
        "SELECT o.external_id, count(e.id) AS events FROM shipping.orders o JOIN shipping.order_events e "
        "ON e.order_id = o.id WHERE o.external_id = ANY($1) GROUP BY o.id",
        [t.tid for t in trades],
    )
    assert sorted((r["external_id"], r["events"]) for r in rows) == sorted((t.tid, 1) for t in trades)


async def test_the_list_call_failing_answers_503_and_stores_nothing(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trades = [world.market.new_trade(shop.nick) for _ in range(2)]
    world.market.list_failures = 1
    world.market.fullinfo_failures = 2  # each message on its own cannot be read either
    forms = [world.market.message(t) for t in trades]
    answers = await _push_all(world, forms)
    assert [a.status_code for a in answers] == [503, 503]
    assert {a.json()["error"]["code"] for a in answers} == {"upstream_error"}
    assert (await world.shipping.get("/v1/orders", headers=shop.headers)).json()["data"] == []
    # Redelivered once the marketplace answers: taken in then (the failed tries burnt no message id).
    assert [a.json()["status"] for a in await _push_all(world, forms)] == ["order_created"] * 2


async def test_a_burst_is_listed_once_and_a_changed_trade_read_afresh(world: World, shipping_env: Env) -> None:
    shop = await bind_shop(world, shipping_env)
    trades = [world.market.new_trade(shop.nick) for _ in range(4)]
    # Paid together a few seconds ago: the first message's list call reads the others' trades after their
    # messages were published, and answers them when they arrive.
    earlier = (datetime.now(UTC) + timedelta(hours=8) - timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")
    forms = [world.market.message(t, pub_time=earlier) for t in trades]
    world.market.calls.clear()
    assert (await _push(world, forms[0])).json()["status"] == "order_created"
    assert len(_calls(world, LIST)) == 1
    # A close of the last one arrives (it is still open on the marketplace): what was listed of it is stale.
    close = await _push(world, world.market.message(trades[3], topic="taobao_trade_TradeClose"))
    assert close.json()["status"] == "ignored"
    world.market.calls.clear()
    answers = await _push_all(world, forms[1:3])
    assert [a.json()["status"] for a in answers] == ["order_created"] * 2
    assert world.market.calls == []  # both answered from the listing, nothing read again
    trades[3].status = "TRADE_CLOSED"
    assert (await _push(world, forms[3])).json()["status"] == "trade_trade_closed"
    assert [c["method"] for c in world.market.calls] == [LIST, FULLINFO]
