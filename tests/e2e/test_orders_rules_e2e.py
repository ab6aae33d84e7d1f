"""Auto-ship rules, address checks at intake and ship-by deadlines end to end, over the real processes, on Taobao
and Pinduoduo (and the shop's own REST orders where it costs nothing).

What the marketplaces hold is read from the sandbox's control API (a Taobao trade's status and consignment, a
Pinduoduo order's order_status, tracking_number, logistics_id and last_ship_time); what we did is read from our
own APIs (orders, rules and their runs, batches, shipments, order alerts).

- Auto-ship: orders of both channels arrive first (each receiver set on the marketplace before payment), then
  four rules: a paused catch-all tried first (its dry run shows it would take every order; it takes none), an
  active rule outside its time window (takes nothing, leaves its orders to the next rules), "江苏 by ZTO" for
  both stores with a weight ceiling and a max_batch one short of its matches, and a rule for own orders older
  than an hour. The worker's minutely sweep (cron at second 0, no setting shortens it) makes one run of the
  江苏 rule: the oldest matching orders of both channels in one ZTO batch, shipped on their marketplaces with
  our numbers, and every other order left with its reason (province_not_in_list, store_not_in_list,
  weight_out_of_range, held, over_max_batch) in the rule's runs; the other rules record no run, and their dry
  runs say why (outside_window, too_young, taken_by_rule).
- Address checks: receivers the sandbox gives each channel (a city of another province, an unknown province
  with a masked phone, a district of another city, a phone no Chinese mobile number has) become held orders
  flagged with exactly what is wrong and an open address_invalid alert; shipping one answers 409
  address_invalid with the reason, a batch skips it with that reason, and it gets no number, no shipment and
  stays unshipped on its marketplace. A Taobao receiver changed on the marketplace after intake holds its order,
  and changed back releases it. PUT /v1/orders/{id}/receiver releases the others (alerts resolved) and they ship.
- Ship-by: Pinduoduo orders carry the sandbox's last_ship_time, Taobao ones (taken in at once) pay_time + 48 h,
  own ones the ship_by given or creation + 48 h. With the shop's late_to_ship_lead_minutes at 60, the ship-by sweep (its
  interval set to 2 s through SHIPPING_SHIP_BY_SWEEP_S, the worker restarted) opens late_to_ship on the orders
  due within the hour and ship_by_passed on the one past due, and nothing on the others (which the default lead
  of 240 minutes would have warned about); shipping or cancelling an order resolves its alert. The list sorted
  by ship_by comes back most urgent first across pages, and ship_by_before / ship_by_after keep the right ones.
- A Taobao order taken in late (its paid message redelivered until the marketplace answers again) ships by
  its pay_time + 48 h, to the second, not by the time its message got through.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, list_all, wait_for

pytestmark = pytest.mark.e2e

RULES = "/v1/auto-ship/rules"
UTC8 = timezone(timedelta(hours=8))
ZTO_LOGISTICS_ID = 115  # 中通快递 on Pinduoduo (see test_channels_e2e's docstring)
TOP_TIME = "%Y-%m-%d %H:%M:%S"  # Taobao's pay_time and Pinduoduo's last_ship_time, Beijing time
DEFAULT_SHIP_BY = timedelta(hours=48)
# Receivers as each channel's control API names their fields.
TB_JIANGSU: dict[str, Any] = {"state": "江苏省", "city": "南京市", "district": "玄武区"}
PDD_JIANGSU: dict[str, Any] = {"province": "江苏省", "city": "南京市", "town": "玄武区"}
GOOD_RECEIVER = {
    "name": "张三",
    "phone": "13800138000",
    "state": "广东省",
    "city": "深圳市",
    "district": "南山区",
    "address": "科技园南区高新南七道 4 栋 1201 室",
}
# No Chinese mobile number starts 12 (the second digit is 3-9), though it has the shape Pinduoduo's API allows.
BAD_MOBILE = "12000000000"


# -- setting up ---------------------------------------------------------------------------------------------


async def _taobao(h: Harness, http: httpx.AsyncClient, shop: Shop, count: int = 1, **receiver: str) -> list[str]:
    """Trades paid after their receiver was set on the marketplace (``receiver``: the control API's fields; none:
    the sandbox's own realistic one), once they are our orders: our order ids. The address change of an unpaid
    trade publishes a message that makes no order (the trade, read back, does not wait for shipping)."""
    resp = await http.post(
        f"{h.sandbox}/control/marketplace/trades", json={"seller_nick": shop.nick, "count": count, "paid": False}
    )
    resp.raise_for_status()
    tids: list[str] = resp.json()["tids"]
    for tid in tids:
        if receiver:
            (await http.post(f"{h.sandbox}/control/marketplace/trades/{tid}/address", json=receiver)).raise_for_status()
        (await http.post(f"{h.sandbox}/control/marketplace/trades/{tid}/pay")).raise_for_status()
    return await h.orders_for(http, shop, tids, within=60)


async def _pdd(
    h: Harness, http: httpx.AsyncClient, shop: Shop, mall: dict[str, Any], count: int = 1, **fields: Any
) -> list[str]:
    """Confirmed Pinduoduo orders made with ``fields`` (receiver fields, ship_within_hours), once they are ours."""
    return [order_id for _, order_id in await h.pdd_orders_taken_in(http, shop, mall["mall_id"], count, **fields)]


async def _own(h: Harness, http: httpx.AsyncClient, shop: Shop, **body: Any) -> dict[str, Any]:
    payload = {"external_id": f"erp-{uuid.uuid4().hex[:12]}", "receiver": GOOD_RECEIVER, "weight_g": 500, **body}
    resp = await http.post(f"{h.shipping}/v1/orders", json=payload, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    order: dict[str, Any] = resp.json()
    return order


async def _orders(h: Harness, http: httpx.AsyncClient, shop: Shop) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in await h.orders_where(http, shop)}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _beijing(text: str) -> datetime:
    return datetime.strptime(text, TOP_TIME).replace(tzinfo=UTC8)


# -- the marketplaces ---------------------------------------------------------------------------------------


async def _marketplace_number(h: Harness, http: httpx.AsyncClient, order: dict[str, Any]) -> str | None:
    """The number the order's marketplace holds it shipped with by ZTO; None while it waits for shipping there."""
    if order["channel"] == "taobao":
        trade = await h.trade(http, order["external_id"])
        if trade["shipping"] is None:
            assert trade["status"] == "WAIT_SELLER_SEND_GOODS", trade
            return None
        assert (trade["status"], trade["shipping"]["company_code"]) == ("WAIT_BUYER_CONFIRM_GOODS", "ZTO"), trade
        number: str = trade["shipping"]["out_sid"]
        return number
    assert order["channel"] == "pinduoduo", order
    held = await h.pdd_order(http, order["external_id"])
    if held["order_status"] == 1:  # 待发货
        assert held["tracking_number"] == "", held
        return None
    assert (held["order_status"], held["logistics_id"]) == (2, ZTO_LOGISTICS_ID), held
    tracking: str = held["tracking_number"]
    return tracking


async def _shipped_with_our_number(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str) -> None:
    order = await h.order(http, shop, order_id)
    assert (order["status"], order["carrier"]) == ("shipped", "ZTO"), order
    if order["channel"] != "own":
        assert await _marketplace_number(h, http, order) == order["number"], order
    assert (await h.waybill(http, shop, order["number"]))["status"] in ("allocated", "shipped")


async def _unshipped(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str) -> None:
    """Paid with us, no number, no shipment, and waiting for shipping on its marketplace."""
    order = await h.order(http, shop, order_id)
    assert (order["status"], order["number"], order["shipment_id"]) == ("paid", None, None), order
    resp = await http.get(f"{h.shipping}/v1/shipments", params={"order_id": order_id}, headers=shop.headers)
    assert resp.json()["data"] == [], resp.text
    if order["channel"] != "own":
        assert await _marketplace_number(h, http, order) is None


async def _batch(h: Harness, http: httpx.AsyncClient, shop: Shop, batch_id: str) -> dict[str, Any]:
    """The finished batch with its items."""
    await h.wait_batch(http, shop, batch_id, within=90)
    resp = await http.get(f"{h.shipping}/v1/shipment-batches/{batch_id}", params={"limit": 1000}, headers=shop.headers)
    resp.raise_for_status()
    batch: dict[str, Any] = resp.json()
    return batch


# -- rules --------------------------------------------------------------------------------------------------


async def _rule(h: Harness, http: httpx.AsyncClient, shop: Shop, **body: Any) -> dict[str, Any]:
    resp = await http.post(f"{h.shipping}{RULES}", json={"carrier": "ZTO", **body}, headers=shop.headers)
    assert resp.status_code == 201, resp.text
    rule: dict[str, Any] = resp.json()
    return rule


async def _get_rule(h: Harness, http: httpx.AsyncClient, shop: Shop, rule_id: str) -> dict[str, Any]:
    resp = await http.get(f"{h.shipping}{RULES}/{rule_id}", headers=shop.headers)
    resp.raise_for_status()
    rule: dict[str, Any] = resp.json()
    return rule


async def _runs(h: Harness, http: httpx.AsyncClient, shop: Shop, rule_id: str) -> list[dict[str, Any]]:
    return await list_all(http, f"{h.shipping}{RULES}/{rule_id}/runs", shop.headers, limit=100)


async def _dry_run(h: Harness, http: httpx.AsyncClient, shop: Shop, rule_id: str) -> dict[str, Any]:
    resp = await http.post(f"{h.shipping}{RULES}/{rule_id}/dry-run", headers=shop.headers)
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


def _reasons(run: dict[str, Any]) -> dict[str, str]:
    return {s["order_id"]: s["reason"] for s in run["skipped_orders"]}


async def _between_sweeps() -> None:
    """The auto-ship sweep is a cron of the shipping worker at second 0 of every minute: the rules are set up
    well clear of it, so one sweep sees all of them or none."""
    second = time.time() % 60
    if not 3 <= second <= 45:
        await asyncio.sleep((63 - second) % 60)


async def _pause_all(h: Harness, http: httpx.AsyncClient, shop: Shop, rule_ids: list[str]) -> None:
    """Later sweeps read every shop with an active rule: this test's stop here."""
    for rule_id in rule_ids:
        resp = await http.patch(f"{h.shipping}{RULES}/{rule_id}", json={"active": False}, headers=shop.headers)
        assert resp.status_code == 200, resp.text


async def _weighed_jiangsu_trades(h: Harness, http: httpx.AsyncClient, shop: Shop) -> tuple[list[str], str, int]:
    """Taobao orders to 江苏 (the sandbox draws their weights) until the heaviest is strictly the heaviest: the
    others, the heaviest, and the weight of the next one (a ceiling the heaviest is over and the others not)."""
    ids = await _taobao(h, http, shop, 3, **TB_JIANGSU)
    for _ in range(6):
        weights = {o["id"]: o["weight_g"] for o in (await _orders(h, http, shop)).values() if o["id"] in ids}
        by_weight = sorted(ids, key=lambda i: weights[i])
        if weights[by_weight[-1]] > weights[by_weight[-2]]:
            return by_weight[:-1], by_weight[-1], weights[by_weight[-2]]
        ids += await _taobao(h, http, shop, 1, **TB_JIANGSU)
    raise AssertionError(f"no strictly heaviest trade among {weights}")


async def test_auto_ship_rules_ship_matching_orders_of_both_channels_and_say_why_they_left_the_rest(
    harness: Harness,
) -> None:
    h = harness
    async with h.client() as http:
        shop, stores, mall, _ = await h.two_store_shop(http, "自动发货店")
        # Orders first (the rules after), each sweep sees them all: oldest first is the order they were taken in.
        tb_match, tb_heavy, ceiling = await _weighed_jiangsu_trades(h, http, shop)
        pdd_match = await _pdd(h, http, shop, mall, 2, **PDD_JIANGSU)
        (tb_zhejiang,) = await _taobao(h, http, shop, state="浙江省", city="杭州市", district="西湖区")
        (pdd_guangdong,) = await _pdd(h, http, shop, mall, province="广东省", city="深圳市", town="南山区")
        (pdd_held,) = await _pdd(h, http, shop, mall, receiver_phone=BAD_MOBILE, **PDD_JIANGSU)
        own = (await _own(h, http, shop, receiver={**GOOD_RECEIVER, **TB_JIANGSU}))["id"]
        orders = await _orders(h, http, shop)
        assert orders[pdd_held]["held"] == "address_invalid", orders[pdd_held]
        assert {orders[i]["weight_g"] for i in pdd_match} == {1}  # Pinduoduo gives no weight: 1 g
        matching = sorted(tb_match + pdd_match, key=lambda i: (_at(orders[i]["created_at"]), i))
        left_over = matching[-1]  # the newest: beyond max_batch
        local = datetime.now(UTC8)
        later = {
            "from": (local + timedelta(hours=6)).strftime("%H:%M"),
            "to": (local + timedelta(hours=7)).strftime("%H:%M"),
        }

        await _between_sweeps()
        paused = await _rule(h, http, shop, name="暂停的兜底", priority=0, active=False, carrier="YTO")
        night = await _rule(h, http, shop, name="夜里才发", priority=5, conditions={"time_windows": [later]})
        jiangsu = await _rule(
            h,
            http,
            shop,
            name="江苏走中通",
            priority=10,
            conditions={
                "provinces": ["江苏"],
                "stores": [stores["taobao"]["id"], stores["pinduoduo"]["id"]],
                "weight_max_g": ceiling,
            },
            max_batch=len(matching) - 1,
        )
        grace = await _rule(
            h, http, shop, name="自有订单满一小时", priority=50, conditions={"stores": ["own"]}, min_age_minutes=60
        )
        rule_ids = [paused["id"], night["id"], jiangsu["id"], grace["id"]]
        try:
            # Were it active, the paused rule (tried first) would take every order that is not held.
            dry = await _dry_run(h, http, shop, paused["id"])
            assert (dry["running"], dry["skipped_by_reason"]) == (True, {"held": 1}), dry
            assert sorted(dry["order_ids"]) == sorted(set(orders) - {pdd_held})

            async def ran() -> dict[str, Any] | None:
                rule = await _get_rule(h, http, shop, jiangsu["id"])
                found: dict[str, Any] | None = rule["last_run"]
                return found

            run = await wait_for(ran, 90, "the 江苏 rule's first run", every=1.0)
            # At once, before the next minute's sweep could take the order left over: what the others would do.
            night_dry = await _dry_run(h, http, shop, night["id"])
            grace_dry = await _dry_run(h, http, shop, grace["id"])
            await _pause_all(h, http, shop, rule_ids)

            assert await _runs(h, http, shop, jiangsu["id"]) == [run]
            assert (run["carrier"], run["taken"], run["order_ids"]) == ("ZTO", len(matching) - 1, matching[:-1]), run
            skipped = {
                tb_zhejiang: "province_not_in_list",
                pdd_guangdong: "province_not_in_list",
                own: "store_not_in_list",
                pdd_held: "held",
                tb_heavy: "weight_out_of_range",
                left_over: "over_max_batch",
            }
            assert _reasons(run) == skipped, run
            assert (run["skipped"], run["skipped_by_reason"]) == (len(skipped), dict(Counter(skipped.values()))), run
            messages = {s["order_id"]: s["message"] for s in run["skipped_orders"]}
            assert "浙江省" in messages[tb_zhejiang], messages
            assert "广东省" in messages[pdd_guangdong], messages
            assert f"重量 {orders[tb_heavy]['weight_g']} 克" in messages[tb_heavy], messages
            assert "收件地址无效" in messages[pdd_held], messages

            # Outside its window a rule takes nothing and leaves its orders to the next rules.
            assert (night_dry["running"], night_dry["order_ids"]) == (False, []), night_dry
            assert night_dry["skipped_by_reason"] == {"held": 1, "outside_window": len(skipped) - 1}, night_dry
            # The own order waits its hour; the order left over is the 江苏 rule's, not this one's.
            assert (grace_dry["running"], grace_dry["order_ids"]) == (True, []), grace_dry
            grace_reasons = _reasons(grace_dry)
            assert (grace_reasons[own], grace_reasons[left_over], grace_reasons[pdd_held]) == (
                "too_young",
                "taken_by_rule",
                "held",
            ), grace_dry
            (by_rule,) = [s for s in grace_dry["skipped_orders"] if s["reason"] == "taken_by_rule"]
            assert by_rule["rule_id"] == jiangsu["id"]
            for i in (tb_zhejiang, pdd_guangdong, tb_heavy):
                assert grace_reasons[i] == "store_not_in_list"

            batch = await _batch(h, http, shop, run["batch_id"])
            assert (batch["carrier"], batch["total"], batch["done"], batch["failed"], batch["skipped"]) == (
                "ZTO",
                len(run["order_ids"]),
                len(run["order_ids"]),
                0,
                0,
            ), batch
            assert [i["order_id"] for i in batch["items"]] == run["order_ids"]
            shipped = set(run["order_ids"])
            assert shipped & set(tb_match), run  # both channels in the one batch
            assert shipped & set(pdd_match), run
            for order_id in run["order_ids"]:
                await _shipped_with_our_number(h, http, shop, order_id)
            for order_id in skipped:
                await _unshipped(h, http, shop, order_id)
            # Only the 江苏 rule ran: the paused one (YTO, tried first) and the two that took nothing have no run.
            for rule in (paused, night, grace):
                assert await _runs(h, http, shop, rule["id"]) == []
                assert (await _get_rule(h, http, shop, rule["id"]))["last_run"] is None
            listed = await list_all(http, f"{h.shipping}/v1/shipment-batches", shop.headers, limit=100)
            assert [b["id"] for b in listed] == [run["batch_id"]]
        finally:
            await _pause_all(h, http, shop, rule_ids)


# -- address checks ------------------------------------------------------------------------------------------


async def _alerts(h: Harness, http: httpx.AsyncClient, shop: Shop, **filters: str) -> list[dict[str, Any]]:
    return await list_all(http, f"{h.shipping}/v1/order-alerts", shop.headers, limit=1000, **filters)


def _problem(order: dict[str, Any]) -> str | None:
    """What the order's last address_invalid flag says (None: no such flag)."""
    found = [f["message"] for f in order["flags"] if f["kind"] == "address_invalid"]
    return found[-1] if found else None


async def _held_for(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str, message: str) -> None:
    """Held, flagged with exactly ``message``, one open address_invalid alert saying it; shipping it alone is a
    409 address_invalid with the reason, and leaves no shipment."""
    order = await h.order(http, shop, order_id)
    assert (order["status"], order["held"], _problem(order)) == ("paid", "address_invalid", message), order
    open_ = await _alerts(h, http, shop, order_id=order_id, kind="address_invalid", state="open")
    assert [a["message"] for a in open_] == [message], open_
    resp = await h.ship_response(http, shop, order_id)
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert (error["code"], error["details"]["held"], error["details"]["reason"]) == (
        "address_invalid",
        "address_invalid",
        message,
    ), error
    await _unshipped(h, http, shop, order_id)


async def _released(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str) -> None:
    order = await h.order(http, shop, order_id)
    assert (order["status"], order["held"]) == ("paid", None), order
    alerts = await _alerts(h, http, shop, order_id=order_id, kind="address_invalid")
    assert alerts, order
    assert {a["state"] for a in alerts} == {"resolved"}, alerts


async def test_a_bad_receiver_holds_the_order_with_what_is_wrong_until_it_is_fixed_then_it_ships(
    harness: Harness,
) -> None:
    h = harness
    async with h.client() as http:
        shop, _, mall, _ = await h.two_store_shop(http, "地址校验店")
        (tb_city,) = await _taobao(h, http, shop, state="江苏省", city="杭州市", district="西湖区")
        (tb_two,) = await _taobao(h, http, shop, state="火星", mobile="138****1234")
        (pdd_district,) = await _pdd(h, http, shop, mall, province="浙江省", city="宁波市", town="西湖区")
        (pdd_phone,) = await _pdd(h, http, shop, mall, receiver_phone=BAD_MOBILE)
        own = await _own(h, http, shop, receiver={**GOOD_RECEIVER, "city": "广州市"})
        tb_good, tb_moved = await _taobao(h, http, shop, 2)  # the sandbox's receivers pass
        (pdd_good,) = await _pdd(h, http, shop, mall)
        bad = {
            tb_city: "城市「杭州市」不属于「江苏省」",
            tb_two: "省份「火星」不是中国的省级行政区；电话「138****1234」被遮蔽（含 *），快递员无法联系收件人",
            pdd_district: "区县「西湖区」不属于「宁波市」（它在「杭州市」）",
            pdd_phone: f"手机号「{BAD_MOBILE}」无效（应为 1 开头的 11 位号码，第二位 3-9）",
            own["id"]: "区县「南山区」不属于「广州市」（它在「深圳市」）",
        }
        assert (own["held"], _problem(own)) == ("address_invalid", bad[own["id"]])  # the 201 says so already
        for order_id, message in bad.items():
            await _held_for(h, http, shop, order_id, message)
        for order_id in (tb_good, tb_moved, pdd_good):
            order = await h.order(http, shop, order_id)
            assert (order["held"], order["flags"]) == (None, []), order
        held = await h.orders_where(http, shop, held="true")
        assert sorted(o["id"] for o in held) == sorted(bad)
        not_held = await h.orders_where(http, shop, held="false")
        assert sorted(o["id"] for o in not_held) == sorted([tb_good, tb_moved, pdd_good])

        # A batch of held and good orders: the held ones skipped with the reason, the good ones shipped.
        resp = await http.post(
            f"{h.shipping}/v1/shipment-batches",
            json={"order_ids": [*bad, tb_good, pdd_good], "carrier": "ZTO"},
            headers=shop.headers,
        )
        assert resp.status_code == 202, resp.text
        batch = await _batch(h, http, shop, resp.json()["id"])
        assert (batch["done"], batch["failed"], batch["skipped"]) == (2, 0, len(bad)), batch
        items = {i["order_id"]: i for i in batch["items"]}
        for order_id, message in bad.items():
            item = items[order_id]
            assert (item["status"], item["message"], item["number"]) == (
                "skipped",
                f"address_invalid: {message}",
                None,
            ), item
            await _unshipped(h, http, shop, order_id)
        for order_id in (tb_good, pdd_good):
            assert items[order_id]["status"] == "shipped", items[order_id]
            await _shipped_with_our_number(h, http, shop, order_id)

        # On the marketplace: a receiver changed after intake holds its order, changed back releases it.
        moved = await h.order(http, shop, tb_moved)
        wrong = "区县「南山区」不属于「广州市」（它在「深圳市」）"
        for change, held_as in (
            ({"state": "广东省", "city": "广州市", "district": "南山区"}, "address_invalid"),
            ({"state": "广东省", "city": "深圳市", "district": "南山区"}, None),
        ):
            address = f"{h.sandbox}/control/marketplace/trades/{moved['external_id']}/address"
            (await http.post(address, json=change)).raise_for_status()

            async def changed(held_as: str | None = held_as, city: str = change["city"]) -> bool:
                order = await h.order(http, shop, tb_moved)
                return bool(order["receiver"]["city"] == city and order["held"] == held_as)

            await wait_for(changed, 30, f"order {tb_moved} held {held_as}", every=0.3)
            if held_as is not None:
                await _held_for(h, http, shop, tb_moved, wrong)
        await _released(h, http, shop, tb_moved)

        # Fixed over REST: released, its alert resolved, and it ships (a hold in flags stays as history).
        for order_id in bad:
            resp = await http.put(
                f"{h.shipping}/v1/orders/{order_id}/receiver", json=GOOD_RECEIVER, headers=shop.headers
            )
            assert resp.status_code == 200, resp.text
            assert (resp.json()["held"], resp.json()["receiver"]["city"]) == (None, "深圳市"), resp.text
            assert _problem(resp.json()) == bad[order_id]
            await _released(h, http, shop, order_id)
        for order_id in [*bad, tb_moved]:
            shipment = await h.ship(http, shop, order_id)
            await h.confirmed(http, shop, shipment["id"], within=60)
            await _shipped_with_our_number(h, http, shop, order_id)
        assert await h.orders_where(http, shop, held="true") == []


# -- ship-by deadlines ---------------------------------------------------------------------------------------


@contextmanager
def _worker_with(h: Harness, **env: str) -> Iterator[None]:
    """The shipping worker restarted with ``env``, and again without it afterwards."""
    h.env.update(env)
    try:
        h.restart("shipping-worker")
        yield
    finally:
        for name in env:
            h.env.pop(name, None)
        h.restart("shipping-worker")


def _kinds(alerts: list[dict[str, Any]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for a in alerts:
        found.setdefault(a["order_id"], set()).add(a["kind"])
    return found


async def test_orders_carry_their_ship_by_and_alerts_open_before_and_after_it(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop, _, mall, _ = await h.two_store_shop(http, "发货时限店")
        resp = await http.put(f"{h.shipping}/v1/settings", json={"late_to_ship_lead_minutes": 60}, headers=shop.headers)
        assert resp.status_code == 200, resp.text
        assert resp.json()["late_to_ship_lead_minutes"] == 60
        with _worker_with(h, SHIPPING_SHIP_BY_SWEEP_S="2"):
            (pdd_passing,) = await _pdd(h, http, shop, mall, ship_within_hours=0.005)  # 18 s
            (pdd_soon,) = await _pdd(h, http, shop, mall, ship_within_hours=0.5)
            (pdd_later,) = await _pdd(h, http, shop, mall, ship_within_hours=3)
            (pdd_default,) = await _pdd(h, http, shop, mall)
            taobao = await _taobao(h, http, shop, 2)
            now = datetime.now(UTC)
            given = (now + timedelta(hours=2)).astimezone(UTC8).replace(microsecond=0)
            own_given = (await _own(h, http, shop, ship_by=given.isoformat()))["id"]
            urgent = (now + timedelta(minutes=20)).astimezone(UTC8).replace(microsecond=0)
            own_urgent = (await _own(h, http, shop, ship_by=urgent.isoformat()))["id"]
            own_default = await _own(h, http, shop)
            orders = await _orders(h, http, shop)

            # Each channel's deadline.
            for order_id in (pdd_passing, pdd_soon, pdd_later, pdd_default):
                sn = orders[order_id]["external_id"]
                last_ship_time = _beijing((await h.pdd_order(http, sn))["last_ship_time"])
                assert _at(orders[order_id]["ship_by"]) == last_ship_time, (orders[order_id], last_ship_time)
            for order_id in taobao:
                paid = _beijing((await h.trade(http, orders[order_id]["external_id"]))["pay_time"])
                # pay_time is to the second, and the order was taken in just after it was paid.
                late_by = _at(orders[order_id]["ship_by"]) - (paid + DEFAULT_SHIP_BY)
                assert timedelta(0) <= late_by < timedelta(seconds=5), (orders[order_id], paid)
            assert _at(orders[own_given]["ship_by"]) == given
            # Creation is stamped in the same statement as the deadline's "now": within a moment of it.
            own_default_after = _at(own_default["ship_by"]) - _at(own_default["created_at"])
            assert abs(own_default_after - DEFAULT_SHIP_BY) < timedelta(seconds=2), own_default
            all_in = time.monotonic()

            # The sweep: ship_by_passed once the 18 s are over, late_to_ship on the last order due soon.
            async def opened() -> bool:
                passed = await _alerts(h, http, shop, order_id=pdd_passing, kind="ship_by_passed")
                late = await _alerts(h, http, shop, order_id=own_urgent, kind="late_to_ship")
                return bool(passed and late)

            await wait_for(opened, 60, "ship_by_passed and late_to_ship alerts", every=0.5)
            # At least two more sweeps (every 2 s) since the last order came in: none is left unswept.
            await asyncio.sleep(max(0.0, all_in + 5 - time.monotonic()))
            alerts = await _alerts(h, http, shop)
            kinds = _kinds(alerts)
            # It may have been warned about in its first 18 s too.
            passing = kinds.pop(pdd_passing)
            assert "ship_by_passed" in passing, alerts
            assert passing <= {"late_to_ship", "ship_by_passed"}, alerts
            # Due within the hour: late_to_ship; due in 2 h, 3 h or 48 h: nothing (the default 240 min would).
            assert kinds == {pdd_soon: {"late_to_ship"}, own_urgent: {"late_to_ship"}}, alerts
            late_ones = {a["order_id"]: a for a in alerts if a["kind"] == "late_to_ship"}
            for order_id in (pdd_soon, own_urgent):
                alert = late_ones[order_id]
                assert alert["state"] == "open", alert
                assert alert["message"].startswith(f"订单 {orders[order_id]['external_id']} 须在 "), alert
            (passed_alert,) = [a for a in alerts if a["kind"] == "ship_by_passed"]
            assert passed_alert["message"].startswith(f"订单 {orders[pdd_passing]['external_id']} 已超过发货时限")

            # Most urgent first, across pages; the filters keep the due ones, or the far ones.
            urgent_first = await list_all(http, f"{h.shipping}/v1/orders", shop.headers, limit=2, sort="ship_by")
            deadlines = [_at(o["ship_by"]) for o in urgent_first]
            assert len(urgent_first) == len(orders)
            assert deadlines == sorted(deadlines)
            assert [o["id"] for o in urgent_first[:5]] == [pdd_passing, own_urgent, pdd_soon, own_given, pdd_later]
            hour = (now + timedelta(minutes=61)).isoformat()
            within = await h.orders_where(http, shop, ship_by_before=hour, sort="ship_by")
            assert [o["id"] for o in within] == [pdd_passing, own_urgent, pdd_soon]
            far = await h.orders_where(http, shop, ship_by_after=(now + timedelta(hours=47)).isoformat())
            assert sorted(o["id"] for o in far) == sorted([pdd_default, *taobao, own_default["id"]])

            # Shipped, or cancelled: its alert resolves itself.
            shipped = await h.ship(http, shop, pdd_soon)
            await h.confirmed(http, shop, shipped["id"], within=60)
            cancelled = await http.post(f"{h.shipping}/v1/orders/{own_urgent}/cancel", headers=shop.headers)
            assert cancelled.status_code == 200, cancelled.text

            async def resolved() -> bool:
                for order_id in (pdd_soon, own_urgent):
                    found = await _alerts(h, http, shop, order_id=order_id, kind="late_to_ship")
                    if [a["state"] for a in found] != ["resolved"]:
                        return False
                return True

            await wait_for(resolved, 30, "late_to_ship alerts resolved", every=0.5)
            assert await _marketplace_number(h, http, orders[pdd_soon]) is not None
            still_open = await _alerts(h, http, shop, order_id=pdd_passing, kind="ship_by_passed", state="open")
            assert len(still_open) == 1  # not shipped: it stays


async def test_a_taobao_order_taken_in_late_ships_by_its_pay_time_plus_48_hours(harness: Harness) -> None:
    """Known bug, reported as an expected failure at its last step (a broken setup still fails the test)."""
    h = harness
    async with h.client() as http:
        shop = await h.create_shop(http, "迟到消息店")
        await h.taobao_store(http, shop)
        # Neither read of a paid trade answers: the grouped list call nor the single fetch it falls back to.
        await h.faults(http, error_rate={"taobao.trade.fullinfo.get": 1.0, "taobao.trades.sold.increment.get": 1.0})
        try:
            (tid,) = await h.paid_trades(http, shop, 1)
            # The paid message is answered 503 (the trade cannot be read) and delivered again, second after second.
            await asyncio.sleep(12)
            (message,) = (await http.get(f"{h.sandbox}/control/marketplace/messages", params={"tid": tid})).json()
            assert (message["delivered"], message["attempts"] > 1) == (False, True), message
        finally:
            await h.faults(http, error_rate={})
        (order_id,) = await h.orders_for(http, shop, [tid], within=60)
        order = await h.order(http, shop, order_id)
        paid = _beijing((await h.trade(http, tid))["pay_time"])
        late_by = _at(order["ship_by"]) - (paid + DEFAULT_SHIP_BY)
        # To the second: the deadline counts from the trade's pay_time, not from when the message got through.
        assert abs(late_by) < timedelta(seconds=1), (order, paid)
