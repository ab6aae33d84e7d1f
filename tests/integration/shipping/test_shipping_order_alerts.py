"""Ship-by deadlines (发货超时) and order alerts over the real database: every order's ship_by (the channel's,
the request's, or the default), the sweep that opens late_to_ship at the shop's lead time and ship_by_passed,
one unresolved alert per order and kind however many sweeps race, acknowledgement, resolution once the order
ships or is cancelled, the list filters, and the webhook events.

The sweep reads every shop's due orders (other tests' too): what it did is read from this test's shop."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.support import Env

RECEIVER = {"name": "张三", "phone": "13800138000", "state": "浙江省", "city": "杭州市", "address": "文一西路 969 号"}


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(20)})


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _own_order(world: World, shop: BoundShop, external_id: str, **body: Any) -> dict[str, Any]:
    resp = await world.shipping.post(
        "/v1/orders",
        json={"external_id": external_id, "receiver": RECEIVER, "weight_g": 800, **body},
        headers=shop.headers,
    )
    assert resp.status_code == 201, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _get(world: World, shop: BoundShop, path: str, **params: Any) -> Any:
    resp = await world.shipping.get(path, params=params or None, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _alerts(world: World, shop: BoundShop, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await _get(world, shop, "/v1/order-alerts", **params))["data"]
    return found


async def _sweep(redis: Any) -> None:
    """One sweep as the worker's cron runs it."""
    from services.shipping.tasks import sweep_ship_by

    async with worker_ctx(redis) as ctx:
        await sweep_ship_by(ctx)


async def _settings(world: World, shop: BoundShop, **body: Any) -> dict[str, Any]:
    resp = await world.shipping.put("/v1/settings", json=body, headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def test_ship_by_comes_from_the_request_or_the_own_default(world: World, shop: BoundShop) -> None:
    given = "2026-11-29T18:00:00+08:00"
    told = await _own_order(world, shop, "erp-sb-1", ship_by=given)
    assert _at(told["ship_by"]) == datetime.fromisoformat(given)
    before = datetime.now(UTC)
    default = await _own_order(world, shop, "erp-sb-2")
    # Created now: 48 hours from now (SHIPPING_SHIP_BY_DEFAULT_OWN_H).
    assert before + timedelta(hours=48) - timedelta(seconds=5) <= _at(default["ship_by"])
    assert _at(default["ship_by"]) <= datetime.now(UTC) + timedelta(hours=48)
    naive = await world.shipping.post(
        "/v1/orders",
        json={"external_id": "erp-sb-3", "receiver": RECEIVER, "weight_g": 800, "ship_by": "2026-11-29T18:00:00"},
        headers=shop.headers,
    )
    assert naive.status_code == 422, naive.text  # a deadline without its zone is a guess


async def test_ship_by_comes_from_the_channel_or_its_default(world: World, shop: BoundShop) -> None:
    trade = world.market.new_trade(shop.nick)
    before = datetime.now(UTC)
    assert (await world.shipping.post("/webhooks/marketplace", data=world.market.message(trade))).status_code == 200
    (taobao,) = (await _get(world, shop, "/v1/orders", channel="taobao"))["data"]
    assert before + timedelta(hours=48) - timedelta(seconds=5) <= _at(taobao["ship_by"])
    assert _at(taobao["ship_by"]) <= datetime.now(UTC) + timedelta(hours=48)

    mall_id, token = world.pdd.add_mall()
    bound = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token, "name": "拼多多店"}, headers=shop.headers
    )
    assert bound.status_code == 201, bound.text
    pdd_order = world.pdd.new_order(mall_id)
    pdd_order.last_ship_time = "2026-11-30 23:59:59"  # Beijing time, as Pinduoduo gives it
    body, headers = world.pdd.message(pdd_order)
    assert (await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)).status_code == 200
    (pdd,) = (await _get(world, shop, "/v1/orders", channel="pinduoduo"))["data"]
    assert _at(pdd["ship_by"]) == datetime.fromisoformat("2026-11-30T23:59:59+08:00")


