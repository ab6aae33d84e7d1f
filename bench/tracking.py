"""Tracking ingestion benchmark, beside a bare FastAPI endpoint that parses the same form and does one Redis
LPUSH, at the same concurrency: signed Kuaidi100 pushes acknowledged per second (closed loop, two workers
processing meanwhile), processed end to end by the two workers (acknowledged -> applied, load plus drain),
and paced open loop at half the reference's rate with the ack p99 of every second. Each figure is the median
of three runs (BENCH_TRACKING_SECONDS each, 15 by default), each run on pushes of its own, and every run
prints the CPU per push of each process (the API, each worker, the reference, the machine's PostgreSQL and
Redis): steadier than rates on a shared machine, where PostgreSQL's figure includes whatever else it serves.

``python -m bench tracking``. The reference app is ``bench.tracking:reference_app`` (REDIS_URL set).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import asyncpg
from fastapi import FastAPI, Request, Response

from bench.common import BenchDb, heading, row, seconds
from bench.cpu import RUNS, CpuUsed, measure, median_of, ratio_row
from bench.loadgen import LoadResult, build_form_request, run_requests
from bench.procs import process, uvicorn
from runtime.settings import to_asyncpg_dsn
from tests.support import ADMIN_KEY, INTERNAL_KEY

CONNECTIONS = 32
PARCELS = 4000
STEPS = 6
REF_PORT, OUR_PORT = 18201, 18202
CHINA = timezone(timedelta(hours=8))
ACK = b'{"result":true,"returnCode":"200","message":"ok"}'
LIST_KEY = "bench:tracking:pushes"

# -- the reference: parse the same form, one LPUSH --------------------------------------------------------

_ref: dict[str, Any] = {}


@asynccontextmanager
async def _ref_lifespan(_: FastAPI) -> AsyncIterator[None]:
    from redis.asyncio import Redis

    _ref["redis"] = Redis.from_url(os.environ["REDIS_URL"])
    yield
    await _ref["redis"].aclose()


reference_app = FastAPI(lifespan=_ref_lifespan)


@reference_app.get("/healthz")
async def _healthz() -> dict[str, str]:
    return {"status": "ok"}


@reference_app.post("/push")
async def _push(request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    await _ref["redis"].lpush(LIST_KEY, form["param"])
    return Response(ACK, media_type="application/json")


# -- pushes -------------------------------------------------------------------------------------------------


def _number(i: int) -> str:
    return f"7{i:011d}"


def _param(number: str, start: datetime, upto: int, codes: list[int]) -> str:
    names = [("103", "揽收"), ("1002", "在途"), ("1002", "在途"), ("1001", "在途"), ("5", "派件"), ("301", "签收")]
    data = []
    for k in range(upto):
        at = (start + timedelta(hours=3 * (k + 1))).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        code, name = names[k]
        data.append(
            {
                "time": at,
                "ftime": at,
                "context": f"【杭州市】 快件第 {k} 站 {codes[k]:06d}",
                "status": name,
                "areaCode": "330100000000",
                "areaName": "浙江,杭州市",
                "statusCode": code,
            }
        )
    data.reverse()
    final = upto == STEPS
    last = {
        "message": "ok",
        "state": names[upto - 1][0],
        "status": "200",
        "condition": "00",
        "ischeck": "1" if final else "0",
        "com": "zhongtong",
        "nu": number,
        "data": data,
    }
    body = {"status": "shutdown" if final else "polling", "billstatus": "polling", "message": "", "lastResult": last}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _bodies(salts: list[str], journey: int = 0, start: datetime | None = None) -> list[bytes]:
    """Every parcel's pushes (full history each time), interleaved across parcels as real traffic is.
    ``journey`` picks another set of events (later times, other codes): pushes no earlier run has stored.
    ``start``: when the journeys begin (the run passes the last day's, as live pushes report recent events;
    events weeks old would have the workers' alert scan open and resolve an alert per parcel meanwhile)."""
    start = (start or datetime(2026, 11, 20, tzinfo=UTC)) + timedelta(minutes=7 * journey)
    histories: list[list[str]] = []
    for i, _salt in enumerate(salts):
        # One journey per parcel: each push repeats the earlier events word for word, as the provider does.
        rng = random.Random(i + journey * len(salts))
        codes = [rng.randrange(10**6) for _ in range(STEPS)]
        histories.append([_param(_number(i), start, upto, codes) for upto in range(1, STEPS + 1)])
    bodies = []
    for upto in range(STEPS):
        for i, salt in enumerate(salts):
            param = histories[i][upto]
            sign = hashlib.md5((param + salt).encode()).hexdigest().upper()
            bodies.append(urlencode({"param": param, "sign": sign}).encode())
    return bodies


def _requests(port: int, path: str, bodies: list[bytes]) -> list[bytes]:
    return [build_form_request("127.0.0.1", port, path, b) for b in bodies]


def _load(port: int, path: str, bodies: list[bytes], duration: float, rate: float | None = None) -> LoadResult:
    """The same prebuilt pushes, in the same order, at the same concurrency for the reference and for us;
    as fast as they go, or paced open loop at ``rate`` per second."""
    return run_requests(
        "127.0.0.1",
        port,
        _requests(port, path, bodies),
        connections=CONNECTIONS,
        seconds=duration,
        check=lambda status, payload: status == 200 and payload == ACK,
        rate=rate,
    )


# -- the run ------------------------------------------------------------------------------------------------


async def _seed(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        salts = [hashlib.sha1(f"salt-{i}".encode()).hexdigest()[:32] for i in range(PARCELS)]
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "subscriptions",
            schema_name="tracking",
            columns=[
                "shop_id",
                "order_id",
                "carrier",
                "number",
                "salt",
                "shipped_at",
                "provider_state",
                "subscribed_at",
            ],
            records=[
                ("bench-shop", f"o-{i}", "ZTO", _number(i), salts[i], now, "subscribed", now) for i in range(PARCELS)
            ],
        )
        await conn.execute("ANALYZE tracking.subscriptions")
        return salts
    finally:
        await conn.close()


async def _counts(dsn: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        r = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM tracking.raw_pushes) AS pushes,"
            " (SELECT count(*) FROM tracking.raw_pushes WHERE processed_at IS NULL) AS waiting,"
            " (SELECT count(*) FROM tracking.events) AS events"
        )
        assert r is not None
        return int(r["pushes"]), int(r["waiting"]), int(r["events"])
    finally:
        await conn.close()


