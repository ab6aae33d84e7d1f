"""What must hold after every fault scenario, over the whole system (every shop the run created).

Through the APIs and the sandbox where they can tell, and read-only SQL where only the database can:
no waybill number on two orders; every order shipped at most once, on the channel it came from (Taobao or
Pinduoduo; the shop's own orders have no marketplace); every acknowledged marketplace message (of either
channel) and tracking push processed; every shop's ledger sums to its balance; every batch finished. Work the fault
interrupted may still be catching up (sweepers, redeliveries), so the checks wait until they hold or the
time is up, and then name what does not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.faults.system import FaultSystem

Check = Callable[[FaultSystem, httpx.AsyncClient], Awaitable[list[str]]]


async def numbers_on_one_order(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
    rows = await s.sql(
        "SELECT number, count(DISTINCT order_id) AS n FROM shipping.shipments "
        "WHERE status IN ('pending', 'confirming', 'confirmed') GROUP BY number HAVING count(DISTINCT order_id) > 1"
    )
    rows += await s.sql(
        "SELECT number, count(*) AS n FROM shipping.orders WHERE number IS NOT NULL GROUP BY number HAVING count(*) > 1"
    )
    problems = [f"number {r['number']} on {r['n']} orders" for r in rows]
    twice = await s.sql(
        "SELECT order_ref, count(*) AS n FROM allocation.waybills WHERE status IN (1, 2, 3) "
        "AND order_ref IS NOT NULL GROUP BY pool_id, order_ref HAVING count(*) > 1"
    )
    return problems + [f"order {r['order_ref']} holds {r['n']} live numbers" for r in twice]


async def marketplace_number(s: FaultSystem, http: httpx.AsyncClient, channel: str, external_id: str) -> str | None:
    """The number the order shipped with as its marketplace (the sandbox) holds it; None when not shipped."""
    if channel == "pinduoduo":
        order = (await http.get(f"{s.sandbox}/control/pinduoduo/orders/{external_id}")).json()
        return order.get("tracking_number") or None
    trade = (await http.get(f"{s.sandbox}/control/marketplace/trades/{external_id}")).json()
    out_sid: str | None = (trade.get("shipping") or {}).get("out_sid")
    return out_sid


async def shipped_at_most_once(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
    rows = await s.sql(
        "SELECT order_id, count(*) AS n FROM shipping.shipments WHERE status = 'confirmed' "
        "GROUP BY order_id HAVING count(*) > 1"
    )
    problems = [f"order {r['order_id']} has {r['n']} confirmed shipments" for r in rows]
    # The marketplace's side: each order we confirmed carries the number of our one confirmed shipment on the
    # channel it came from (the shop's own orders have no marketplace to ask).
    confirmed = await s.sql(
        "SELECT o.channel, o.external_id, s.number FROM shipping.shipments s "
        "JOIN shipping.orders o ON o.id = s.order_id WHERE s.status = 'confirmed' AND o.channel <> 'own'"
    )
    gate = asyncio.Semaphore(32)

    async def check(channel: str, external_id: str, number: str) -> None:
        async with gate:
            shipped = await marketplace_number(s, http, channel, external_id)
        if shipped != number:
            problems.append(f"{channel} order {external_id} shipped with {shipped}, ours says {number}")

    await asyncio.gather(*(check(r["channel"], r["external_id"], r["number"]) for r in confirmed))
    return problems


def marketplace_shipped_as_confirmed(shop_id: str) -> Check:
    """The reverse of shipped_at_most_once, for one shop: each of its marketplace orders that the marketplace
    shows shipped is one we confirmed, with that number. An accepted confirmation we took for failed would
    be a number used on a parcel that our side may give out again."""

    async def marketplace_shipped_as_confirmed(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
        rows = await s.sql(
            "SELECT o.channel, o.external_id, (SELECT s.number FROM shipping.shipments s WHERE s.order_id = o.id "
            "AND s.status = 'confirmed' LIMIT 1) AS number FROM shipping.orders o "
            "WHERE o.shop_id = $1 AND o.channel <> 'own'",
            shop_id,
        )
        gate = asyncio.Semaphore(32)
        problems: list[str] = []

        async def check(channel: str, external_id: str, ours: str | None) -> None:
            async with gate:
                shipped = await marketplace_number(s, http, channel, external_id)
            if shipped is not None and shipped != ours:
                problems.append(f"{channel} order {external_id} shipped with {shipped}, our confirmed one: {ours}")

        await asyncio.gather(*(check(r["channel"], r["external_id"], r["number"]) for r in rows))
        return problems

    return marketplace_shipped_as_confirmed


def numbers_accounted_for(shop_id: str) -> Check:
    """Nothing lost, for one shop that takes numbers only for its orders: every number allocation holds as
    allocated or printed belongs to one of its orders or open shipments, and every number allocation counts
    shipped is a confirmed shipment's (and the reverse)."""

    async def numbers_accounted_for(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
        stray = await s.sql(
            "SELECT w.number, w.status FROM allocation.waybills w JOIN allocation.pools p ON p.id = w.pool_id "
            "WHERE p.shop_id = $1 AND w.status IN (1, 2) "
            "AND NOT EXISTS (SELECT 1 FROM shipping.orders o WHERE o.shop_id = $1 AND o.number = w.number) "
            "AND NOT EXISTS (SELECT 1 FROM shipping.shipments s WHERE s.shop_id = $1 AND s.number = w.number "
            "AND s.status IN ('pending', 'confirming'))",
            shop_id,
        )
        problems = [f"number {r['number']} (status {r['status']}) held by no order: lost to the pool" for r in stray]
        mismatched = await s.sql(
            "SELECT coalesce(w.number, s.number) AS number, w.status FROM "
            "(SELECT w.number, w.status FROM allocation.waybills w JOIN allocation.pools p ON p.id = w.pool_id "
            "WHERE p.shop_id = $1 AND w.status = 3) w FULL JOIN "
            "(SELECT number FROM shipping.shipments WHERE shop_id = $1 AND status = 'confirmed') s "
            "ON s.number = w.number WHERE w.number IS NULL OR s.number IS NULL",
            shop_id,
        )
        problems += [
            f"number {r['number']}: "
            + (
                "shipped in allocation, no confirmed shipment"
                if r["status"]
                else "confirmed shipment, not shipped in allocation"
            )
            for r in mismatched
        ]
        return problems

    return numbers_accounted_for


async def messages_processed(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
    messages = (await http.get(f"{s.sandbox}/control/marketplace/messages", params={"limit": 20_000})).json()
    problems = await _acknowledged_stored(s, "taobao", messages, "tid", "topic", "taobao_trade_TradeBuyerPay")
    pdd = (await http.get(f"{s.sandbox}/control/pinduoduo/messages", params={"limit": 20_000})).json()
    return problems + await _acknowledged_stored(s, "pinduoduo", pdd, "order_sn", "type", "pdd_trade_TradeConfirmed")


async def _acknowledged_stored(
    s: FaultSystem, channel: str, messages: list[dict[str, Any]], order_key: str, topic_key: str, paid: str
) -> list[str]:
    """Every message of the channel that we acknowledged is stored and applied, and each paid one made an order."""
    acked = [str(m["id"]) for m in messages if m["delivered"]]
    rows = await s.sql(
        "SELECT id, outcome FROM shipping.marketplace_messages WHERE channel = $1 AND id = ANY($2::text[])",
        channel,
        acked,
    )
    stored = {r["id"]: r["outcome"] for r in rows}
    problems = [f"acknowledged {channel} message {mid} not stored" for mid in acked if mid not in stored]
    problems += [
        f"{channel} message {mid} stored but never applied" for mid, out in stored.items() if out == "received"
    ]
    paid_ids = {m[order_key] for m in messages if m["delivered"] and m[topic_key] == paid}
    have = {
        r["external_id"] for r in await s.sql("SELECT external_id FROM shipping.orders WHERE channel = $1", channel)
    }
    return problems + [f"paid {channel} order {oid} acknowledged but no order" for oid in sorted(paid_ids - have)]


async def pushes_processed(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
    rows = await s.sql("SELECT count(*) AS n FROM tracking.raw_pushes WHERE processed_at IS NULL")
    problems = [f"{rows[0]['n']} stored pushes not processed"] if rows[0]["n"] else []
    parcels = (await http.get(f"{s.sandbox}/control/tracking/parcels", params={"include_events": "false"})).json()
    stored = {
        r["number"]: r["n"]
        for r in await s.sql(
            "SELECT s.number, count(p.id) AS n FROM tracking.subscriptions s "
            "LEFT JOIN tracking.raw_pushes p ON p.subscription_id = s.id AND p.source = 'push' GROUP BY s.number"
        )
    }
    for parcel in parcels:
        # Distinct bodies: tracking keeps an identical body once (ON CONFLICT), however often it acknowledged it.
        acked = parcel["pushes"]["acked_distinct"]
        if acked > stored.get(parcel["number"], 0):
            problems.append(
                f"{parcel['number']}: {acked} distinct pushes acknowledged ({parcel['pushes']['acked']} in all), "
                f"{stored.get(parcel['number'], 0)} kept"
            )
    return problems


async def ledgers_balance(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
    rows = await s.sql(
        "SELECT s.id, s.balance_cents, coalesce(sum(l.amount_cents), 0) AS total "
        "FROM allocation.shops s LEFT JOIN allocation.ledger_entries l ON l.shop_id = s.id GROUP BY s.id"
    )
    return [
        f"shop {r['id']}: balance {r['balance_cents']}, ledger sums to {r['total']}"
        for r in rows
        if r["balance_cents"] != r["total"]
    ]


async def batches_finished(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
    rows = await s.sql(
        "SELECT b.id, count(i.seq) FILTER (WHERE i.status IN ('pending', 'shipping')) AS open "
        "FROM shipping.shipment_batches b LEFT JOIN shipping.batch_items i ON i.batch_id = b.id "
        "WHERE b.completed_at IS NULL GROUP BY b.id"
    )
    return [f"batch {r['id']} not finished ({r['open']} items open)" for r in rows]


async def outboxes_drained(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
    """Every job a committed transaction asked for has run (a job Redis lost is resent by the sweeper)."""
    problems = []
    for schema in ("allocation", "shipping", "tracking"):
        rows = await s.sql(f"SELECT function, count(*) AS n FROM {schema}.outbox GROUP BY function")
        problems += [f"{schema} outbox: {r['n']} {r['function']} jobs not run" for r in rows]
    return problems


async def outboxes_drained_but_finished_batch_runs(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
    """As outboxes_drained, except process_batch jobs of batches already finished. A SIGKILLed worker's
    running jobs stay "in progress" in arq until job_timeout + 10 s (3,610 s in shipping) and only then run
    again and leave the outbox; the batch resume cron finishes their batch long before, so what they would
    do is already done. The scenario reports how many there were."""
    problems = [p for p in await outboxes_drained(s, http) if "process_batch" not in p]
    unfinished = await batch_jobs(s, finished=False)
    return problems + (
        [f"shipping outbox: {unfinished} process_batch jobs of unfinished batches"] if unfinished else []
    )


async def batch_jobs(s: FaultSystem, *, finished: bool) -> int:
    """process_batch jobs still in the outbox, of finished batches or of the others."""
    rows = await s.sql(
        "SELECT count(*) AS n FROM shipping.outbox o LEFT JOIN shipping.shipment_batches b "
        "ON b.id = o.kwargs->>'batch_id' WHERE o.function = 'process_batch' "
        "AND (b.completed_at IS NOT NULL) = $1",
        finished,
    )
    return int(rows[0]["n"])


ALL: list[Check] = [
    numbers_on_one_order,
    shipped_at_most_once,
    messages_processed,
    pushes_processed,
    ledgers_balance,
    batches_finished,
    outboxes_drained,
]


async def violations(s: FaultSystem, http: httpx.AsyncClient, checks: list[Check] = ALL) -> list[str]:
    found: list[str] = []
    for check in checks:
        found += [f"{check.__name__}: {p}" for p in await check(s, http)]
    return found


AFTER_WORKER_KILL: list[Check] = [
    *(c for c in ALL if c is not outboxes_drained),
    outboxes_drained_but_finished_batch_runs,
]


async def assert_invariants(s: FaultSystem, within: float = 180.0, checks: list[Check] = ALL) -> float:
    """Wait until every invariant holds (catch-up work included); returns the seconds it took."""
    t0 = time.monotonic()
    last: list[str] = []
    async with s.client() as http:
        while True:
            last = await violations(s, http, checks)
            if not last:
                return round(time.monotonic() - t0, 1)
            if time.monotonic() - t0 > within:
                break
            await asyncio.sleep(2)
    raise AssertionError(f"{len(last)} invariant violations after {within:.0f} s:\n" + "\n".join(last[:30]))
