"""Shipping's TMC consumer against the real sandbox app served by uvicorn: order messages over a WebSocket,
confirmed once stored, sent again when not, nothing lost across a dropped connection, a bad signature refused.

No database: ``handle`` records what arrives, as the intake would store it.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from runtime.backoff import Backoff
from services.sandbox.main import create_app
from services.sandbox.settings import SandboxSettings
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.tmc import TmcConsumer

APP_KEY = "sandbox-app"
APP_SECRET = "sandbox-secret"
REDELIVERY_S = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Sandbox:
    http: httpx.AsyncClient
    ws_url: str

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def paid_trades(self, count: int) -> list[str]:
        seller = await self.control("POST", "/control/marketplace/sellers", {"seller_nick": "tmc-shop"})
        body = {"seller_nick": seller["seller_nick"], "count": count, "paid": True}
        tids: list[str] = (await self.control("POST", "/control/marketplace/trades", body))["tids"]
        return tids

    async def tmc_stats(self) -> dict[str, int]:
        stats: dict[str, int] = await self.control("GET", "/control/marketplace/messages/tmc")
        return stats


@asynccontextmanager
async def sandbox(**delivery: Any) -> AsyncIterator[Sandbox]:
    # Pushes go nowhere: in tmc mode nothing is pushed, and a push would show as a failed attempt.
    app = create_app(
        SandboxSettings(
            marketplace_webhook_url="http://127.0.0.1:9/unused",
            # Few push workers: each opens an HTTP client, and a world with 64 of them takes seconds to stop.
            message_concurrency=2,
            tracking_push_concurrency=1,
        )
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            box = Sandbox(http, f"ws://127.0.0.1:{port}/tmc")
            config = {"mode": "tmc", "tmc_redelivery_s": REDELIVERY_S, **delivery}
            await box.control("PUT", "/control/marketplace/messages/delivery", config)
            yield box
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@dataclass
class Recorder:
    """A handle: records every message; ``refuse_first`` ids answer False the first time they come."""

    refuse_first: set[str] = field(default_factory=set)
    seen: list[protocol.Message] = field(default_factory=list)

    async def __call__(self, message: protocol.Message) -> bool:
        self.seen.append(message)
        if message.tid in self.refuse_first:
            self.refuse_first.discard(message.tid)
            return False
        return True

    def counts(self) -> Counter[str]:
        return Counter(m.id for m in self.seen)

    def tids(self) -> set[str]:
        return {m.tid for m in self.seen if m.tid}


@asynccontextmanager
async def consuming(url: str, handle: Recorder, secret: str = APP_SECRET) -> AsyncIterator[TmcConsumer]:
    consumer = TmcConsumer(
        url,
        APP_KEY,
        secret,
        "default",
        handle,
        pull_interval_s=0.2,
        backoff=Backoff(base_s=0.05, cap_s=0.2),
    )
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 15)


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_messages_arrive_and_confirmed_ones_never_come_again() -> None:
    async with sandbox() as box:
        tids = await box.paid_trades(3)  # published before anyone listens: they wait for a consumer
        handle = Recorder()
        async with consuming(box.ws_url, handle) as consumer:

            async def all_confirmed() -> bool:
                return (await box.tmc_stats())["confirmed"] == 3

            await until(all_confirmed)
            await asyncio.sleep(REDELIVERY_S * 4)  # time enough for any repeat
        assert handle.tids() == set(tids)
        assert all(n == 1 for n in handle.counts().values()), handle.counts()
        assert {m.topic for m in handle.seen} == {protocol.TOPIC_PAID}
        assert all(m.user_nick == "tmc-shop" and m.content["tid"] == m.tid for m in handle.seen)
        stats = await box.tmc_stats()
        assert stats["redelivered"] == 0
        assert stats["in_flight"] == 0
        assert consumer.connections == 1
        delivered = await box.control("GET", "/control/marketplace/messages/stats")
        assert delivered["delivered"] == 3
        assert delivered["pending"] == 0


async def test_a_message_handle_declined_is_delivered_again() -> None:
    async with sandbox() as box:
        refused, kept = await box.paid_trades(2)
        handle = Recorder(refuse_first={refused})
        async with consuming(box.ws_url, handle):

            async def both_confirmed() -> bool:
                return (await box.tmc_stats())["confirmed"] == 2

            await until(both_confirmed)
        by_tid = Counter(m.tid for m in handle.seen)
        assert by_tid[refused] == 2, "declined once, so sent again"
        assert by_tid[kept] == 1
        assert (await box.tmc_stats())["redelivered"] == 1


async def test_a_dropped_connection_is_followed_by_a_reconnect_and_nothing_is_lost() -> None:
    async with sandbox(tmc_drop_connection_after=2) as box:
        handle = Recorder()
        async with consuming(box.ws_url, handle) as consumer:
            tids = await box.paid_trades(5)

            async def all_confirmed() -> bool:
                return (await box.tmc_stats())["confirmed"] == 5

            await until(all_confirmed)
        stats = await box.tmc_stats()
        assert stats["dropped_connections"] == 1
        assert stats["connects"] >= 2
        assert consumer.connections >= 2
        assert handle.tids() == set(tids)


@pytest.mark.parametrize("secret", ["not-the-secret", ""])
async def test_a_bad_signature_is_refused(secret: str) -> None:
    async with sandbox() as box:
        await box.paid_trades(1)
        handle = Recorder()
        async with consuming(box.ws_url, handle, secret=secret) as consumer:

            async def refused_twice() -> bool:
                return (await box.tmc_stats())["refused"] >= 2  # refused, and refused again after a backoff

            await until(refused_twice)
        assert handle.seen == []
        assert consumer.connections == 0
        assert consumer.last_error is not None
        assert "25" in consumer.last_error
        stats = await box.tmc_stats()
        assert stats["connects"] == 0
        assert stats["sent"] == 0
