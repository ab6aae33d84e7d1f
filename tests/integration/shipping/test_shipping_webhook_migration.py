"""Migration s0005: delivery records written before it lose the remote text they kept (the endpoint's answer,
an exception quoting what the remote end sent); our own reasons are left as they are."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from runtime.migrations import upgrade
from tests.support import Env, base_database_url, drop_database, recreate_database

BEFORE_AND_AFTER = [
    ("HTTP 500: <html>internal admin panel: root password hunter2</html>", "HTTP 500"),
    ("HTTP 302: ", "HTTP 302"),
    ("RemoteProtocolError: illegal status line: bytearray(b'SSH-2.0-OpenSSH_9.2p1')", "RemoteProtocolError"),
    ("ConnectError: [Errno 111] Connection refused", "ConnectError"),
    ("HTTP 503", "HTTP 503"),
    ("refused: resolves to a private address", "refused: resolves to a private address"),
    ("timeout", "timeout"),
    (None, None),
]


@pytest.fixture
def database(env: Env) -> Iterator[str]:
    name = f"waybill_s0005_{os.getpid()}"
    url = asyncio.run(recreate_database(base_database_url(), name))
    yield url
    asyncio.run(drop_database(base_database_url(), name))


async def _insert_deliveries(url: str) -> dict[uuid.UUID, str | None]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO shipping.webhook_endpoints (id, shop_id, url, secret) VALUES ('whe_1', 's-1', 'x', 'y')"
        )
        expected = {}
        for before, after in BEFORE_AND_AFTER:
            delivery_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO shipping.webhook_deliveries (id, event_id, endpoint_id, shop_id, event_type, payload, "
                "status, last_error) VALUES ($1, $2, 'whe_1', 's-1', 'shipment.confirmed', '{}', 'failed', $3)",
                delivery_id,
                uuid.uuid4(),
                before,
            )
            expected[delivery_id] = after
        return expected
    finally:
        await conn.close()


async def _errors(url: str) -> dict[uuid.UUID, str | None]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id, last_error FROM shipping.webhook_deliveries")
    finally:
        await conn.close()
    return {r["id"]: r["last_error"] for r in rows}


def test_old_delivery_errors_lose_the_remote_text(database: str) -> None:
    upgrade("shipping", database, "s0004")
    expected = asyncio.run(_insert_deliveries(database))
    upgrade("shipping", database, "s0005")
    assert asyncio.run(_errors(database)) == expected
