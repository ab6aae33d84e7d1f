"""Every sales channel end to end, over the real processes: one shop sells on Taobao, on Pinduoduo and in its own
web store, and each order ships where it came from.

- Pinduoduo: a mall of the sandbox bound as a store (the binding is proven by the sandbox's pdd.mall.info.get),
  its confirmed orders arrive as pushed messages (each delivered twice: one order each), ship in a batch with our
  numbers and ZTO's logistics_id, and a refund of an unshipped order cancels it.
- own: orders created over REST ship with no marketplace call at all.
- A refused Pinduoduo confirmation (a refund between ship and confirm; the platform down for every try) loses no
  number: it goes back to the pool.
- TMC: with shipping's worker consuming Taobao's message service and the sandbox delivering over it, paid trades
  become orders without any HTTP push, and each ships once.

Protocol facts the sandbox plays are cited in its modules (services/sandbox/pinduoduo/*, marketplace/tmc.py).
The ones asserted here: ZTO is logistics_id 115 (``{"code":"ZTO","available":1,"logistics_company":"中通快递",
"id":115}`` in a pdd.logistics.companies.get answer captured in public code); ``order_status`` 1 待发货,
2 已发货待签收 (lywzx/pdd-node-sdk packages/pdd-origin-api/src/dingDan/PddOrderInformationGet.ts); 52103
服务暂时不可用 is retryable (pdd-node-sdk packages/core/src/exceptions/pdd-response.exception.ts, as cited in
services/shipping/channels/pinduoduo/errors.py). 50003 for an order in after-sales is unconfirmed: the code
the sandbox and shipping agree on, no public source gives it.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Harness, Shop, wait_for

pytestmark = pytest.mark.e2e

PDD_ORDERS = 12
OWN_ORDERS = 4
TMC_TRADES = 6
ZTO_LOGISTICS_ID = 115  # 中通快递 in pdd.logistics.companies.get (see the module docstring)
CONFIRMATIONS = "waybill_marketplace_confirmations"
PDD_FAULTS_OFF = {
    "error_rate": {},
    "latency_ms": {},
    "rate_limit_rate": 0.0,
    "message_duplicate_rate": 0.0,
    "message_delay_rate": 0.0,
    "message_reorder_rate": 0.0,
    "message_drop_rate": 0.0,
    "message_bad_sign_rate": 0.0,
}
RECEIVER = {"name": "李四", "phone": "13900139000", "state": "江苏省", "city": "南京市", "address": "中山路 1 号"}


async def _confirmations(h: Harness, http: httpx.AsyncClient, channel: str, **labels: str) -> float:
    return await h.worker_counter(http, "shipping", CONFIRMATIONS, channel=channel, **labels)


async def _batch(h: Harness, http: httpx.AsyncClient, shop: Shop, order_ids: list[str]) -> list[dict[str, Any]]:
    """Ships the orders in one batch with ZTO; its items, each order's once it has finished."""
    resp = await http.post(
        f"{h.shipping}/v1/shipment-batches", json={"order_ids": order_ids, "carrier": "ZTO"}, headers=shop.headers
    )
    assert resp.status_code == 202, resp.text
    batch = await h.wait_batch(http, shop, resp.json()["id"], within=60)
    assert (batch["done"], batch["failed"], batch["skipped"]) == (len(order_ids), 0, 0), batch
    items: list[dict[str, Any]] = (
        await http.get(f"{h.shipping}/v1/shipment-batches/{batch['id']}", params={"limit": 1000}, headers=shop.headers)
    ).json()["items"]
    assert [i["order_id"] for i in items] == order_ids
    return items


async def _confirmed_once(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str) -> str:
    """The number of the order's one confirmed shipment (there must be exactly one)."""
    resp = await http.get(f"{h.shipping}/v1/shipments", params={"order_id": order_id}, headers=shop.headers)
    resp.raise_for_status()
    confirmed = [s["number"] for s in resp.json()["data"] if s["status"] == "confirmed"]
    assert len(confirmed) == 1, resp.json()
    number: str = confirmed[0]
    return number