async def _flushdb() -> None:
    from redis.asyncio import Redis

    r = Redis.from_url(os.environ["REDIS_URL"])
    await r.delete(LIST_KEY)
    await r.aclose()


def _report(label: str, res: LoadResult, cpu: CpuUsed | None = None) -> None:
    errors = f", errors {res.errors}" if res.errors else ""
    row(
        label,
        f"{res.rate:,.0f} pushes/s",
        f"p50 {res.percentile(0.5) * 1000:.1f} ms, p99 {res.percentile(0.99) * 1000:.1f} ms{errors}",
    )
    if cpu is not None:
        row("", "", cpu.text(res.requests, "push"))


async def _wait_processed(dsn: str, max_s: float) -> float:
    """Seconds until no push is waiting (or ``max_s``)."""
    start = time.perf_counter()
    while time.perf_counter() - start < max_s:
        _, waiting, _ = await _counts(dsn)
        if waiting == 0:
            break
        await asyncio.sleep(0.1)
    return time.perf_counter() - start


@dataclass
class _Ours:
    """One run of ours: the load, what it cost, and the pushes it brought to processed."""

    load: LoadResult
    cpu: CpuUsed
    processed: int
    total_s: float
    drain_s: float

    @property
    def processed_per_s(self) -> float:
        return self.processed / self.total_s if self.total_s else 0.0

    @property
    def worst_p99(self) -> float:
        return max(self.load.percentile_per_second(0.99), default=0.0)


def _run_ours(dsn: str, procs: dict[str, Any], bodies: list[bytes], duration: float, rate: float | None) -> _Ours:
    """Load, then wait until every push is processed; CPU of each process over both (the whole cost of a push)."""
    pushes, waiting, _ = asyncio.run(_counts(dsn))
    before = pushes - waiting
    t0 = time.perf_counter()
    with measure(procs) as cpu:
        load = _load(OUR_PORT, "/webhooks/tracking/kuaidi100", bodies, duration, rate)
        drain = asyncio.run(_wait_processed(dsn, 120))
    total_s = time.perf_counter() - t0
    pushes, waiting, _ = asyncio.run(_counts(dsn))
    return _Ours(load, cpu, pushes - waiting - before, total_s, drain)


