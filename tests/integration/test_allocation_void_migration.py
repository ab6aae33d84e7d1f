"""Migration a0004 on data: each carrier's packages get their void-credit policy, purchases made before it get
their package's, and voided numbers become final in the database. And back (downgrade)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from alembic import command

from runtime.migrations import alembic_config, upgrade
from tests.support import Env, base_database_url, drop_database, recreate_database


@pytest.fixture
def database(env: Env) -> Iterator[str]:
    name = f"waybill_a0004_{os.getpid()}"
    url = asyncio.run(recreate_database(base_database_url(), name))
    yield url
    asyncio.run(drop_database(base_database_url(), name))


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def _rows(url: str, sql: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def _purchase(purchase_id: str, package_id: str, carrier: str) -> str:
    return (
        "INSERT INTO allocation.purchases (id, shop_id, pool_id, carrier, package_id, quantity, price_cents, "
        f"validity_days, idempotency_key, request_hash) SELECT '{purchase_id}', 's-1', p.id, '{carrier}', "
        f"'{package_id}', 1000, 1200000, 90, '{purchase_id}', 'h' FROM allocation.pools p WHERE p.carrier = "
        f"'{carrier}'"
    )


def test_policies_are_seeded_per_carrier_and_kept_by_earlier_purchases(database: str) -> None:
    upgrade("allocation", database, "a0003")
    asyncio.run(
        _execute(
            database,
            "INSERT INTO allocation.shops (id, name) VALUES ('s-1', 'shop')",
            "INSERT INTO allocation.pools (shop_id, carrier) VALUES ('s-1', 'SF'), ('s-1', 'ZTO')",
            _purchase("p-sf", "SF-1000", "SF"),
            _purchase("p-zto", "ZTO-1000", "ZTO"),
            "INSERT INTO allocation.waybills (number, carrier, pool_id, status, expires_at) "
            "SELECT 'SF1234567890123', 'SF', id, 4, now() FROM allocation.pools WHERE carrier = 'SF'",
        )
    )
    upgrade("allocation", database, "a0004")

    packages = asyncio.run(
        _rows(database, "SELECT carrier, void_credit_percent, void_fee_cents FROM allocation.carrier_packages")
    )
    policy = {p["carrier"]: (p["void_credit_percent"], p["void_fee_cents"]) for p in packages}
    assert policy == {
        **dict.fromkeys(["YTO", "ZTO", "STO", "YUNDA", "JT", "HTKY", "UC", "TTKDEX", "EMS", "EYB", "POSTB"], (100, 0)),
        "SF": (100, 50),
        "ZJS": (50, 0),
        "DBKD": (50, 0),
        "JD": (0, 0),
    }
    purchases = asyncio.run(
        _rows(
            database,
            "SELECT id, void_credit_percent, void_fee_cents, voids_credited, void_credited_cents "
            "FROM allocation.purchases ORDER BY id",
        )
    )
    assert [tuple(p.values()) for p in purchases] == [("p-sf", 100, 50, 0, 0), ("p-zto", 100, 0, 0, 0)]
    with pytest.raises(asyncpg.CheckViolationError):
        asyncio.run(_execute(database, "UPDATE allocation.waybills SET status = 0 WHERE number = 'SF1234567890123'"))

    command.downgrade(alembic_config("allocation", database), "a0003")
    # The trigger went with it, and so did the columns.
    asyncio.run(_execute(database, "UPDATE allocation.waybills SET status = 0 WHERE number = 'SF1234567890123'"))
    columns = asyncio.run(
        _rows(
            database,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'allocation' "
            "AND table_name = 'purchases' AND column_name LIKE 'void%'",
        )
    )
    assert columns == []
