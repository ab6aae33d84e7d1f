"""``make soak``: ten minutes of mixed load on the whole system at half of its measured capacity.

The real processes `make run` starts (through the e2e harness, on a database and Redis database of
their own) take three kinds of traffic at once: allocations (``POST /v1/allocations``), single
shipments (``POST /v1/orders/{id}/ship``), and the tracking provider's pushes that those shipments
cause (the sandbox runs their journeys on an accelerated clock). A two-minute closed-loop run measures
what the mix carries (its last minute: the first overstates it, before the shipments' follow-up work
piles up); the soak then paces requests open-loop at ``SOAK_LOAD`` (0.5) of that, measuring
each request's latency from the moment it was due (so a stall shows up as latency instead of hiding as
fewer requests). The tracking provider's pushes are timed by the sandbox (each acknowledged push's round
trip, drained every few seconds). Every minute it prints the rates, p99 per kind, errors and each process's
memory; at the end: errors (target 0), the worst minute's p99 of each kind against its target (allocations
50 ms, shipments 300 ms, pushes acknowledged 50 ms), the p99 spread across minutes (at most 3x), memory
growth per process from the first to the last minute (under 10%) and whether every push the sandbox sent
was processed.

Not a test and not in CI: ``SOAK_SECONDS`` (600) of load plus set-up takes about 15 minutes.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.common import BenchDb, bench_database, drop, heading, production_leases, row, stop_cleanly_on_sigterm
from bench.loadgen import _read_response, build_request
from tests.e2e.harness import Harness, Shop, wait_for
from tests.support import base_redis_url, empty_redis_db

CARRIERS = ("ZTO", "YTO", "YUNDA")
P99_SPREAD = 3.0  # "p99 stable minute to minute": the worst minute's p99 at most this many times the best
# The worst minute's p99 each kind must stay within (issue 20), in ms.
P99_TARGET_MS = {"allocations": 50.0, "shipments": 300.0, "pushes": 50.0}
PACKAGE = 20_000
ACCELERATION = 1200.0
ALLOC_CONNECTIONS, SHIP_CONNECTIONS = 16, 8


@dataclass
class Stream:
    """One kind of request: latencies and errors bucketed per minute."""

    name: str
    latencies: dict[int, list[float]] = field(default_factory=dict)
    errors: dict[int, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)

    def record(self, minute: int, latency: float, status: int, ok: bool) -> None:
        self.latencies.setdefault(minute, []).append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if not ok:
            self.errors[minute] = self.errors.get(minute, 0) + 1

    def p99(self, minute: int) -> float:
        values = sorted(self.latencies.get(minute, []))
        return values[min(len(values) - 1, int(len(values) * 0.99))] if values else math.nan

    def count(self, minute: int | None = None) -> int:
        if minute is None:
            return sum(len(v) for v in self.latencies.values())
        return len(self.latencies.get(minute, []))

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())


async def _paced(
    port: int,
    path_and_body: Callable[[int], tuple[str, dict[str, object]]],
    headers: dict[str, str],
    stream: Stream,
    *,
    rate: float | None,
    connections: int,
    seconds: float,
    ok: Callable[[int], bool],
) -> int:
    """Requests on keep-alive connections: paced at ``rate`` per second (open loop, latency counted from
    when each request was due), or as fast as the connections go when ``rate`` is None."""
    start = time.perf_counter()
    deadline = start + seconds
    seq = itertools.count()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                k = next(seq)
                due = start + k / rate if rate else time.perf_counter()
                if due >= deadline:
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                path, body = path_and_body(k)
                writer.write(build_request("127.0.0.1", port, path, headers, body))
                status, _ = await _read_response(reader)
                done = time.perf_counter()
                stream.record(int((done - start) // 60), done - due, status, ok(status))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return next(seq)


class Soak:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.orders: list[str] = []
        self.next_order = 0
        self.alloc_seq = itertools.count()

    def alloc_request(self, _: int) -> tuple[str, dict[str, object]]:
        n = next(self.alloc_seq)
        return "/v1/allocations", {"carrier": CARRIERS[n % len(CARRIERS)], "order_id": f"soak-{n}"}

    def ship_request(self, _: int) -> tuple[str, dict[str, object]]:
        if self.next_order >= len(self.orders):
            raise RuntimeError("the soak ran out of paid orders: raise the set-up's order count")
        order_id = self.orders[self.next_order]
        self.next_order += 1
        return f"/v1/orders/{order_id}/ship", {}

    async def stock(self, http: httpx.AsyncClient, shop: Shop, per_carrier: int) -> None:
        """At least ``per_carrier`` more numbers of every carrier (allocations rotate over the carriers and
        shipments all go to the recommended one, so each carrier must be able to take the whole demand)."""
        packages = max(1, math.ceil(per_carrier / PACKAGE))
        await self.h.top_up(http, shop, packages * len(CARRIERS) * 6_000_000)
        for carrier in CARRIERS:
            for _ in range(packages):
                await self.h.buy(http, shop, carrier, f"{carrier}-{PACKAGE}", within=300)

    async def add_orders(self, http: httpx.AsyncClient, shop: Shop, count: int) -> None:
        tids: list[str] = []
        for start in range(0, count, 5000):
            tids += await self.h.paid_trades(http, shop, min(5000, count - start))
        self.orders += await self.h.orders_for(http, shop, tids, within=900)

    async def mix(
        self, shop: Shop, alloc_rate: float | None, ship_rate: float | None, seconds: float
    ) -> tuple[Stream, Stream]:
        allocs, ships = Stream("allocations"), Stream("shipments")
        await asyncio.gather(
            _paced(self.h.ports.allocation, self.alloc_request, shop.headers, allocs, rate=alloc_rate,
                   connections=ALLOC_CONNECTIONS, seconds=seconds, ok=lambda s: s == 200),
            _paced(self.h.ports.shipping, self.ship_request, shop.headers, ships, rate=ship_rate,
                   connections=SHIP_CONNECTIONS, seconds=seconds, ok=lambda s: s in (200, 202)),
        )  # fmt: skip
        return allocs, ships


def _rss_mib(h: Harness) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, proc in h.procs.items():
        try:
            p = psutil.Process(proc.pid)
            out[name] = sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / 2**20
        except psutil.Error:
            continue
    return out


async def _sample(
    h: Harness, http: httpx.AsyncClient, seconds: float, samples: dict[int, dict[str, float]], pushes: Stream
) -> None:
    """Every 5 s: each process's memory (the last sample of a minute stands for it) and the pushes the
    sandbox had acknowledged since the last look, by the minute they were answered in."""
    start, wall_start = time.perf_counter(), time.time()

    async def drain() -> None:
        answer = await http.post(f"{h.sandbox}/control/tracking/push-latencies/drain")
        for at, took in answer.json()["latencies"]:
            if at >= wall_start:
                pushes.record(int((at - wall_start) // 60), took, 200, True)

    while (elapsed := time.perf_counter() - start) < seconds:
        samples[int(elapsed // 60)] = _rss_mib(h)
        await drain()
        await asyncio.sleep(5)
    await drain()


async def _soak(h: Harness) -> dict[str, float]:
    duration = float(os.environ.get("SOAK_SECONDS", 600))
    load = float(os.environ.get("SOAK_LOAD", 0.5))
    calibrate_s = max(120.0, float(os.environ.get("SOAK_CALIBRATE_SECONDS", 120)))
    soak = Soak(h)
    async with h.client(timeout=120) as http:
        t0 = time.perf_counter()
        shop = await h.ready_shop(http, ())
        await soak.stock(http, shop, 20_000)
        await soak.add_orders(http, shop, 8_000)
        row("set-up: shop, 60,000 numbers, 8,000 paid orders", f"{time.perf_counter() - t0:.0f} s")
        sandbox_clock = (await http.put(f"{h.sandbox}/control/clock", json={"acceleration": ACCELERATION})).json()
        await http.put(
            f"{h.tracking}/internal/v1/clock",
            json={"now": sandbox_clock["now"], "factor": ACCELERATION},
            headers={"Authorization": f"Bearer {h.admin_key}"},
        )

        # A shipment answers 202 long before its confirmation, handoff and pushes are done, so the first
        # minute of a closed loop overstates what the system sustains: the capacity is the last minute's rate,
        # with the work the earlier shipments started running beside it.
        allocs, ships = await soak.mix(shop, None, None, calibrate_s)
        last = int(calibrate_s // 60) - 1
        alloc_cap, ship_cap = allocs.count(last) / 60, ships.count(last) / 60
        row(
            f"capacity, closed loop {calibrate_s:.0f} s: allocations",
            f"{alloc_cap:,.0f} req/s",
            f"last minute; first minute {allocs.count(0) / 60:,.0f} req/s",
        )
        row(
            f"capacity, closed loop {calibrate_s:.0f} s: shipments (+ their pushes)",
            f"{ship_cap:,.0f} req/s",
            f"last minute; first minute {ships.count(0) / 60:,.0f} req/s",
        )
        alloc_rate, ship_rate = alloc_cap * load, ship_cap * load

        t0 = time.perf_counter()
        await soak.stock(http, shop, int((alloc_rate / len(CARRIERS) + ship_rate) * duration * 1.1) + 1)
        await soak.add_orders(http, shop, int(ship_rate * duration * 1.05) + 1)
        row(f"stock and orders for {duration:.0f} s at {load:.0%}", f"{time.perf_counter() - t0:.0f} s")

        heading(f"soak: {duration:.0f} s at {alloc_rate:,.0f} allocations/s + {ship_rate:,.0f} shipments/s")
        pushes0 = (await http.get(f"{h.sandbox}/control/tracking/stats")).json()["pushes"]
        memory: dict[int, dict[str, float]] = {}
        pushes = Stream("pushes")
        await http.post(f"{h.sandbox}/control/tracking/push-latencies/drain")  # the calibration's are not judged
        sampler = asyncio.create_task(_sample(h, http, duration, memory, pushes))
        allocs, ships = await soak.mix(shop, alloc_rate, ship_rate, duration)
        await sampler
        pushes1 = (await http.get(f"{h.sandbox}/control/tracking/stats")).json()["pushes"]

        minutes = sorted(set(allocs.latencies) | set(ships.latencies))
        print(
            f"  {'minute':>6} {'alloc/s':>8} {'p99 ms':>7} {'ship/s':>7} {'p99 ms':>7} {'push/s':>7} {'p99 ms':>7}"
            f" {'errors':>6}  RSS MiB"
        )
        for m in minutes:
            rss = " ".join(f"{k}={v:.0f}" for k, v in sorted(memory.get(m, {}).items()))
            print(
                f"  {m + 1:>6} {allocs.count(m) / 60:>8,.0f} {allocs.p99(m) * 1000:>7.1f} {ships.count(m) / 60:>7,.0f}"
                f" {ships.p99(m) * 1000:>7.1f} {pushes.count(m) / 60:>7,.0f} {pushes.p99(m) * 1000:>7.1f}"
                f" {allocs.errors.get(m, 0) + ships.errors.get(m, 0):>6}  {rss}",
                flush=True,
            )
        full = [m for m in minutes if allocs.count(m) and (m + 1) * 60 <= duration]
        errors = allocs.total_errors + ships.total_errors
        row("errors (target 0)", f"{errors:,}", f"statuses: allocations {allocs.statuses}, shipments {ships.statuses}")
        figures: dict[str, float] = {"errors": errors, "p99_spread": 0.0, "p99_over_target": 0.0}
        for s in (allocs, ships, pushes):
            p99s = [s.p99(m) * 1000 for m in full if s.count(m)]
            if p99s:
                spread = max(p99s) / min(p99s)
                target = P99_TARGET_MS[s.name]
                verdict = "met" if max(p99s) <= target else "NOT MET"
                row(
                    f"{s.name} p99 per minute, min / max",
                    f"{min(p99s):.1f} / {max(p99s):.1f} ms",
                    f"target <= {target:g} ms every minute: {verdict}; max / min {spread:.1f} (at most {P99_SPREAD:g})",
                )
                figures[f"{s.name}_p99_max_ms"] = max(p99s)
                figures["p99_spread"] = max(figures["p99_spread"], spread)
                figures["p99_over_target"] += max(p99s) > target
        if full:
            first, last_rss = memory.get(full[0], {}), memory.get(full[-1], {})
            worst = 0.0
            for name in sorted(first):
                if name in last_rss and first[name]:
                    growth = last_rss[name] / first[name] - 1
                    ours = name != "sandbox"
                    if ours:
                        worst = max(worst, growth)
                    note = "" if ours else " (the outside world's imitation keeps every journey; not judged)"
                    row(f"memory {name}", f"{first[name]:.0f} -> {last_rss[name]:.0f} MiB", f"{growth:+.1%}{note}")
            row("worst memory growth of our processes, minute 1 to last (target < 10%)", f"{worst:+.1%}")
            figures["memory_growth"] = worst

        # Pushes keep coming after the load stops (journeys run on); wait for the provider to have none pending.
        async def settled() -> dict[str, Any] | None:
            stats: dict[str, Any] = (await http.get(f"{h.sandbox}/control/tracking/stats")).json()
            return stats if stats["pushes_pending"] == 0 else None

        during = {k: pushes1[k] - pushes0.get(k, 0) for k in pushes1}
        row(
            f"tracking pushes acknowledged during the soak ({during['acked'] / duration:,.0f}/s)",
            f"{during['acked']:,}",
        )
        stats = await wait_for(settled, 300, "the tracking provider's pushes to be acknowledged", every=2.0)
        row("every push acknowledged afterwards (none pending)", f"{stats['pushes']['acked']:,}", f"{stats['pushes']}")
        figures["pushes_per_s"] = during["acked"] / duration
    return figures


def main() -> int:
    stop_cleanly_on_sigterm()
    db: BenchDb = bench_database("soak")
    production = production_leases()
    try:
        with empty_redis_db(base_redis_url()) as redis_url:
            h = Harness(db.url, redis_url, Path(tempfile.mkdtemp(prefix="waybill-soak-")), extra_env=production)
            heading("soak (whole system, real processes)")
            h.start()
            try:
                figures = asyncio.run(_soak(h))
            finally:
                h.stop()
    finally:
        drop(db)
    ok = (
        figures.get("errors", 1) == 0
        and figures.get("memory_growth", 1.0) < 0.10
        and figures.get("p99_spread", math.inf) <= P99_SPREAD
        and figures.get("p99_over_target", 1) == 0
    )
    print(f"\nsoak {'passed' if ok else 'FAILED'}; process logs in {h.log_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
