"""What must hold after every fault scenario, over the whole system (every shop the run created).

Through the APIs and the sandbox where they can tell, and read-only SQL where only the database can:
no waybill number on two live parcels (of two orders, or two boxes of one); no line of an order confirmed
twice, every confirmed shipment's live parcels on the marketplace the order came from (Taobao or Pinduoduo;
the shop's own orders have no marketplace); every acknowledged marketplace message (of either channel) and
tracking push processed; every shop's ledger sums to its balance, and every void is credited at most once, only
when the courier cancelled the number; every batch finished. Work the fault interrupted may still be catching
up (sweepers, redeliveries), so the checks wait until they hold or the time is up, and then name what does not.

A shipment is one or more parcels (shipping.parcels), each with its own number; an order ships in one or more
shipments, each carrying some of its lines (shipping.shipment_lines). Live shipments are pending, confirming,
held or confirmed; a live parcel is one its shipment still holds (not released, not voided).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.faults.system import FaultSystem

Check = Callable[[FaultSystem, httpx.AsyncClient], Awaitable[list[str]]]


LIVE_SHIPMENTS = "('pending', 'confirming', 'held', 'confirmed')"
OPEN_SHIPMENTS = "('pending', 'confirming', 'held')"


async def numbers_on_one_order(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
    """No number on two live parcels, two orders, or two of allocation's order references; a live parcel only on
    a live shipment, and every live shipment's main number one of its live parcels."""
    rows = await s.sql(
        "SELECT number, count(*) AS parcels, count(DISTINCT order_id) AS n FROM shipping.parcels "
        "WHERE status = 'live' GROUP BY number HAVING count(*) > 1"
    )
    problems = [f"number {r['number']} on {r['parcels']} live parcels of {r['n']} order(s)" for r in rows]
    rows = await s.sql(
        "SELECT number, count(*) AS n FROM shipping.orders WHERE number IS NOT NULL GROUP BY number HAVING count(*) > 1"
    )
    problems += [f"number {r['number']} on {r['n']} orders" for r in rows]
    rows = await s.sql(
        "SELECT p.number, s.id, s.status FROM shipping.parcels p JOIN shipping.shipments s ON s.id = p.shipment_id "
        f"WHERE p.status = 'live' AND s.status NOT IN {LIVE_SHIPMENTS}"
    )
    problems += [f"number {r['number']}: a live parcel of {r['status']} shipment {r['id']}" for r in rows]
    rows = await s.sql(
        f"SELECT s.id, s.number FROM shipping.shipments s WHERE s.status IN {LIVE_SHIPMENTS} AND NOT EXISTS "
        "(SELECT 1 FROM shipping.parcels p WHERE p.shipment_id = s.id AND p.status = 'live' AND p.number = s.number)"
    )
    problems += [f"live shipment {r['id']}: its number {r['number']} is no live parcel's" for r in rows]
    twice = await s.sql(
        "SELECT order_ref, count(*) AS n FROM allocation.waybills WHERE status IN (1, 2, 3) "
        "AND order_ref IS NOT NULL GROUP BY pool_id, order_ref HAVING count(*) > 1"
    )
    return problems + [f"order reference {r['order_ref']} holds {r['n']} live numbers" for r in twice]


async def marketplace_numbers(
    s: FaultSystem, http: httpx.AsyncClient, channel: str, external_id: str
) -> tuple[set[str], set[str]]:
    """The numbers the order's marketplace (the sandbox) holds: those that must be live parcels of our confirmed
    shipments, and those that need only have been ours. Taobao: every package of every consignment (a resend
    replaces a consignment's packages, freeing the old numbers). Pinduoduo: the order's number, then its extra
    numbers (分包发货), which the platform never removes (a change of numbers leaves the old ones there)."""
    if channel == "pinduoduo":
        order = (await http.get(f"{s.sandbox}/control/pinduoduo/orders/{external_id}")).json()
        extra = {t["tracking_number"] for t in order.get("extra_delivery_list") or [] if t.get("tracking_number")}
        main = order.get("tracking_number") or None
        return ({main} if main else set()), extra
    trade = (await http.get(f"{s.sandbox}/control/marketplace/trades/{external_id}")).json()
    return {p["out_sid"] for c in trade.get("consignments") or [] for p in c["packages"]}, set()


