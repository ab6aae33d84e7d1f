"""One process of the allocation race: N clients (real connections) allocate for a range of orders.

``python -m tests.integration.allocation_race DSN POOL_ID FIRST COUNT CLIENTS MODE OUT``; MODE is
``locked`` (the real statement) or ``unlocked`` (the statement with its row lock removed, to prove
the race check would catch a broken allocator). Writes ``[[order, number], ...]`` to OUT.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import asyncpg

from services.allocation.repository import statements
from services.allocation.repository.statements import AllocationStatements


async def _open_pool(dsn: str, clients: int, wait_s: float = 120.0) -> asyncpg.Pool:
    """All ``clients`` connections, open before the race starts.

    Whatever else shares this PostgreSQL (max_connections 100) can briefly hold enough connections that
    32 more do not fit: wait for the slots rather than fail, or race with fewer.
    """
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            return await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
        except asyncpg.TooManyConnectionsError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def race(dsn: str, pool_id: int, first: int, count: int, clients: int, mode: str) -> list[tuple[str, str]]:
    if mode == "unlocked":
        statements.ALLOCATE_ONE = statements.ALLOCATE_ONE.replace("FOR UPDATE SKIP LOCKED", "")
    pool = await _open_pool(dsn, clients)
    stmts = AllocationStatements(pool)
    orders = [f"race-{i}" for i in range(first, first + count)]
    results: list[tuple[str, str]] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for o in orders:
        queue.put_nowait(o)

    async def client() -> None:
        while not queue.empty():
            order = queue.get_nowait()
            row = await stmts.allocate_one(pool_id, order)
            if row is not None:
                results.append((order, row.number))

    await asyncio.gather(*(client() for _ in range(clients)))
    await pool.close()
    return results


if __name__ == "__main__":
    a = sys.argv[1:]
    found = asyncio.run(race(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5]))
    Path(a[6]).write_text(json.dumps(found))
