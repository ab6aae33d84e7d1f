"""The million-allocation race (part of ``make soak``): 1,000,000 single allocations by 64 racing clients
in two OS processes, spread over two allocation service processes on one database. Every response's
number is collected; at the end no number may appear twice, across responses and in the table, and
every order must hold exactly one number.

``python -m bench.race`` (``RACE_ALLOCATIONS``, default 1,000,000; ``RACE_CLIENTS``, default 64).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import orjson

from bench.allocation import _seed
from bench.common import bench_database, drop, heading, row, stop_cleanly_on_sigterm
from bench.loadgen import _read_response, build_request
from bench.procs import uvicorn
from runtime.settings import to_asyncpg_dsn
from tests.support import ADMIN_KEY, INTERNAL_KEY

PORTS = (18301, 18302)
CARRIER = "ZTO"


async def _clients(key: str, first: int, count: int, connections: int) -> list[tuple[str, str]]:
    """``connections`` keep-alive connections, alternating between the two service processes, allocate
    orders ``race-{first}`` .. ``race-{first + count - 1}``; returns (order, number) per success."""
    orders = iter(range(first, first + count))
    results: list[tuple[str, str]] = []
    failures: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {key}"}

    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in orders:
                order = f"race-{n}"
                writer.write(
                    build_request(
                        "127.0.0.1", port, "/v1/allocations", headers, {"carrier": CARRIER, "order_id": order}
                    )
                )
                status, body = await _read_response(reader)
                if status == 200:
                    results.append((order, orjson.loads(body)["number"]))
                else:
                    failures[status] += 1
        finally:
            writer.close()

    await asyncio.gather(*(client(PORTS[i % 2]) for i in range(connections)))
    if failures:
        print(f"  client process {os.getpid()}: non-200 responses {dict(failures)}", flush=True)
    return results


def client_main(argv: list[str]) -> int:
    key, first, count, connections, out = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), Path(argv[4])
    out.write_bytes(orjson.dumps(asyncio.run(_clients(key, first, count, connections))))
    return 0


async def _table_check(dsn: str) -> tuple[int, int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchrow(
            "SELECT count(*) AS rows, count(DISTINCT number) AS numbers, count(DISTINCT order_ref) AS orders, "
            "count(*) FILTER (WHERE order_ref IN (SELECT order_ref FROM allocation.waybills WHERE status <> 0 "
            "GROUP BY order_ref HAVING count(*) > 1)) AS doubled "
            "FROM allocation.waybills WHERE status <> 0"
        )
        assert found is not None
        return found["rows"], found["numbers"], found["orders"], found["doubled"]
    finally:
        await conn.close()


def main() -> int:
    stop_cleanly_on_sigterm()
    total = int(os.environ.get("RACE_ALLOCATIONS", 1_000_000))
    clients = int(os.environ.get("RACE_CLIENTS", 64))
    db = bench_database("race")
    dsn = to_asyncpg_dsn(db.url)
    env = {
        "DATABASE_URL": db.url,
        "WAYBILL_ADMIN_KEY": ADMIN_KEY,
        "WAYBILL_INTERNAL_KEY": INTERNAL_KEY,
        "WAYBILL_ENVIRONMENT": "test",
        "WAYBILL_LOG_LEVEL": "WARNING",
        "ALLOCATION_VACUUM_INTERVAL_S": "10",
    }
    heading(f"race: {total:,} allocations, {clients} clients in 2 processes, 2 allocation service processes")
    work = Path(tempfile.mkdtemp(prefix="waybill-race-"))
    try:
        with (
            uvicorn("services.allocation.main:app", PORTS[0], env),
            uvicorn("services.allocation.main:app", PORTS[1], env),
        ):
            admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
            shop = httpx.post(f"http://127.0.0.1:{PORTS[0]}/v1/shops", json={"name": "race"}, headers=admin).json()
            t0 = time.perf_counter()
            asyncio.run(_seed(dsn, shop["id"], CARRIER, total + total // 20, 78))
            row(f"seeded {total + total // 20:,} free numbers", f"{time.perf_counter() - t0:.1f} s")
            # The worker keeps the free-number index lean over a long run, as in production.
            worker = subprocess.Popen(
                [sys.executable, "-m", "runtime.arq_worker", "services.allocation.tasks.WorkerSettings"],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                half = total // 2
                t0 = time.perf_counter()
                procs = [
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "bench.race",
                            "client",
                            shop["api_key"],
                            str(first),
                            str(count),
                            str(clients // 2),
                            str(work / f"client-{i}.json"),
                        ],
                        env={**os.environ, "PYTHONPATH": os.getcwd()},
                    )
                    for i, (first, count) in enumerate([(0, half), (half, total - half)])
                ]
                codes = [p.wait() for p in procs]
                took = time.perf_counter() - t0
            finally:
                worker.terminate()
                worker.wait(10)
            if any(codes):
                print(f"  a client process failed: exit codes {codes}")
                return 1
        pairs = list(
            itertools.chain.from_iterable(orjson.loads((work / f"client-{i}.json").read_bytes()) for i in (0, 1))
        )
        numbers = Counter(number for _, number in pairs)
        duplicates = sum(c - 1 for c in numbers.values() if c > 1)
        rows, distinct_numbers, orders, doubled = asyncio.run(_table_check(dsn))
        row("allocations answered 200", f"{len(pairs):,}", f"of {total:,}")
        row("time", f"{took:.0f} s", f"{len(pairs) / took:,.0f} allocations/s")
        row("numbers handed out twice (responses)", f"{duplicates:,}", "target 0")
        row(
            "table: allocated rows / distinct numbers / distinct orders",
            f"{rows:,} / {distinct_numbers:,} / {orders:,}",
        )
        row("table: orders holding more than one number", f"{doubled:,}", "target 0")
        ok = len(pairs) == total and duplicates == 0 and doubled == 0 and rows == distinct_numbers == orders == total
        print(f"\nrace {'passed' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        drop(db)


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        raise SystemExit(client_main(sys.argv[2:]))
    raise SystemExit(main())