async def test_a_default_ship_by_counts_from_the_channels_pay_time_not_the_messages_arrival(
    world: World, shop: BoundShop
) -> None:
    """A paid message redelivered for hours (an outage, a backlog) must not push the deadline back: Taobao's and
    Pinduoduo's pay_time is what the 48 hours count from."""
    trade = world.market.new_trade(shop.nick, pay_time="2026-11-28 09:30:00")
    assert (await world.shipping.post("/webhooks/marketplace", data=world.market.message(trade))).status_code == 200
    (taobao,) = (await _get(world, shop, "/v1/orders", channel="taobao"))["data"]
    assert _at(taobao["ship_by"]) == datetime.fromisoformat("2026-11-30T09:30:00+08:00")

    mall_id, token = world.pdd.add_mall()
    bound = await world.shipping.post(
        "/v1/stores", json={"channel": "pinduoduo", "token": token, "name": "拼多多店"}, headers=shop.headers
    )
    assert bound.status_code == 201, bound.text
    pdd_order = world.pdd.new_order(mall_id)
    pdd_order.pay_time = "2026-11-28 21:15:00"  # no last_ship_time: the default counts from the payment
    body, headers = world.pdd.message(pdd_order)
    assert (await world.shipping.post("/webhooks/pinduoduo", content=body, headers=headers)).status_code == 200
    (pdd,) = (await _get(world, shop, "/v1/orders", channel="pinduoduo"))["data"]
    assert _at(pdd["ship_by"]) == datetime.fromisoformat("2026-11-30T21:15:00+08:00")


async def test_the_sweep_opens_at_the_shops_lead_time_and_when_the_deadline_passed(
    world: World, shop: BoundShop, redis: Any
) -> None:
    now = datetime.now(UTC)
    await _settings(world, shop, late_to_ship_lead_minutes=60, time_zone="America/New_York")
    soon = await _own_order(world, shop, "erp-lead-1", ship_by=(now + timedelta(minutes=90)).isoformat())
    later = await _own_order(world, shop, "erp-lead-2", ship_by=(now + timedelta(hours=30)).isoformat())
    passed = await _own_order(world, shop, "erp-lead-3", ship_by=(now - timedelta(minutes=5)).isoformat())
    await _sweep(redis)
    # 90 minutes left is outside a 60-minute lead; the passed order gets ship_by_passed alone.
    assert [(a["order_id"], a["kind"]) for a in await _alerts(world, shop)] == [(passed["id"], "ship_by_passed")]
    (alert,) = await _alerts(world, shop)
    deadline = _at(passed["ship_by"]).astimezone(ZoneInfo("America/New_York"))  # the shop's time zone
    assert alert["message"] == f"订单 erp-lead-3 已超过发货时限 {deadline:%Y-%m-%d %H:%M}，仍未发货"
    assert alert["state"] == "open"

    settings = await _settings(world, shop, late_to_ship_lead_minutes=120)
    assert settings["late_to_ship_lead_minutes"] == 120
    await _sweep(redis)
    late = await _alerts(world, shop, kind="late_to_ship")
    assert [a["order_id"] for a in late] == [soon["id"]]
    assert late[0]["message"].startswith("订单 erp-lead-1 须在 ")
    assert "还剩 1 小时" in late[0]["message"]
    assert await _alerts(world, shop, order_id=later["id"]) == []
    # Sweeping again opens nothing more: one unresolved alert per order and kind.
    await _sweep(redis)
    assert len(await _alerts(world, shop)) == 2


async def test_a_lead_outside_the_bounds_is_refused(world: World, shop: BoundShop) -> None:
    for lead in (-1, 7 * 24 * 60 + 1):
        resp = await world.shipping.put("/v1/settings", json={"late_to_ship_lead_minutes": lead}, headers=shop.headers)
        assert resp.status_code == 422, resp.text
    assert (await _get(world, shop, "/v1/settings"))["late_to_ship_lead_minutes"] == 240