async def shipped_at_most_once(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
    """No line of an order on two confirmed shipments (nor two live ones); each line's live flag as its
    shipment's status says; and each confirmed shipment's live parcels on the marketplace the order came from."""
    rows = await s.sql(
        "SELECT l.order_id, l.line, count(*) AS n FROM shipping.shipment_lines l "
        "JOIN shipping.shipments s ON s.id = l.shipment_id WHERE s.status = 'confirmed' "
        "GROUP BY l.order_id, l.line HAVING count(*) > 1"
    )
    problems = [f"order {r['order_id']} line {r['line']} on {r['n']} confirmed shipments" for r in rows]
    rows = await s.sql(
        "SELECT order_id, line, count(*) AS n FROM shipping.shipment_lines WHERE live "
        "GROUP BY order_id, line HAVING count(*) > 1"
    )
    problems += [f"order {r['order_id']} line {r['line']} on {r['n']} live shipments" for r in rows]
    rows = await s.sql(
        "SELECT l.order_id, l.line, l.live, s.id, s.status FROM shipping.shipment_lines l "
        f"JOIN shipping.shipments s ON s.id = l.shipment_id WHERE l.live <> (s.status IN {LIVE_SHIPMENTS})"
    )
    problems += [
        f"order {r['order_id']} line {r['line']}: live={r['live']} on {r['status']} shipment {r['id']}" for r in rows
    ]
    rows = await s.sql(
        f"SELECT s.id, s.order_id FROM shipping.shipments s WHERE s.status IN {LIVE_SHIPMENTS} "
        "AND NOT EXISTS (SELECT 1 FROM shipping.shipment_lines l WHERE l.shipment_id = s.id)"
    )
    problems += [f"live shipment {r['id']} of order {r['order_id']} carries no line" for r in rows]
    # The marketplace's side: each order we confirmed holds every live parcel's number of its confirmed shipments,
    # on the channel it came from (the shop's own orders have no marketplace to ask).
    confirmed = await s.sql(
        "SELECT o.channel, o.external_id, array_agg(p.number ORDER BY p.number) AS numbers "
        "FROM shipping.shipments s JOIN shipping.orders o ON o.id = s.order_id "
        "JOIN shipping.parcels p ON p.shipment_id = s.id AND p.status = 'live' "
        "WHERE s.status = 'confirmed' AND o.channel <> 'own' GROUP BY o.channel, o.external_id"
    )
    gate = asyncio.Semaphore(32)

    async def check(channel: str, external_id: str, numbers: list[str]) -> None:
        async with gate:
            strict, loose = await marketplace_numbers(s, http, channel, external_id)
        missing = [n for n in numbers if n not in strict | loose]
        if missing:
            problems.append(
                f"{channel} order {external_id} holds {sorted(strict | loose)}, ours says {numbers} (missing {missing})"
            )

    await asyncio.gather(*(check(r["channel"], r["external_id"], list(r["numbers"])) for r in confirmed))
    return problems


def marketplace_shipped_as_confirmed(shop_id: str) -> Check:
    """The reverse of shipped_at_most_once, for one shop: each number one of its marketplace orders shipped with
    (as the marketplace shows it) is a live parcel of one of its confirmed shipments (a Pinduoduo extra number: a
    parcel of the order, live or given up since). An accepted confirmation we took for failed would be a number
    used on a parcel that our side may give out again."""

    async def marketplace_shipped_as_confirmed(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
        rows = await s.sql(
            "SELECT o.id, o.channel, o.external_id, "
            "array(SELECT p.number FROM shipping.parcels p JOIN shipping.shipments s ON s.id = p.shipment_id "
            "      WHERE p.order_id = o.id AND p.status = 'live' AND s.status = 'confirmed') AS live, "
            "array(SELECT p.number FROM shipping.parcels p WHERE p.order_id = o.id) AS every "
            "FROM shipping.orders o WHERE o.shop_id = $1 AND o.channel <> 'own'",
            shop_id,
        )
        gate = asyncio.Semaphore(32)
        problems: list[str] = []

        async def check(channel: str, external_id: str, live: set[str], every: set[str]) -> None:
            async with gate:
                strict, loose = await marketplace_numbers(s, http, channel, external_id)
            stray = sorted((strict - live) | (loose - every))
            if stray:
                problems.append(
                    f"{channel} order {external_id} shipped with {stray}, our confirmed live parcels: {sorted(live)}"
                )

        await asyncio.gather(*(check(r["channel"], r["external_id"], set(r["live"]), set(r["every"])) for r in rows))
        return problems

    return marketplace_shipped_as_confirmed


def numbers_accounted_for(shop_id: str) -> Check:
    """Nothing lost, for one shop that takes numbers only for its orders: every number allocation holds as
    allocated or printed is a live parcel's of one of its open shipments (or the number an order kept from a
    refused shipment), and the numbers allocation counts shipped are exactly the live parcels' of its confirmed
    shipments."""

    async def numbers_accounted_for(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
        stray = await s.sql(
            "SELECT w.number, w.status FROM allocation.waybills w JOIN allocation.pools p ON p.id = w.pool_id "
            "WHERE p.shop_id = $1 AND w.status IN (1, 2) "
            "AND NOT EXISTS (SELECT 1 FROM shipping.orders o WHERE o.shop_id = $1 AND o.number = w.number) "
            "AND NOT EXISTS (SELECT 1 FROM shipping.parcels l JOIN shipping.shipments s ON s.id = l.shipment_id "
            f"WHERE l.shop_id = $1 AND l.number = w.number AND l.status = 'live' AND s.status IN {OPEN_SHIPMENTS})",
            shop_id,
        )
        problems = [f"number {r['number']} (status {r['status']}) held by no parcel: lost to the pool" for r in stray]
        mismatched = await s.sql(
            "SELECT coalesce(w.number, l.number) AS number, w.status FROM "
            "(SELECT w.number, w.status FROM allocation.waybills w JOIN allocation.pools p ON p.id = w.pool_id "
            "WHERE p.shop_id = $1 AND w.status = 3) w FULL JOIN "
            "(SELECT l.number FROM shipping.parcels l JOIN shipping.shipments s ON s.id = l.shipment_id "
            "WHERE l.shop_id = $1 AND l.status = 'live' AND s.status = 'confirmed') l "
            "ON l.number = w.number WHERE w.number IS NULL OR l.number IS NULL",
            shop_id,
        )
        problems += [
            f"number {r['number']}: "
            + (
                "shipped in allocation, no live parcel of a confirmed shipment"
                if r["status"]
                else "a live parcel of a confirmed shipment, not shipped in allocation"
            )
            for r in mismatched
        ]
        return problems

    return numbers_accounted_for


async def voids_credited_once(s: FaultSystem, _: httpx.AsyncClient) -> list[str]:
    """Every void (回收单号) credited at most once, and only by the courier's cancellation: a settled void's
    credit is the one void_credit ledger entry naming its number (none when the courier had collected the parcel,
    refused, or was not asked); a pending void has no credit yet; no void credit names a number never voided."""
    rows = await s.sql(
        "SELECT v.shop_id, v.number, v.courier, v.credit_policy, v.credited_cents, count(l.id) AS credits, "
        "coalesce(sum(l.amount_cents), 0) AS credited FROM allocation.waybill_voids v "
        "LEFT JOIN allocation.ledger_entries l ON l.shop_id = v.shop_id AND l.kind = 'void_credit' "
        "AND l.note LIKE 'void credit: number ' || v.number || ',%' "
        "GROUP BY v.id, v.shop_id, v.number, v.courier, v.credit_policy, v.credited_cents"
    )
    problems = []
    for r in rows:
        if r["courier"] == "discarded" and r["credit_policy"] == "full" and r["credited_cents"] == 0:
            problems.append(f"void of {r['number']} (shop {r['shop_id']}): cancelled under policy full, not credited")
        owed = r["courier"] == "discarded" and r["credited_cents"] > 0
        if r["credits"] != (1 if owed else 0) or r["credited"] != r["credited_cents"]:
            problems.append(
                f"void of {r['number']} (shop {r['shop_id']}, courier {r['courier']}): credited {r['credits']} "
                f"time(s), {r['credited']} cents; the void says {r['credited_cents']}"
            )
    stray = await s.sql(
        "SELECT l.shop_id, l.note FROM allocation.ledger_entries l WHERE l.kind = 'void_credit' AND NOT EXISTS "
        "(SELECT 1 FROM allocation.waybill_voids v WHERE v.shop_id = l.shop_id "
        "AND l.note LIKE 'void credit: number ' || v.number || ',%')"
    )
    return problems + [f"shop {r['shop_id']}: a void credit for no void ({r['note']})" for r in stray]


def voids_agree_with_couriers(shop_id: str) -> Check:
    """For one shop: every void settled, with the courier's answer its number's state at the courier (the sandbox)
    says: cancelled (discarded) or collected; credited only when cancelled."""

    async def voids_agree_with_couriers(s: FaultSystem, http: httpx.AsyncClient) -> list[str]:
        rows = await s.sql(
            "SELECT number, courier, credited_cents FROM allocation.waybill_voids WHERE shop_id = $1", shop_id
        )
        gate = asyncio.Semaphore(32)
        problems: list[str] = []

        async def check(number: str, courier: str, credited: int) -> None:
            if courier == "pending":
                problems.append(f"void of {number} not answered by the courier yet")
                return
            async with gate:
                state = (await http.get(f"{s.sandbox}/control/courier/numbers/{number}")).json().get("state")
            expected = {"discarded": "discarded", "collected": "collected"}.get(courier)
            if state != expected:
                problems.append(f"void of {number}: courier outcome {courier}, the courier's number is {state}")
            if credited and courier != "discarded":
                problems.append(f"void of {number}: credited {credited} cents though the courier said {courier}")

        await asyncio.gather(*(check(r["number"], r["courier"], r["credited_cents"]) for r in rows))
        return problems

    return voids_agree_with_couriers


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
    running jobs stay "in progress" in arq until job_timeout + 10 s (610 s in shipping) and only then run
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
    voids_credited_once,
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
