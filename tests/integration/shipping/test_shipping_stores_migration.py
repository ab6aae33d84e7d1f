"""Migration s0007: each shop's Taobao binding becomes its first store and its marketplace orders that store's;
orders created over REST become the shop's own; a marketplace order of a shop with no binding any more keeps
an inactive store; message ids become unique per channel. And back (downgrade)."""

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

ORDER = (
    "INSERT INTO shipping.orders (id, shop_id, external_id, source, status, receiver_name, receiver_phone, "
    "receiver_state, receiver_city, receiver_address, weight_g) "
    "VALUES ($1, $2, $3, $4, 'paid', 'n', '1', 's', 'c', 'a', 100)"
)


@pytest.fixture
def database(env: Env) -> Iterator[str]:
    name = f"waybill_s0007_{os.getpid()}"
    url = asyncio.run(recreate_database(base_database_url(), name))
    yield url
    asyncio.run(drop_database(base_database_url(), name))


async def _before(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO shipping.shop_settings (shop_id, seller_nick, session) VALUES ('s-1', '杭州小铺', 'sess-1')"
        )
        await conn.execute(ORDER, "ord_tb", "s-1", "3100000000000000001", "marketplace")
        await conn.execute(ORDER, "ord_rest", "s-1", "erp-0001", "api")
        await conn.execute(ORDER, "ord_gone", "s-2", "3100000000000000002", "marketplace")  # s-2: no binding
        await conn.execute(
            "INSERT INTO shipping.marketplace_messages (id, topic, user_nick, outcome, content) "
            "VALUES ('m1', 'taobao_trade_TradeBuyerPay', '杭州小铺', 'order_created', '{}')"
        )
    finally:
        await conn.close()


async def _rows(url: str, sql: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def test_the_taobao_binding_becomes_a_store_and_rest_orders_the_shops_own(database: str) -> None:
    upgrade("shipping", database, "s0006")
    asyncio.run(_before(database))
    upgrade("shipping", database, "s0007")
    stores = asyncio.run(_rows(database, "SELECT * FROM shipping.stores ORDER BY shop_id"))
    assert [(s["shop_id"], s["channel"], s["seller_id"], s["token"], s["active"]) for s in stores] == [
        ("s-1", "taobao", "杭州小铺", "sess-1", True),
        ("s-2", "taobao", "unbound:s-2", None, False),
    ]
    orders = asyncio.run(_rows(database, "SELECT id, channel, store_id FROM shipping.orders ORDER BY id"))
    by_id = {o["id"]: (o["channel"], o["store_id"]) for o in orders}
    assert by_id == {
        "ord_gone": ("taobao", stores[1]["id"]),
        "ord_rest": ("own", None),
        "ord_tb": ("taobao", stores[0]["id"]),
    }
    [message] = asyncio.run(_rows(database, "SELECT channel, id, seller_id FROM shipping.marketplace_messages"))
    assert message == {"channel": "taobao", "id": "m1", "seller_id": "杭州小铺"}

    command.downgrade(alembic_config("shipping", database), "s0006")
    [settings] = asyncio.run(_rows(database, "SELECT shop_id, seller_nick, session FROM shipping.shop_settings"))
    assert settings == {"shop_id": "s-1", "seller_nick": "杭州小铺", "session": "sess-1"}