async def test_alerts_are_acknowledged_and_resolve_once_the_order_ships_or_is_cancelled(
    world: World, shop: BoundShop, redis: Any, hooks_test_allowed: None
) -> None:
    hook = await world.shipping.post(
        "/v1/webhook-endpoints",
        json={"url": "http://hooks.test/alerts", "events": ["order.alert_opened", "order.alert_resolved"]},
        headers=shop.headers,
    )
    assert hook.status_code == 201, hook.text
    now = datetime.now(UTC)
    shipped = await _own_order(world, shop, "erp-res-1", ship_by=(now + timedelta(minutes=30)).isoformat())
    cancelled = await _own_order(world, shop, "erp-res-2", ship_by=(now - timedelta(hours=1)).isoformat())
    await _sweep(redis)
    opened = await _alerts(world, shop, state="open")
    assert sorted((a["order_id"], a["kind"]) for a in opened) == sorted(
        [(shipped["id"], "late_to_ship"), (cancelled["id"], "ship_by_passed")]
    )
    first = next(a for a in opened if a["order_id"] == shipped["id"])
    acked = await world.shipping.post(f"/v1/order-alerts/{first['id']}/acknowledge", headers=shop.headers)
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_at"] is not None
    again = await world.shipping.post(f"/v1/order-alerts/{first['id']}/acknowledge", headers=shop.headers)
    assert again.json()["acknowledged_at"] == acked.json()["acknowledged_at"]
    assert [a["id"] for a in await _alerts(world, shop, state="acknowledged")] == [first["id"]]

    ship = await world.shipping.post(f"/v1/orders/{shipped['id']}/ship", json={"carrier": "ZTO"}, headers=shop.headers)
    assert ship.status_code == 202, ship.text
    cancel = await world.shipping.post(f"/v1/orders/{cancelled['id']}/cancel", headers=shop.headers)
    assert cancel.status_code == 200, cancel.text
    await world.run_jobs()
    await _sweep(redis)
    resolved = await _alerts(world, shop, state="resolved")
    assert {a["id"] for a in resolved} == {a["id"] for a in opened}
    assert all(a["resolved_at"] for a in resolved)
    assert await _alerts(world, shop, state="open") == []
    # A resolved alert cannot be acknowledged.
    late = await world.shipping.post(f"/v1/order-alerts/{resolved[0]['id']}/acknowledge", headers=shop.headers)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "invalid_transition"

    await world.run_jobs()
    events = [b for b in world.hooks.bodies() if b["shop_id"] == shop.id]
    kinds = sorted((b["type"], b["data"]["order_id"], b["data"]["kind"]) for b in events)
    assert kinds == sorted(
        [
            ("order.alert_opened", shipped["id"], "late_to_ship"),
            ("order.alert_opened", cancelled["id"], "ship_by_passed"),
            ("order.alert_resolved", shipped["id"], "late_to_ship"),
            ("order.alert_resolved", cancelled["id"], "ship_by_passed"),
        ]
    )
    resolved_event = next(b for b in events if b["type"] == "order.alert_resolved")
    assert resolved_event["data"]["state"] == "resolved"


async def test_another_shops_alert_is_not_found(world: World, shop: BoundShop, shipping_env: Env, redis: Any) -> None:
    other = await bind_shop(world, shipping_env)
    order = await _own_order(world, shop, "erp-own-1", ship_by=(datetime.now(UTC) - timedelta(hours=1)).isoformat())
    await _sweep(redis)
    (alert,) = await _alerts(world, shop, order_id=order["id"])
    assert await _alerts(world, other) == []
    resp = await world.shipping.post(f"/v1/order-alerts/{alert['id']}/acknowledge", headers=other.headers)
    assert resp.status_code == 404
    assert (await world.shipping.post("/v1/order-alerts/0/acknowledge", headers=shop.headers)).status_code == 422


async def test_two_sweeps_racing_over_real_connections_open_one_alert_per_order_and_kind(
    world: World, shop: BoundShop, redis: Any
) -> None:
    """The second sweep reads the due orders before the first commits (neither sees the other's alerts), so
    both try to open the same ones: the partial unique index makes the second wait for the first and then
    open none of them."""
    from services.shipping.service import order_alerts

    now = datetime.now(UTC)
    orders = [
        await _own_order(world, shop, f"erp-race-{i}", ship_by=(now - timedelta(minutes=i + 1)).isoformat())
        for i in range(5)
    ]
    ours = {o["id"] for o in orders}
    async with worker_ctx(redis) as a, worker_ctx(redis) as b:
        first_res, second_res = a["resources"], b["resources"]

        async def second_sweep() -> int:
            async with second_res.transaction() as uow:
                return (await order_alerts.sweep_ship_by(uow, now, None, 5000)).opened

        async with first_res.transaction() as uow:
            batch = await order_alerts.sweep_ship_by(uow, now, None, 5000)
            assert batch.opened >= len(ours)
            racing = asyncio.create_task(second_sweep())
            await asyncio.sleep(1.0)
            assert not racing.done()  # waiting on the first sweep's uncommitted alerts
        await asyncio.wait_for(racing, 30)
    # Without the index the second sweep would have opened all five again.
    alerts = await _alerts(world, shop)
    assert sorted(a["order_id"] for a in alerts) == sorted(ours)
    assert {a["kind"] for a in alerts} == {"ship_by_passed"}


