"""Allocation benchmark: the raw statement, a bare FastAPI+asyncpg endpoint running it, and our
``POST /v1/allocations``, at the same concurrency on the same database; the same for batches; and
a sustained run whose last minute is compared with its first."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from bench.common import BenchDb, heading, row, seconds
from bench.loadgen import LoadResult, run_load
from bench.procs import process, uvicorn
from runtime.settings import to_asyncpg_dsn
from services.allocation.repository.statements import ALLOCATE_ONE, AllocationStatements, skip_reset
from tests.support import ADMIN_KEY, INTERNAL_KEY

HTTP_CONNECTIONS = 32
SQL_CLIENTS = 32
BATCH_CLIENTS = 8
BATCH_SIZE = 1000
REF_PORT, OUR_PORT = 18101, 18102


async def _seed(dsn: str, shop_id: str, carrier: str, count: int, prefix: int) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        pool_id = await conn.fetchval(
            "INSERT INTO allocation.pools (shop_id, carrier) VALUES ($1, $2) "
            "ON CONFLICT (shop_id, carrier) DO UPDATE SET carrier = EXCLUDED.carrier RETURNING id",
            shop_id,
            carrier,
        )
        base = datetime.now(UTC) + timedelta(days=30)
        # Spread expiries so "soonest first" has real ordering work to do.
        records = (
            (f"{prefix}{i:09d}", carrier, pool_id, 0, base + timedelta(minutes=i % 50_000)) for i in range(count)
        )
        await conn.copy_records_to_table(
            "waybills",
            schema_name="allocation",
            columns=["number", "carrier", "pool_id", "status", "expires_at"],
            records=records,
        )
        await conn.execute("VACUUM ANALYZE allocation.waybills")
        return int(pool_id)
    finally:
        await conn.close()


async def _vacuum(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM allocation.waybills")
    finally:
        await conn.close()


async def _raw_single(dsn: str, pool_id: int, duration: float) -> LoadResult:
    pool = await asyncpg.create_pool(dsn, min_size=SQL_CLIENTS, max_size=SQL_CLIENTS, reset=skip_reset)
    result = LoadResult()
    deadline = time.perf_counter() + duration
    counter = 0

    async def client() -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            counter += 1
            t0 = time.perf_counter()
            await pool.fetchrow(ALLOCATE_ONE, pool_id, f"raw-{counter}")
            result.latencies.append(time.perf_counter() - t0)
            result.requests += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(SQL_CLIENTS)))
    result.seconds = time.perf_counter() - start
    await pool.close()
    return result


async def _raw_batch(dsn: str, pool_id: int, duration: float) -> LoadResult:
    pool = await asyncpg.create_pool(dsn, min_size=BATCH_CLIENTS, max_size=BATCH_CLIENTS, reset=skip_reset)
    stmts = AllocationStatements(pool)
    result = LoadResult()
    deadline = time.perf_counter() + duration
    counter = 0

    async def client() -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            counter += 1
            ids = [f"rawb-{counter}-{i}" for i in range(BATCH_SIZE)]
            t0 = time.perf_counter()
            rows = await stmts.allocate_batch(pool_id, ids)
            result.latencies.append(time.perf_counter() - t0)
            result.requests += len(rows)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(BATCH_CLIENTS)))
    result.seconds = time.perf_counter() - start
    await pool.close()
    return result


def _ok(status: int, _: bytes) -> bool:
    return status == 200


def _report(label: str, res: LoadResult, unit: str = "req/s") -> None:
    errors = f"errors {res.errors}" if res.errors else ""
    row(
        label,
        f"{res.rate:,.0f} {unit}",
        f"p50 {res.percentile(0.5) * 1000:.1f} ms, p99 {res.percentile(0.99) * 1000:.1f} ms {errors}",
    )


def run(db: BenchDb) -> dict[str, float]:
    dsn = to_asyncpg_dsn(db.url)
    single_s = seconds("BENCH_SECONDS", 15)
    batch_s = seconds("BENCH_BATCH_SECONDS", 6)
    sustained_s = seconds("BENCH_SUSTAINED_SECONDS", 300)
    env = {
        "DATABASE_URL": db.url,
        "WAYBILL_ADMIN_KEY": ADMIN_KEY,
        "WAYBILL_INTERNAL_KEY": INTERNAL_KEY,
        "WAYBILL_ENVIRONMENT": "test",
        "WAYBILL_LOG_LEVEL": "WARNING",
        "ALLOCATION_PORT": str(OUR_PORT),
        "ALLOCATION_VACUUM_INTERVAL_S": "10",
    }
    figures: dict[str, float] = {}
    heading("allocation")
    with uvicorn("services.allocation.main:app", OUR_PORT, env):
        shop = httpx.post(
            f"http://127.0.0.1:{OUR_PORT}/v1/shops",
            json={"name": "bench"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ).json()
        t0 = time.perf_counter()
        single_pool = asyncio.run(_seed(dsn, shop["id"], "ZTO", 700_000, 78))
        batch_pool = asyncio.run(_seed(dsn, shop["id"], "YUNDA", 1_200_000, 31))
        row("seeded 1,900,000 free numbers", f"{time.perf_counter() - t0:.1f} s")
        auth = {"Authorization": f"Bearer {shop['api_key']}"}
        ref_env = {**env, "BENCH_DSN": dsn, "BENCH_POOL_ID": str(single_pool), "BENCH_BATCH_POOL_ID": str(batch_pool)}

        # -- single allocation -----------------------------------------------------------------
        raw = asyncio.run(_raw_single(dsn, single_pool, single_s))
        _report(f"raw statement, asyncpg, {SQL_CLIENTS} clients (no HTTP)", raw)
        asyncio.run(_vacuum(dsn))
        with uvicorn("bench.reference_app:app", REF_PORT, ref_env):
            ref = asyncio.run(
                run_load("127.0.0.1", REF_PORT, "/alloc", {}, lambda i: {"order_id": f"ref-{i}"},
                         connections=HTTP_CONNECTIONS, seconds=single_s, check=_ok)
            )  # fmt: skip
        _report(f"reference: bare FastAPI + asyncpg, {HTTP_CONNECTIONS} connections", ref)
        asyncio.run(_vacuum(dsn))
        ours = asyncio.run(
            run_load("127.0.0.1", OUR_PORT, "/v1/allocations", auth,
                     lambda i: {"carrier": "ZTO", "order_id": f"ours-{i}"},
                     connections=HTTP_CONNECTIONS, seconds=single_s, check=_ok)
        )  # fmt: skip
        _report(f"ours: POST /v1/allocations, {HTTP_CONNECTIONS} connections", ours)
        figures["single_ratio"] = ours.rate / ref.rate
        row("ours / reference endpoint", f"{figures['single_ratio']:.0%}", "target >= 90%")
        row("ours / raw statement", f"{ours.rate / raw.rate:.0%}")

        # -- batch allocation ------------------------------------------------------------------
        asyncio.run(_vacuum(dsn))
        raw_b = asyncio.run(_raw_batch(dsn, batch_pool, batch_s))
        _report(
            f"raw batch statements, asyncpg ({BATCH_SIZE}/batch, {BATCH_CLIENTS} clients, no HTTP)", raw_b, "numbers/s"
        )
        asyncio.run(_vacuum(dsn))
        counter = iter(range(10**9))

        def batch_body(i: int) -> dict[str, object]:
            n = next(counter)
            return {"carrier": "YUNDA", "order_ids": [f"ob-{n}-{k}" for k in range(BATCH_SIZE)]}

        ours_b = asyncio.run(
            run_load("127.0.0.1", OUR_PORT, "/v1/allocations/batch", auth, batch_body,
                     connections=BATCH_CLIENTS, seconds=batch_s, check=_ok)
        )  # fmt: skip
        ours_b.requests *= BATCH_SIZE
        _report(
            f"ours: POST /v1/allocations/batch ({BATCH_SIZE} orders, {BATCH_CLIENTS} connections)", ours_b, "numbers/s"
        )
        figures["batch_ratio"] = ours_b.rate / raw_b.rate
        row("ours / raw batch statement", f"{figures['batch_ratio']:.0%}", "target >= 50%")

        # -- sustained -------------------------------------------------------------------------
        asyncio.run(_vacuum(dsn))
        worker = [sys.executable, "-m", "runtime.arq_worker", "services.allocation.tasks.WorkerSettings"]
        with process(worker, env):
            sus = asyncio.run(
                run_load("127.0.0.1", OUR_PORT, "/v1/allocations", auth,
                         lambda i: {"carrier": "ZTO", "order_id": f"sus-{i}-{random.random()}"},
                         connections=HTTP_CONNECTIONS, seconds=sustained_s, check=_ok)
            )  # fmt: skip
        minute = min(60, int(sustained_s // 2))
        first = sum(sus.per_second_buckets[:minute]) / minute
        last = sum(sus.per_second_buckets[-minute:]) / minute
        figures["sustained_ratio"] = last / first if first else 0.0
        row(f"sustained {sustained_s:.0f} s: first {minute} s", f"{first:,.0f} req/s")
        row(f"sustained {sustained_s:.0f} s: last {minute} s", f"{last:,.0f} req/s", f"errors {sus.errors}")
        row("last / first", f"{figures['sustained_ratio']:.0%}", "target >= 80% (worker vacuums every 10 s)")
        for k, v in sorted(sus.statuses.items()):
            row(f"  status {k}", f"{v:,}")
    return figures
