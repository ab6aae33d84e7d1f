"""Helpers for tracking tests: journeys, signed pushes as the provider sends them, draining the batch
processor in-process."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx

from tests.support import INTERNAL_KEY, bearer

CHINA = timezone(timedelta(hours=8))
PROVIDER = "http://kuaidi100.test/kuaidi100"
SHIPPING = "http://shipping.test"
PUBLIC = "http://tracking.test"
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def shop_headers(shop_id: str) -> dict[str, str]:
    return bearer(INTERNAL_KEY, shop_id)


def zto_number() -> str:
    return "7" + "".join(random.choices("0123456789", k=11))


def sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode()).hexdigest().upper()


@dataclass
class Step:
    at: datetime
    context: str
    name: str  # the state's Chinese name
    code: str  # statusCode

    def view(self) -> dict[str, str]:
        stamp = self.at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "time": stamp,
            "ftime": stamp,
            "context": self.context,
            "status": self.name,
            "areaCode": "330100000000",
            "areaName": "浙江,杭州市",
            "statusCode": self.code,
        }


FINAL_CODES = frozenset({"3", "4", "301", "302", "303", "304"})
NORMAL = [
    ("已揽收", "揽收", "103"),
    ("快件离开营业部 已发往 转运中心", "在途", "1002"),
    ("快件已到达 转运中心", "在途", "1002"),
    ("快件已到达 派件营业部", "在途", "1001"),
    ("派件员 正在为您派件", "派件", "5"),
    ("快件已签收，签收人：本人", "签收", "301"),
]


@dataclass
class Journey:
    number: str
    com: str = "zhongtong"
    steps: list[Step] = field(default_factory=list)

    @classmethod
    def of(cls, number: str, kinds: list[tuple[str, str, str]], start: datetime = T0, hours: float = 3) -> Journey:
        steps = [
            Step(start + timedelta(hours=hours * (i + 1)), f"{ctx} #{i}", n, c) for i, (ctx, n, c) in enumerate(kinds)
        ]
        return cls(number, steps=steps)

    def param(self, upto: int | None = None, status: str | None = None, message: str = "") -> str:
        shown = self.steps[: len(self.steps) if upto is None else upto]
        final = bool(shown) and shown[-1].code in FINAL_CODES
        last = {
            "message": "ok",
            "state": shown[-1].code if shown else "0",
            "status": "200",
            "condition": "00",
            "ischeck": "1" if final else "0",
            "com": self.com,
            "nu": self.number,
            "data": [s.view() for s in reversed(shown)],
        }
        body = {
            "status": status or ("shutdown" if final else "polling"),
            "billstatus": "polling",
            "message": message,
            "autoCheck": "0",
            "comOld": "",
            "comNew": "",
            "lastResult": last,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


async def subscribe(
    client: httpx.AsyncClient,
    shop_id: str,
    number: str,
    *,
    order_id: str | None = None,
    carrier: str = "ZTO",
    shipped_at: datetime = T0,
    promised_days: int | None = 3,
) -> httpx.Response:
    body: dict[str, Any] = {
        "order_id": order_id or f"o-{number}",
        "carrier": carrier,
        "number": number,
        "shipped_at": shipped_at.isoformat(),
        "promised_days": promised_days,
    }
    return await client.post("/internal/v1/subscriptions", json=body, headers=shop_headers(shop_id))


async def salt_of(database_url: str, number: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return str(await conn.fetchval("SELECT salt FROM tracking.subscriptions WHERE number = $1", number))
    finally:
        await conn.close()


async def mark_subscribed(database_url: str, number: str, at: datetime = T0) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE tracking.subscriptions SET provider_state = 'subscribed', subscribed_at = $2 WHERE number = $1",
            number,
            at,
        )
    finally:
        await conn.close()


async def push(client: httpx.AsyncClient, param: str, salt: str, bad: bool = False) -> httpx.Response:
    return await client.post(
        "/webhooks/tracking/kuaidi100", data={"param": param, "sign": sign(param, salt + ("x" if bad else ""))}
    )


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
