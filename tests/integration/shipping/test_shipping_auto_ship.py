"""Auto-ship rules (自动发货规则): CRUD and its 422s, the dry run (nothing shipped), the sweep making one batch per
rule through the batch service and recording what it took and skipped, and two sweeps at once over real
connections never shipping an order twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.integration.allocation_support import zto_numbers
from tests.integration.conftest import make_shop
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, worker_ctx
from tests.support import Env

RULES = "/v1/auto-ship/rules"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(200)})


async def _store_id(world: World, shop: BoundShop) -> str:
    stores = (await world.shipping.get("/v1/stores", headers=shop.headers)).json()["data"]
    return str(stores[0]["id"])


# Receivers that pass the intake's address check (a city of another province would hold the order).
CITIES = {"浙江": "杭州市", "浙江省": "杭州市", "广东省": "深圳市"}


async def _own_order(world: World, shop: BoundShop, ref: str, *, state: str = "浙江省", weight_g: int = 800) -> str:
    receiver = {
        "name": "张三",
        "phone": "13800138000",
        "state": state,
        "city": CITIES[state],
        "address": "文一西路 969 号",
    }
    body = {"external_id": f"erp-{ref}", "receiver": receiver, "weight_g": weight_g}
    resp = await world.shipping.post("/v1/orders", json=body, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def _taobao_orders(world: World, shop: BoundShop, count: int) -> dict[str, str]:
    """Paid Taobao orders: order id -> tid."""
    trades = [world.market.new_trade(shop.nick) for _ in range(count)]
    for t in trades:
        resp = await world.shipping.post("/webhooks/marketplace", data=world.market.message(t))
        assert resp.status_code == 200, resp.text
    orders = (await world.shipping.get("/v1/orders", params={"limit": 1000}, headers=shop.headers)).json()["data"]
    by_tid = {o["external_id"]: o["id"] for o in orders}
    return {by_tid[t.tid]: t.tid for t in trades}


async def _rule(world: World, shop: BoundShop, **body: Any) -> dict[str, Any]:
    resp = await world.shipping.post(RULES, json={"name": "规则", "carrier": "ZTO", **body}, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def _sql(env: Env, statement: str, **params: Any) -> None:
    from runtime.db import make_engine

    engine = make_engine(env.database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement), params)
    finally:
        await engine.dispose()


async def _sweep(redis: Any, now: datetime | None = None) -> None:
    """One sweep as the worker runs it (over every shop with an active rule: other tests' shops too, so what it
    did is read from this shop's runs, not from its count)."""
    from services.shipping.service import auto_ship

    async with worker_ctx(redis) as ctx:
        await auto_ship.sweep(ctx["resources"], now)


async def _runs(world: World, shop: BoundShop, rule: dict[str, Any]) -> list[dict[str, Any]]:
    resp = await world.shipping.get(f"{RULES}/{rule['id']}/runs", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["data"]
    return found


async def _order(world: World, shop: BoundShop, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await world.shipping.get(f"/v1/orders/{order_id}", headers=shop.headers)).json()
    return found


async def _pause(world: World, shop: BoundShop, *rules: dict[str, Any]) -> None:
    """Other tests' sweeps read every shop with an active rule: this test's stop here."""
    for rule in rules:
        resp = await world.shipping.patch(f"{RULES}/{rule['id']}", json={"active": False}, headers=shop.headers)
        assert resp.status_code == 200, resp.text


def _error(resp: Any) -> tuple[str, list[str]]:
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    return error["code"], [f["field"] for f in error["details"]["fields"]]


async def test_rules_are_created_listed_in_priority_order_changed_and_deleted(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    store_id = await _store_id(world, shop)
    late = await _rule(world, shop, name="兜底", priority=50)
    conditions = {
        "provinces": ["浙江", "上海市"],
        "weight_min_g": 0,
        "weight_max_g": 2000,
        "stores": ["own", store_id],
        "time_windows": [{"from": "22:00", "to": "02:00", "days": [5, 1]}],
    }
    first = await _rule(world, shop, name="江浙沪小件", priority=10, conditions=conditions, min_age_minutes=30)
    assert first["conditions"] == {**conditions, "time_windows": [{"from": "22:00", "to": "02:00", "days": [1, 5]}]}
    assert (first["active"], first["max_batch"], first["min_age_minutes"], first["last_run"]) == (True, 500, 30, None)
    assert first["created_at"].endswith("+08:00")  # the shop's time zone

    listed = (await world.shipping.get(RULES, headers=shop.headers)).json()
    assert [r["id"] for r in listed["data"]] == [first["id"], late["id"]]

    changed = await world.shipping.patch(
        f"{RULES}/{first['id']}", json={"active": False, "carrier": "YTO"}, headers=shop.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["active"], changed.json()["carrier"]) == (False, "YTO")
    assert changed.json()["conditions"] == first["conditions"]  # not given: kept
    got = (await world.shipping.get(f"{RULES}/{first['id']}", headers=shop.headers)).json()
    assert (got["active"], got["carrier"], got["name"]) == (False, "YTO", "江浙沪小件")

    other = await make_shop(world.allocation)
    assert (await world.shipping.get(f"{RULES}/{first['id']}", headers=other.headers)).status_code == 404
    assert (await world.shipping.delete(f"{RULES}/{first['id']}", headers=other.headers)).status_code == 404
    assert (await world.shipping.get(RULES, headers=other.headers)).json()["data"] == []

    gone = await world.shipping.delete(f"{RULES}/{first['id']}", headers=shop.headers)
    assert gone.status_code == 204, gone.text
    missing = await world.shipping.get(f"{RULES}/{first['id']}", headers=shop.headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert (await world.shipping.get(f"{RULES}/{first['id']}/runs", headers=shop.headers)).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conditions": {"time_windows": [{"from": "25:00", "to": "02:00"}]}}, "conditions.time_windows.0.from"),
        ({"conditions": {"time_windows": [{"from": "9:00", "to": "18:00"}]}}, "conditions.time_windows.0.from"),
        ({"conditions": {"time_windows": [{"from": "09:00", "to": "09:00"}]}}, "conditions.time_windows.0"),
        ({"conditions": {"time_windows": [{"from": "09:00", "to": "18:00", "days": [8]}]}},
         "conditions.time_windows.0.days"),
        ({"carrier": "FOO"}, "carrier"),
        ({"conditions": {"weight_min_g": 3000, "weight_max_g": 1000}}, "conditions"),
        ({"conditions": {"weight_min_g": -1}}, "conditions.weight_min_g"),
        ({"conditions": {"provinces": ["火星"]}}, "conditions.provinces"),
        ({"conditions": {"stores": ["sto_does_not_exist"]}}, "conditions.stores"),
        ({"max_batch": 0}, "max_batch"),
        ({"priority": -1}, "priority"),
    ],
)  # fmt: skip
async def test_an_invalid_rule_is_a_422_in_the_one_error_shape(
    world: World, shop: BoundShop, change: dict[str, Any], field: str
) -> None:
    created = await world.shipping.post(
        RULES, json={"name": "坏规则", "carrier": "ZTO", **change}, headers=shop.headers
    )
    code, fields = _error(created)
    assert code == "validation_error"
    assert field in fields, fields
    assert (await world.shipping.get(RULES, headers=shop.headers)).json()["data"] == []  # nothing half-written

    rule = await _rule(world, shop)
    patched = await world.shipping.patch(f"{RULES}/{rule['id']}", json=change, headers=shop.headers)
    code, fields = _error(patched)
    assert field in fields, fields
    assert (await world.shipping.get(f"{RULES}/{rule['id']}", headers=shop.headers)).json() == rule


async def test_another_shops_store_is_unknown(world: World, shop: BoundShop, shipping_env: Env) -> None:
    theirs = await bind_shop(world, shipping_env)
    resp = await world.shipping.post(
        RULES,
        json={"name": "别人的店", "carrier": "ZTO", "conditions": {"stores": [await _store_id(world, theirs)]}},
        headers=shop.headers,
    )
    assert _error(resp) == ("validation_error", ["conditions.stores"])


async def _mixed_orders(world: World, shop: BoundShop, env: Env) -> dict[str, str]:
    ids = {
        "zj_light": await _own_order(world, shop, "zj-light", state="浙江", weight_g=800),
        "zj_heavy": await _own_order(world, shop, "zj-heavy", state="浙江省", weight_g=5000),
        "gd": await _own_order(world, shop, "gd", state="广东省", weight_g=800),
        "held": await _own_order(world, shop, "held", state="浙江省", weight_g=800),
    }
    (taobao,) = await _taobao_orders(world, shop, 1)
    ids["taobao"] = taobao
    await _sql(env, "UPDATE shipping.orders SET held = 'address_invalid' WHERE id = :id", id=ids["held"])
    return ids


async def test_a_dry_run_says_what_a_rule_would_take_and_why_not_and_ships_nothing(
    world: World, shop: BoundShop, shipping_env: Env
) -> None:
    ids = await _mixed_orders(world, shop, shipping_env)
    small = await _rule(
        world,
        shop,
        name="浙江小件",
        priority=10,
        conditions={"provinces": ["浙江省"], "stores": ["own"], "weight_max_g": 2000},
    )
    rest = await _rule(world, shop, name="兜底", priority=20, carrier="ZTO")
    resp = await world.shipping.post(f"{RULES}/{small['id']}/dry-run", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    run = resp.json()
    assert (run["running"], run["would_take"], run["order_ids"]) == (True, 1, [ids["zj_light"]])
    assert run["at"].endswith("+08:00")
    why = {s["order_id"]: s["reason"] for s in run["skipped_orders"]}
    assert why == {
        ids["zj_heavy"]: "weight_out_of_range",
        ids["gd"]: "province_not_in_list",
        ids["held"]: "held",
        ids["taobao"]: "store_not_in_list",
    }
    assert run["skipped"] == 4
    assert sum(run["skipped_by_reason"].values()) == 4
    assert all(s["message"] for s in run["skipped_orders"])

    later = (await world.shipping.post(f"{RULES}/{rest['id']}/dry-run", headers=shop.headers)).json()
    assert sorted(later["order_ids"]) == sorted([ids["zj_heavy"], ids["gd"], ids["taobao"]])
    (taken,) = [s for s in later["skipped_orders"] if s["reason"] == "taken_by_rule"]
    assert (taken["order_id"], taken["rule_id"]) == (ids["zj_light"], small["id"])

    # An inactive rule is tried as if it were active, in its place.
    await world.shipping.patch(f"{RULES}/{small['id']}", json={"active": False}, headers=shop.headers)
    paused = (await world.shipping.post(f"{RULES}/{small['id']}/dry-run", headers=shop.headers)).json()
    assert paused["order_ids"] == [ids["zj_light"]]

    await world.run_jobs()
    assert (await world.shipping.get("/v1/shipment-batches", headers=shop.headers)).json()["data"] == []
    for oid in ids.values():
        assert (await _order(world, shop, oid))["status"] == "paid"
    assert (await world.shipping.get(f"{RULES}/{small['id']}/runs", headers=shop.headers)).json()["data"] == []
    await _pause(world, shop, rest)


async def test_the_sweep_makes_a_batch_per_rule_and_records_what_it_took_and_skipped(
    world: World, shop: BoundShop, shipping_env: Env, redis: Any
) -> None:
    ids = await _mixed_orders(world, shop, shipping_env)
    small = await _rule(
        world,
        shop,
        name="浙江小件",
        priority=10,
        conditions={"provinces": ["浙江"], "stores": ["own"], "weight_max_g": 2000},
    )
    # No YTO numbers: this rule's batch fails its orders, which are then left alone for a while.
    rest = await _rule(world, shop, name="兜底", priority=20, carrier="YTO")
    await _sweep(redis)
    await world.run_jobs()

    light = await _order(world, shop, ids["zj_light"])
    assert (light["status"], light["carrier"]) == ("shipped", "ZTO")
    for key in ("zj_heavy", "gd", "taobao", "held"):
        assert (await _order(world, shop, ids[key]))["status"] == "paid", key

    got = (await world.shipping.get(f"{RULES}/{small['id']}", headers=shop.headers)).json()
    run = got["last_run"]
    assert (run["taken"], run["order_ids"], run["carrier"]) == (1, [ids["zj_light"]], "ZTO")
    assert run["skipped_by_reason"] == {
        "held": 1,
        "province_not_in_list": 1,
        "store_not_in_list": 1,
        "weight_out_of_range": 1,
    }
    assert run["at"].endswith("+08:00")
    batch = (await world.shipping.get(f"/v1/shipment-batches/{run['batch_id']}", headers=shop.headers)).json()
    assert (batch["carrier"], batch["total"], batch["done"]) == ("ZTO", 1, 1)
    assert batch["items"][0]["order_id"] == ids["zj_light"]

    runs = await _runs(world, shop, rest)
    assert [r["taken"] for r in runs] == [3]
    assert runs[0]["skipped_by_reason"] == {"held": 1, "taken_by_rule": 1}
    failed = (await world.shipping.get(f"/v1/shipment-batches/{runs[0]['batch_id']}", headers=shop.headers)).json()
    assert (failed["carrier"], failed["failed"]) == ("YTO", 3)

    # Again: nothing new (the shipped order is not paid; the failed ones wait), so no new batch or run.
    await _sweep(redis)
    assert len((await world.shipping.get("/v1/shipment-batches", headers=shop.headers)).json()["data"]) == 2
    assert [len(await _runs(world, shop, r)) for r in (small, rest)] == [1, 1]
    dry = (await world.shipping.post(f"{RULES}/{rest['id']}/dry-run", headers=shop.headers)).json()
    assert dry["skipped_by_reason"] == {"held": 1, "recently_failed": 3}
    # Half an hour later they are tried again.
    await _sweep(redis, datetime.now(UTC) + timedelta(minutes=31))
    assert [r["taken"] for r in await _runs(world, shop, rest)] == [3, 3]
    await _pause(world, shop, small, rest)


async def test_a_rule_runs_only_inside_its_window_and_takes_orders_once_old_enough(
    world: World, shop: BoundShop, redis: Any
) -> None:
    order_id = await _own_order(world, shop, "window")
    now = datetime.now(UTC)
    local = now.astimezone(SHANGHAI)

    def hhmm(delta: timedelta) -> str:
        return (local + delta).strftime("%H:%M")

    later = {"from": hhmm(timedelta(hours=2)), "to": hhmm(timedelta(hours=3))}
    rule = await _rule(world, shop, conditions={"time_windows": [later]}, min_age_minutes=30)
    await _sweep(redis, now)
    dry = (await world.shipping.post(f"{RULES}/{rule['id']}/dry-run", headers=shop.headers)).json()
    assert (dry["running"], dry["skipped_by_reason"]) == (False, {"outside_window": 1})

    # Around now (across midnight when now is late in the day): running, but the order is too young.
    around = {"from": hhmm(timedelta(hours=-1)), "to": hhmm(timedelta(hours=3))}
    await world.shipping.patch(
        f"{RULES}/{rule['id']}", json={"conditions": {"time_windows": [around]}}, headers=shop.headers
    )
    await _sweep(redis, now)
    dry = (await world.shipping.post(f"{RULES}/{rule['id']}/dry-run", headers=shop.headers)).json()
    assert (dry["running"], dry["skipped_by_reason"]) == (True, {"too_young": 1})
    assert await _runs(world, shop, rule) == []

    await _sweep(redis, now + timedelta(minutes=31))
    assert [r["order_ids"] for r in await _runs(world, shop, rule)] == [[order_id]]
    await world.run_jobs()
    assert (await _order(world, shop, order_id))["status"] == "shipped"


async def test_the_sweep_is_a_minutely_cron_of_the_shipping_worker() -> None:
    from services.shipping.tasks import WorkerSettings

    (job,) = [j for j in WorkerSettings.cron_jobs if j.name == "cron:shipping:sweep_auto_ship"]  # type: ignore[attr-defined]
    assert job.unique
    assert job.second == {0}
    assert job.minute is None


async def _two_sweeps_at_once(redis: Any) -> None:
    """Two workers' sweeps at the same moment, each with its own resources (engine, connections)."""
    from services.shipping.service import auto_ship

    async with worker_ctx(redis) as a, worker_ctx(redis) as b:
        await asyncio.gather(auto_ship.sweep(a["resources"]), auto_ship.sweep(b["resources"]))


def _shipped_once(world: World, tids: list[str]) -> None:
    sent = Counter(s["tid"] for s in world.market.sends())
    assert {t: sent[t] for t in tids} == dict.fromkeys(tids, 1)
    confirmed = [world.market.trades[t].out_sid for t in tids]
    assert len(set(confirmed)) == len(tids)


async def test_two_sweeps_at_once_ship_every_order_once(world: World, shop: BoundShop, redis: Any) -> None:
    orders = await _taobao_orders(world, shop, 60)
    rule = await _rule(world, shop, name="全部", max_batch=1000)
    for _ in range(3):
        await _two_sweeps_at_once(redis)
    # One sweep had the shop; the other, and the later rounds, found its orders in that batch already.
    assert [r["taken"] for r in await _runs(world, shop, rule)] == [60]
    await world.run_jobs()
    _shipped_once(world, list(orders.values()))
    await _two_sweeps_at_once(redis)
    assert len(await _runs(world, shop, rule)) == 1


async def test_even_two_sweeps_that_batch_the_same_orders_ship_each_once(
    world: World, shop: BoundShop, redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch claim is what guarantees it: with the sweep's own guards taken away (its shop lock, and both
    reading the orders before either commits), both sweeps batch every order, and each still ships once."""
    from services.shipping.repository.auto_ship import AutoShipRepository

    orders = await _taobao_orders(world, shop, 40)
    rule = await _rule(world, shop)
    both_read = asyncio.Barrier(2)
    read = AutoShipRepository.candidates

    async def no_lock(self: AutoShipRepository, shop_id: str) -> bool:
        return True

    async def read_together(self: AutoShipRepository, shop_id: str, *args: Any) -> Any:
        found = await read(self, shop_id, *args)
        if shop_id == shop.id:
            await asyncio.wait_for(both_read.wait(), 10)
        return found

    monkeypatch.setattr(AutoShipRepository, "try_lock_shop", no_lock)
    monkeypatch.setattr(AutoShipRepository, "candidates", read_together)
    await _two_sweeps_at_once(redis)
    runs = await _runs(world, shop, rule)
    assert [r["taken"] for r in runs] == [40, 40]
    await world.run_jobs()
    _shipped_once(world, list(orders.values()))
    views = [
        (await world.shipping.get(f"/v1/shipment-batches/{r['batch_id']}", headers=shop.headers)).json() for r in runs
    ]
    # Each order was claimed by one batch and skipped by the other ("order is waybill_assigned", "... shipped").
    assert sum(v["done"] for v in views) == 40
    assert sum(v["skipped"] for v in views) == 40
    assert sum(v["failed"] for v in views) == 0