async def test_open_alert_is_a_no_op_while_one_of_its_kind_is_unresolved(
    world: World, shop: BoundShop, redis: Any
) -> None:
    """The module's API for other code: open_alert answers None for a second one, resolve_alerts resolves it
    and the next open_alert opens a new one; an unknown kind is refused."""
    from services.shipping.repository.orders import OrderRepository
    from services.shipping.service import order_alerts

    created = await _own_order(world, shop, "erp-api-1")
    async with worker_ctx(redis) as ctx:
        res = ctx["resources"]
        async with res.transaction() as uow:
            order = await OrderRepository(uow.session).get(created["id"])
            assert order is not None
            first = await order_alerts.open_alert(uow, order, "not_collected_by_ship_by", "快递员尚未揽收")
            assert first is not None
            assert await order_alerts.open_alert(uow, order, "not_collected_by_ship_by", "again") is None
            with pytest.raises(ValueError, match="no_such_kind"):
                await order_alerts.open_alert(uow, order, "no_such_kind", "x")
        async with res.transaction() as uow:
            (resolved,) = await order_alerts.resolve_alerts(uow, created["id"], ["not_collected_by_ship_by"])
            assert resolved.id == first.id
            assert await order_alerts.resolve_alerts(uow, created["id"]) == []
            order = await OrderRepository(uow.session).get(created["id"])
            assert order is not None
            assert await order_alerts.open_alert(uow, order, "not_collected_by_ship_by", "又一次") is not None
    states = sorted(a["state"] for a in await _alerts(world, shop, order_id=created["id"]))
    assert states == ["open", "resolved"]


async def test_orders_list_by_ship_by(world: World, shop: BoundShop) -> None:
    base = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    made = {
        name: await _own_order(world, shop, name, ship_by=(base + timedelta(hours=h)).isoformat())
        for name, h in (("erp-list-c", 3), ("erp-list-a", 1), ("erp-list-b", 2))
    }
    by_deadline = (await _get(world, shop, "/v1/orders", sort="ship_by"))["data"]
    assert [o["external_id"] for o in by_deadline] == ["erp-list-a", "erp-list-b", "erp-list-c"]
    window = await _get(
        world,
        shop,
        "/v1/orders",
        ship_by_after=(base + timedelta(hours=2)).isoformat(),
        ship_by_before=(base + timedelta(hours=3)).isoformat(),
    )
    assert [o["id"] for o in window["data"]] == [made["erp-list-b"]["id"]]
    # Paged by deadline: the cursor carries the ship-by time.
    first = await _get(world, shop, "/v1/orders", sort="ship_by", limit=2)
    assert [o["external_id"] for o in first["data"]] == ["erp-list-a", "erp-list-b"]
    rest = await _get(world, shop, "/v1/orders", sort="ship_by", limit=2, cursor=first["next_cursor"])
    assert [o["external_id"] for o in rest["data"]] == ["erp-list-c"]
    bad = await world.shipping.get("/v1/orders", params={"sort": "price"}, headers=shop.headers)
    assert bad.status_code == 422


async def test_the_sweep_is_a_cron_of_the_shipping_worker() -> None:
    from services.shipping.tasks import WorkerSettings

    (job,) = [j for j in WorkerSettings.cron_jobs if j.name == "cron:shipping:sweep_ship_by"]  # type: ignore[attr-defined]
    assert job.unique
    assert job.second == {0}


def test_the_event_payload_is_the_alert_as_the_api_shows_it() -> None:
    from services.shipping.schemas.order_alerts import OrderAlertOut

    example = OrderAlertOut.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
    assert json.loads(OrderAlertOut.model_validate(example).model_dump_json())["kind"] == "late_to_ship"
