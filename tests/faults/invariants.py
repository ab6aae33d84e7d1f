"""What must hold after every fault scenario, over the whole system (every shop the run created).

Through the APIs and the sandbox where they can tell, and read-only SQL where only the database can:
no waybill number on two orders; every order shipped at most once; every acknowledged marketplace message
and tracking push processed; every shop's ledger sums to its balance; every batch finished. Work the fault
interrupted may still be catching up (sweepers, redeliveries), so the checks wait until they hold or the
time is up, and then name what does not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

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


async def shipped_at_most_once(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
    rows = await s.sql(
        "SELECT order_id, count(*) AS n FROM shipping.shipments WHERE status = 'confirmed' "
        "GROUP BY order_id HAVING count(*) > 1"
    )
    problems = [f"order {r['order_id']} has {r['n']} confirmed shipments" for r in rows]
    # The marketplace's side: each trade we confirmed carries the number of our one confirmed shipment.
    confirmed = await s.sql(
        "SELECT o.external_id, s.number FROM shipping.shipments s JOIN shipping.orders o ON o.id = s.order_id "
        "WHERE s.status = 'confirmed'"
    )
    gate = asyncio.Semaphore(32)

    async def check(tid: str, number: str) -> None:
        async with gate:
            trade = (await http.get(f"{s.sandbox}/control/marketplace/trades/{tid}")).json()
        out_sid = (trade.get("shipping") or {}).get("out_sid")
        if out_sid != number:
            problems.append(f"trade {tid} shipped with {out_sid}, ours says {number}")

    await asyncio.gather(*(check(r["external_id"], r["number"]) for r in confirmed))
    return problems


async def messages_processed(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
    messages = (await http.get(f"{s.sandbox}/control/marketplace/messages", params={"limit": 20_000})).json()
    acked = [m["id"] for m in messages if m["delivered"]]
    rows = await s.sql("SELECT id, outcome FROM shipping.marketplace_messages WHERE id = ANY($1::text[])", acked)
    stored = {r["id"]: r["outcome"] for r in rows}
    problems = [f"acknowledged message {mid} not stored" for mid in acked if mid not in stored]
    problems += [f"message {mid} stored but never applied" for mid, out in stored.items() if out == "received"]
    # Each paid trade that was acknowledged became an order.
    paid = {m["tid"] for m in messages if m["delivered"] and m["topic"] == "taobao_trade_TradeBuyerPay"}
    have = {r["external_id"] for r in await s.sql("SELECT external_id FROM shipping.orders")}
    problems += [f"paid trade {tid} acknowledged but no order" for tid in sorted(paid - have)]
    return problems


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
        acked = parcel["pushes"]["acked"]
        if acked > stored.get(parcel["number"], 0):
            problems.append(f"{parcel['number']}: {acked} pushes acknowledged, {stored.get(parcel['number'], 0)} kept")
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