async def _bind_pinduoduo(h: Harness, http: httpx.AsyncClient, shop: Shop) -> tuple[dict[str, Any], dict[str, Any]]:
    """The mall bound as a store, after showing that the binding is the sandbox's answer to pdd.mall.info.get."""
    mall = await h.pdd_mall(http, f"端到端拼多多{uuid.uuid4().hex[:6]}")
    forged = await h.bind_store(http, shop, "pinduoduo", "not-a-token-of-any-mall")
    assert forged.status_code == 422, forged.text
    assert forged.json()["error"]["code"] == "seller_not_verified"
    await h.pdd_faults(http, error_rate={"pdd.mall.info.get": 1.0})
    try:
        down = await h.bind_store(http, shop, "pinduoduo", mall["access_token"])
    finally:
        await h.pdd_faults(http, error_rate={})
    assert down.status_code == 503, down.text  # the platform could not say whose the token is: nothing bound
    claimed = await h.bind_store(http, shop, "pinduoduo", mall["access_token"], seller_id="1")
    assert claimed.status_code == 422, claimed.text  # the token is not mall 1's
    bound = await h.bind_store(http, shop, "pinduoduo", mall["access_token"], seller_id=str(mall["mall_id"]))
    assert bound.status_code == 201, bound.text
    store: dict[str, Any] = bound.json()
    assert (store["channel"], store["seller_id"], store["active"], store["token_set"]) == (
        "pinduoduo",
        str(mall["mall_id"]),
        True,
        True,
    )
    return mall, store


async def _pinduoduo_intake(
    h: Harness, http: httpx.AsyncClient, shop: Shop, mall: dict[str, Any], store: dict[str, Any]
) -> list[dict[str, Any]]:
    """Confirmed orders, each message delivered twice, become one order each with the store's id."""
    before = await h.pdd_message_stats(http)
    await h.pdd_faults(http, message_duplicate_rate=1.0, seed=7)
    try:
        sns = await h.pdd_orders(http, mall["mall_id"], PDD_ORDERS)
        wanted = set(sns)

        async def duplicated() -> bool:
            # A duplicate is sent right after the acknowledged delivery: wait until each one has been answered.
            messages = (await http.get(f"{h.sandbox}/control/pinduoduo/messages", params={"limit": 20_000})).json()
            mine = [m for m in messages if m["order_sn"] in wanted]
            return len(mine) == len(sns) and all(
                m["delivered"] and any(d["duplicate"] and d["result"] == "HTTP 200" for d in m["deliveries"])
                for m in mine
            )

        await wait_for(duplicated, 60, f"{len(sns)} Pinduoduo messages delivered twice")
    finally:
        await h.pdd_faults(http, message_duplicate_rate=0.0)
    after = await h.pdd_message_stats(http)
    assert after["duplicates"] - before["duplicates"] == len(sns)
    orders = await h.orders_where(http, shop, channel="pinduoduo")
    assert sorted(o["external_id"] for o in orders) == sorted(sns)  # one order per order_sn, none twice
    assert {(o["channel"], o["store_id"], o["status"]) for o in orders} == {("pinduoduo", store["id"], "paid")}
    by_sn = {o["external_id"]: o for o in orders}
    first = await h.pdd_order(http, sns[0])
    assert by_sn[sns[0]]["receiver"]["name"] == first["receiver_name"]  # read back with pdd.order.information.get
    return [by_sn[sn] for sn in sns]


async def _refund_cancels(h: Harness, http: httpx.AsyncClient, shop: Shop, order: dict[str, Any]) -> None:
    await h.pdd_refund(http, order["external_id"], agree=True)
    await h.order_becomes(http, shop, order["id"], "cancelled", within=30)


async def _own_orders(h: Harness, http: httpx.AsyncClient, shop: Shop, tag: str) -> list[dict[str, Any]]:
    orders = []
    for i in range(OWN_ORDERS):
        body = {"external_id": f"erp-{tag}-{i}", "receiver": RECEIVER, "weight_g": 600}
        resp = await http.post(f"{h.shipping}/v1/orders", json=body, headers=shop.headers)
        assert resp.status_code == 201, resp.text
        assert (resp.json()["channel"], resp.json()["store_id"]) == ("own", None)
        orders.append(resp.json())
    return orders


