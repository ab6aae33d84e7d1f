"""Every ledger row says why: the database refuses a row without a note or of an unknown kind, and migration
a0006 gave the rows written before it their kind's words (a top-up; a purchase's package and count). And back."""

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

LEDGER = "INSERT INTO allocation.ledger_entries (shop_id, amount_cents, balance_after_cents, kind, reference, note) "


@pytest.fixture
def database(env: Env) -> Iterator[str]:
    name = f"waybill_a0006_{os.getpid()}"
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


def test_rows_before_a0006_get_their_reason_and_new_rows_must_say_one(database: str) -> None:
    upgrade("allocation", database, "a0005")
    asyncio.run(
        _execute(
            database,
            "INSERT INTO allocation.shops (id, name) VALUES ('s-1', 'shop')",
            "INSERT INTO allocation.pools (shop_id, carrier) VALUES ('s-1', 'ZTO')",
            "INSERT INTO allocation.purchases (id, shop_id, pool_id, carrier, package_id, quantity, price_cents, "
            "validity_days, idempotency_key, request_hash) SELECT 'p-1', 's-1', id, 'ZTO', 'ZTO-1000', 1000, "
            "300000, 90, 'k', 'h' FROM allocation.pools",
            LEDGER + "VALUES ('s-1', 300000, 300000, 'topup', 'bank-1', NULL)",
            LEDGER + "VALUES ('s-1', -300000, 0, 'purchase', 'p-1', NULL)",
            LEDGER + "VALUES ('s-1', 600, 600, 'refund', 'p-1', '2 numbers never handed out')",
        )
    )
    upgrade("allocation", database, "head")

    rows = asyncio.run(_rows(database, "SELECT kind, note FROM allocation.ledger_entries ORDER BY id"))
    assert [(r["kind"], r["note"]) for r in rows] == [
        ("topup", "top-up by an operator"),
        ("purchase", "bought package ZTO-1000: 1000 numbers at the catalogue price"),
        ("refund", "2 numbers never handed out"),
    ]
    purchase = asyncio.run(_rows(database, "SELECT price_source, shop_price_id FROM allocation.purchases"))
    assert purchase == [{"price_source": "catalogue", "shop_price_id": None}]
    for refused, error in (
        (LEDGER + "VALUES ('s-1', 1, 1, 'topup', NULL, NULL)", asyncpg.exceptions.NotNullViolationError),
        (LEDGER + "VALUES ('s-1', 1, 1, 'topup', NULL, '')", asyncpg.exceptions.CheckViolationError),
        (LEDGER + "VALUES ('s-1', 1, 1, 'gift', NULL, 'why not')", asyncpg.exceptions.CheckViolationError),
    ):
        with pytest.raises(error):
            asyncio.run(_execute(database, refused))

    command.downgrade(alembic_config("allocation", database), "a0005")
    asyncio.run(_execute(database, LEDGER + "VALUES ('s-1', 1, 1, 'topup', NULL, NULL)"))