def run(db: BenchDb) -> dict[str, float]:
    dsn = to_asyncpg_dsn(db.url)
    duration = seconds("BENCH_TRACKING_SECONDS", 15)
    env = {
        "DATABASE_URL": db.url,
        "WAYBILL_ADMIN_KEY": ADMIN_KEY,
        "WAYBILL_INTERNAL_KEY": INTERNAL_KEY,
        "WAYBILL_ENVIRONMENT": "test",
        "WAYBILL_LOG_LEVEL": "WARNING",
        "TRACKING_PORT": str(OUR_PORT),
        # No shipping service and no provider in this run: measure ingestion only.
        "TRACKING_NOTIFY_SHIPPING": "false",
        "TRACKING_POLL_QUIET_HOURS": "100000",
    }
    figures: dict[str, float] = {}
    heading("tracking ingestion")
    salts = asyncio.run(_seed(dsn))
    # Pushes of their own for every run: a push already stored is acknowledged but never processed again.
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=20)  # every event in the past day
    journeys = [_bodies(salts, journey=k, start=recent) for k in range(2 * RUNS + 1)]
    warm_up = journeys.pop()  # two seconds of pushes of their own before the measured runs, for both
    row(
        f"{PARCELS:,} subscribed parcels, {len(journeys[0]):,} distinct signed pushes a run",
        f"{CONNECTIONS} connections",
        f"{duration:.0f} s a run, median of {RUNS}",
    )

    def reference_once() -> tuple[LoadResult, CpuUsed]:
        with measure({"reference": server}) as cpu:
            res = _load(REF_PORT, "/push", journeys[0], duration)
        asyncio.run(_flushdb())
        return res, cpu

    with uvicorn("bench.tracking:reference_app", REF_PORT, env) as server:
        _load(REF_PORT, "/push", warm_up, 2.0)
        asyncio.run(_flushdb())
        (ref, ref_cpu), ref_runs = median_of(reference_once, lambda r: r[0].rate)
    _report("reference: bare FastAPI, parse form + one Redis LPUSH", ref, ref_cpu)

    worker = [sys.executable, "-m", "runtime.arq_worker", "services.tracking.tasks.WorkerSettings"]
    paced_rate = ref.rate / 2
    with ExitStack() as stack:
        server = stack.enter_context(uvicorn("services.tracking.main:app", OUR_PORT, env))
        procs: dict[str, Any] = {"api": server}
        for k in range(2):
            procs[f"worker{k + 1}"] = stack.enter_context(process(worker, env))
        time.sleep(1.0)  # workers up
        _run_ours(dsn, procs, warm_up, 2.0, None)  # connections, prepared statements and caches warm
        closed = iter(journeys[:RUNS])
        ours, ours_runs = median_of(lambda: _run_ours(dsn, procs, next(closed), duration, None), lambda r: r.load.rate)
        processed = next(r for r in ours_runs if r.processed_per_s == _median([r.processed_per_s for r in ours_runs]))
        # Half the reference's rate, paced open loop: the latency a provider sees while the workers keep up.
        paced_bodies = iter(journeys[RUNS:])
        paced, paced_runs = median_of(
            lambda: _run_ours(dsn, procs, next(paced_bodies), duration, paced_rate), lambda r: r.worst_p99
        )
    _report("ours: POST /webhooks/tracking/kuaidi100 (verify sign + store), 2 workers processing", ours.load, ours.cpu)
    figures["ack_ratio"] = ratio_row(
        "ours / reference, acknowledged pushes per second",
        ours.load.rate,
        ref.rate,
        1.2,
        [o.load.rate / r[0].rate for o, r in zip(ours_runs, ref_runs, strict=True)],
    )
    ref_api = ref_cpu.per_op_us(ref.requests).get("reference", 0.0)
    our_api = ours.cpu.per_op_us(ours.load.requests).get("api", 0.0)
    row("API process CPU per push, ours / reference", f"{our_api:,.0f} / {ref_api:,.0f} µs")
    row(
        "processed end to end by 2 workers (acked -> applied)",
        f"{processed.processed_per_s:,.0f} pushes/s",
        f"{processed.processed:,} pushes in {processed.total_s:.1f} s (load {processed.load.seconds:.1f} s"
        f" + drain {processed.drain_s:.1f} s)",
    )
    figures["processed_per_s"] = processed.processed_per_s
    figures["processed_ratio"] = ratio_row(
        "processed end to end / reference acknowledged",
        processed.processed_per_s,
        ref.rate,
        1.0,
        [o.processed_per_s / r[0].rate for o, r in zip(ours_runs, ref_runs, strict=True)],
    )
    _report(f"ours paced at {paced_rate:,.0f} pushes/s (half the reference), open loop", paced.load, paced.cpu)
    row("  ack p99 second by second (ms)", " ".join(f"{v * 1000:.0f}" for v in paced.load.percentile_per_second(0.99)))
    figures["paced_worst_p99_ms"] = paced.worst_p99 * 1000
    row(
        "  worst second's ack p99",
        f"{figures['paced_worst_p99_ms']:.1f} ms",
        f"target < 50 ms: {'met' if paced.worst_p99 < 0.05 else 'NOT MET'}"
        f" (runs {', '.join(f'{r.worst_p99 * 1000:.0f}' for r in paced_runs)} ms)",
    )
    row(
        "  processed end to end while paced",
        f"{paced.processed_per_s:,.0f} pushes/s",
        f"{paced.processed:,} pushes in {paced.total_s:.1f} s (drain {paced.drain_s:.1f} s)",
    )
    return figures


def _median(values: list[float]) -> float:
    return statistics.median_low(values)