async def _ship_pinduoduo_and_own(
    h: Harness, http: httpx.AsyncClient, shop: Shop, pdd: list[dict[str, Any]], own: list[dict[str, Any]]
) -> None:
    """One batch of both channels: Pinduoduo's orders confirmed there with our numbers, the own ones nowhere."""
    counts = {c: await _confirmations(h, http, c) for c in ("taobao", "pinduoduo", "own")}
    items = await _batch(h, http, shop, [o["id"] for o in pdd + own])
    numbers = {i["order_id"]: i["number"] for i in items}
    assert len(set(numbers.values())) == len(items)
    for order in pdd:
        held = await h.pdd_order(http, order["external_id"])
        assert (held["order_status"], held["tracking_number"], held["logistics_id"]) == (
            2,
            numbers[order["id"]],
            ZTO_LOGISTICS_ID,
        ), held
        assert await _confirmed_once(h, http, shop, order["id"]) == numbers[order["id"]]
    for order in own:
        # Neither marketplace knows the order: a call about it would have been refused and the shipment failed.
        for path in (f"marketplace/trades/{order['external_id']}", f"pinduoduo/orders/{order['external_id']}"):
            assert (await http.get(f"{h.sandbox}/control/{path}")).status_code == 404
        assert await _confirmed_once(h, http, shop, order["id"]) == numbers[order["id"]]
    await h.waybills_become(http, shop, list(numbers.values()), "shipped", within=30)
    # Every confirmation went to its own channel, and none to another (the worker counts each answer).
    assert await _confirmations(h, http, "pinduoduo", outcome="success") - counts["pinduoduo"] == len(pdd)
    assert await _confirmations(h, http, "pinduoduo") - counts["pinduoduo"] == len(pdd)
    assert await _confirmations(h, http, "own") - counts["own"] == len(own)
    assert await _confirmations(h, http, "taobao") == counts["taobao"]


async def _paid_pdd_order(
    h: Harness, http: httpx.AsyncClient, shop: Shop, mall: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    (sn,) = await h.pdd_orders(http, mall["mall_id"], 1)
    await h.pdd_messages_delivered(http)
    (order,) = await h.orders_where(http, shop, external_id=sn)
    return sn, order


async def _ship_one(h: Harness, http: httpx.AsyncClient, shop: Shop, order_id: str) -> dict[str, Any]:
    shipment = await h.ship(http, shop, order_id)
    assert (await h.waybill(http, shop, shipment["number"]))["status"] == "allocated"
    return shipment


async def _number_back_in_pool(
    h: Harness, http: httpx.AsyncClient, shop: Shop, sn: str, order_id: str, shipment: dict[str, Any]
) -> dict[str, Any]:
    """The refused shipment failed, its unprinted number is available again and the order may ship anew."""
    failed = await h.settled(http, shop, shipment["id"], within=60)
    assert failed["status"] == "failed", failed
    # The release is a job the failure enqueues (release_number), run by the worker soon after.
    await h.waybills_become(http, shop, [shipment["number"]], "available", within=30)
    after = await h.order(http, shop, order_id)
    assert after["number"] is None, after
    held = await h.pdd_order(http, sn)
    assert (held["order_status"], held["tracking_number"]) == (1, "")  # never shipped on the platform
    return failed


async def _refused_confirmations(
    h: Harness, http: httpx.AsyncClient, shop: Shop, mall: dict[str, Any], tmc_url: str
) -> None:
    """A refund between ship and confirm (50003), then the platform answering 52103 to every try: both
    shipments fail and give their numbers back. The worker, stopped for the first, comes back with TMC on."""
    refunded_sn, refunded = await _paid_pdd_order(h, http, shop, mall)
    h.kill("shipping-worker")
    shipment = await _ship_one(h, http, shop, refunded["id"])
    await h.pdd_refund(http, refunded_sn, agree=False)  # the buyer asks: in after-sales, not shippable
    await h.pdd_messages_delivered(http)  # its message is read back, the order still open: nothing changes
    h.env["SHIPPING_TMC_URL"] = tmc_url
    h.start(["shipping-worker"])
    failed = await _number_back_in_pool(h, http, shop, refunded_sn, refunded["id"], shipment)
    assert failed["error_code"] == "50003", failed

    down_sn, down = await _paid_pdd_order(h, http, shop, mall)
    await h.pdd_faults(http, error_rate={"pdd.logistics.online.send": 1.0})
    try:
        shipment = await _ship_one(h, http, shop, down["id"])
        failed = await _number_back_in_pool(h, http, shop, down_sn, down["id"], shipment)
    finally:
        await h.pdd_faults(http, error_rate={})
    assert failed["error_code"] == "52103", failed
    assert failed["attempts"] > 1  # retried before giving up


async def _taobao_over_tmc(h: Harness, http: httpx.AsyncClient, shop: Shop, store: dict[str, Any]) -> None:
    """Paid trades delivered over TMC (none pushed) become the store's orders and each ships once."""

    async def consuming() -> dict[str, int] | None:
        stats = await h.tmc_stats(http)
        return stats if stats["consumers"] >= 1 else None

    await wait_for(consuming, 30, "shipping's worker connected to TMC")
    before = await h.tmc_stats(http)
    await h.message_delivery(http, mode="tmc")
    tids = await h.paid_trades(http, shop, TMC_TRADES)
    wanted = set(tids)

    async def arrived() -> list[dict[str, Any]] | None:
        found = [o for o in await h.orders_where(http, shop, channel="taobao") if o["external_id"] in wanted]
        return found if len(found) == len(tids) else None

    orders = await wait_for(arrived, 60, f"{len(tids)} orders over TMC", every=0.5)
    assert {(o["store_id"], o["status"]) for o in orders} == {(store["id"], "paid")}
    for tid in tids:
        (message,) = (await http.get(f"{h.sandbox}/control/marketplace/messages", params={"tid": tid})).json()
        assert (message["delivered"], message["last_result"]) == (True, "TMC: confirmed"), message
    after = await h.tmc_stats(http)
    assert after["sent"] - before["sent"] >= len(tids)
    assert after["confirmed"] - before["confirmed"] == len(tids)

    sent_before = await _confirmations(h, http, "taobao")
    by_tid = {o["external_id"]: o["id"] for o in orders}
    items = await _batch(h, http, shop, [by_tid[t] for t in tids])
    for tid, item in zip(tids, items, strict=True):
        trade = await h.trade(http, tid)
        assert (trade["status"], trade["shipping"]["out_sid"]) == ("WAIT_BUYER_CONFIRM_GOODS", item["number"])
        assert await _confirmed_once(h, http, shop, by_tid[tid]) == item["number"]
    # One call per trade: none was confirmed twice.
    assert await _confirmations(h, http, "taobao") - sent_before == len(tids)


async def test_one_shop_ships_its_taobao_pinduoduo_and_own_orders_each_on_its_channel(harness: Harness) -> None:
    h = harness
    tmc_url = f"ws://127.0.0.1:{h.ports.sandbox}/tmc"
    async with h.client() as http:
        shop = await h.create_shop(http, "三渠道店")
        await h.top_up(http, shop, 10_000_000)
        await h.buy(http, shop, "ZTO", "ZTO-1000")
        taobao = await h.taobao_store(http, shop)
        mall, pdd_store = await _bind_pinduoduo(h, http, shop)
        stores = (await http.get(f"{h.shipping}/v1/stores", headers=shop.headers)).json()["data"]
        assert sorted((s["channel"], s["id"]) for s in stores) == sorted(
            [("taobao", taobao["id"]), ("pinduoduo", pdd_store["id"])]
        )
        try:
            pdd = await _pinduoduo_intake(h, http, shop, mall, pdd_store)
            await _refund_cancels(h, http, shop, pdd[-1])
            own = await _own_orders(h, http, shop, uuid.uuid4().hex[:8])
            await _ship_pinduoduo_and_own(h, http, shop, pdd[:-1], own)
            await _refused_confirmations(h, http, shop, mall, tmc_url)
            await _taobao_over_tmc(h, http, shop, taobao)
        finally:
            # The shared system as the next test expects it: push delivery, no faults, no TMC consumer.
            await h.message_delivery(http, mode="push")
            await h.pdd_faults(http, **PDD_FAULTS_OFF)
            if h.env.pop("SHIPPING_TMC_URL", None) is not None or "shipping-worker" not in h.procs:
                h.restart("shipping-worker")
