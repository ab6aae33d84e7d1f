"""The sandbox's TMC server, served by uvicorn, spoken to frame by frame with a raw WebSocket client.

The frames on this side come from shipping's codec (tmc_frames), written apart from the sandbox's; the
connect signature is computed here again from the SDK's rule (MD5 of secret + sorted pairs + secret).
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.sandbox.main import create_app
from services.sandbox.settings import SandboxSettings
from services.shipping.channels.taobao.tmc_frames import Byte, Frame, MessageType, decode, encode

APP_KEY = "sandbox-app"
APP_SECRET = "sandbox-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Box:
    http: httpx.AsyncClient
    ws_url: str

    async def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = await self.http.request(method, path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    async def delivery(self, **change: Any) -> dict[str, Any]:
        found: dict[str, Any] = await self.call("PUT", "/control/marketplace/messages/delivery", change)
        return found

    async def stats(self) -> dict[str, int]:
        found: dict[str, int] = await self.call("GET", "/control/marketplace/messages/tmc")
        return found

    async def paid_trade(self) -> str:
        seller = await self.call("POST", "/control/marketplace/sellers", {"seller_nick": "tmc-shop"})
        body = {"seller_nick": seller["seller_nick"], "count": 1, "paid": True}
        tid: str = (await self.call("POST", "/control/marketplace/trades", body))["tids"][0]
        return tid


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[int]:
    """One uvicorn for the module (the sandbox's lifespan takes seconds); each test resets the world."""
    app = create_app(
        SandboxSettings(
            marketplace_webhook_url="http://127.0.0.1:9/unused",
            message_redelivery_s=[0.05],
            # Few push workers: each opens an HTTP client, and a world with 64 of them takes seconds to stop.
            message_concurrency=2,
            tracking_push_concurrency=1,
        )
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    yield port
    server.should_exit = True
    await asyncio.wait_for(task, 15)


@pytest.fixture
async def box(served: int) -> AsyncIterator[Box]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served}") as http:
        reset = await http.post("/control/reset")
        assert reset.status_code == 200, reset.text
        yield Box(http, f"ws://127.0.0.1:{served}/tmc")


def hello(
    *, secret: str = APP_SECRET, app_key: str = APP_KEY, group: str = "default", stamp_ms: int | None = None
) -> bytes:
    stamp = str(stamp_ms if stamp_ms is not None else int(time.time() * 1000))
    joined = f"app_key{app_key}group_name{group}timestamp{stamp}"
    sign = hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()
    content = {"app_key": app_key, "group_name": group, "timestamp": stamp, "sign": sign, "sdk": "test"}
    return encode(Frame(MessageType.CONNECT, content, flag=41))


async def receive(ws: ClientConnection, timeout_s: float = 5.0) -> Frame:
    return decode(bytes(await asyncio.wait_for(ws.recv(), timeout_s)))  # type: ignore[arg-type]


@asynccontextmanager
async def connected(box: Box, group: str = "default") -> AsyncIterator[tuple[ClientConnection, str]]:
    async with connect(box.ws_url) as ws:
        await ws.send(hello(group=group))
        ack = await receive(ws)
        assert ack.message_type == MessageType.CONNECTACK
        assert ack.flag == 41, "the CONNECTACK echoes the CONNECT's flag"
        assert ack.token
        assert not ack.is_error
        yield ws, ack.token


async def until(box: Box, key: str, value: int) -> dict[str, int]:
    for _ in range(300):
        stats = await box.stats()
        if stats[key] >= value:
            return stats
        await asyncio.sleep(0.02)
    raise AssertionError(f"{key} never reached {value}: {stats}")


async def test_a_signed_connect_is_accepted_and_messages_come_as_the_sdk_reads_them(box: Box) -> None:
    await box.delivery(mode="tmc")
    tid = await box.paid_trade()
    async with connected(box) as (ws, token):
        frame = await receive(ws)
    assert frame.message_type == MessageType.SEND
    assert frame.token == token
    content = frame.content
    assert isinstance(content["id"], int)
    assert content["topic"] == "taobao_trade_TradeBuyerPay"
    assert content["nick"] == "tmc-shop"
    assert content["dataid"] == tid
    assert isinstance(content["userid"], int)
    assert isinstance(content["time"], type(content["outtime"]))
    assert f'"tid":"{tid}"' in str(content["content"])
    assert (await box.stats())["connects"] == 1


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (hello(secret="wrong"), 25),
        (hello(app_key="someone-else"), 29),
        (hello(stamp_ms=int(time.time() * 1000) - 3_600_000), 31),
        (encode(Frame(MessageType.CONNECT, {"app_key": APP_KEY}, flag=41)), 40),
    ],
)
async def test_a_bad_connect_is_refused_and_closed(box: Box, frame: bytes, code: int) -> None:
    await box.delivery(mode="tmc")
    await box.paid_trade()
    async with connect(box.ws_url) as ws:
        await ws.send(frame)
        ack = await receive(ws)
        with pytest.raises(ConnectionClosed):
            await receive(ws)
    assert ack.message_type == MessageType.CONNECTACK
    assert ack.status_code == code
    assert ack.status_phrase
    assert ack.flag == 41
    assert not ack.token
    stats = await box.stats()
    assert (stats["refused"], stats["connects"], stats["sent"]) == (1, 0, 0)


@pytest.mark.parametrize("first", [b"\x02\x00\x09\x00", "text", encode(Frame(MessageType.SEND, {"x": "y"}))])
async def test_a_first_frame_that_is_no_connect_closes_and_the_server_keeps_serving(
    box: Box, first: bytes | str
) -> None:
    async with connect(box.ws_url) as ws:
        await ws.send(first)
        with pytest.raises(ConnectionClosed):
            await receive(ws)
    assert (await box.stats())["bad_frames"] == 1
    async with connected(box):
        pass


async def test_unconfirmed_is_sent_again_and_confirmed_never(box: Box) -> None:
    await box.delivery(mode="tmc", tmc_redelivery_s=0.2)
    await box.paid_trade()
    async with connected(box) as (ws, token):
        first = await receive(ws)
        again = await receive(ws)  # no confirm: the same message after 0.2 s
        assert again.content["id"] == first.content["id"]
        await ws.send(encode(Frame(MessageType.SEND, {"__kind": Byte(2), "id": first.content["id"]}, token="forged")))
        await ws.send(encode(Frame(MessageType.SEND, {"__kind": Byte(2), "id": first.content["id"]}, token=token)))
        await until(box, "confirmed", 1)
        with pytest.raises(TimeoutError):
            await receive(ws, timeout_s=0.6)
    stats = await box.stats()
    assert stats["confirmed"] == 1
    assert stats["bad_frames"] == 1, "the confirm on a foreign token does not count"
    assert stats["redelivered"] >= 1
    assert stats["in_flight"] == 0
    messages = await box.call("GET", "/control/marketplace/messages/stats")
    assert messages["delivered"] == 1


async def test_push_mode_sends_nothing_over_tmc_and_going_back_to_push_hands_the_waiting_back(box: Box) -> None:
    assert (await box.call("GET", "/control/marketplace/messages/delivery"))["mode"] == "push"
    async with connected(box) as (ws, _):
        await box.paid_trade()
        with pytest.raises(TimeoutError):
            await receive(ws, timeout_s=0.3)
    assert (await box.stats())["sent"] == 0
    await box.delivery(mode="tmc")
    await box.paid_trade()
    await until(box, "waiting", 1)  # no consumer: it waits for one
    before = (await box.call("GET", "/control/marketplace/messages/stats"))["attempts"]
    await box.delivery(mode="push")
    assert (await box.stats())["waiting"] == 0
    for _ in range(100):
        if (await box.call("GET", "/control/marketplace/messages/stats"))["attempts"] > before:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the message handed back was never pushed")


async def test_faults_duplicate_and_drop_the_connection(box: Box) -> None:
    await box.call("PUT", "/control/faults", {"message_duplicate_rate": 1.0})
    await box.delivery(mode="tmc", tmc_drop_connection_after=1)
    await box.paid_trade()
    async with connected(box) as (ws, _):
        first = await receive(ws)
        second = await receive(ws)
        with pytest.raises(ConnectionClosed):
            await receive(ws)
    assert first == second
    stats = await box.stats()
    assert (stats["duplicates"], stats["dropped_connections"], stats["consumers"]) == (1, 1, 0)
    assert (await box.call("GET", "/control/marketplace/messages/delivery"))["tmc_drop_connection_after"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "carrier-pigeon"},
        {"tmc_redelivery_s": 0},
        {"tmc_redelivery_s": "soon"},
        {"unknown": 1},
        {"tmc_group": ""},
    ],
)
async def test_bad_delivery_changes_are_refused(box: Box, body: dict[str, Any]) -> None:
    await box.call("PUT", "/control/marketplace/messages/delivery", body, status=422)


async def test_messages_go_to_the_configured_group_only(box: Box) -> None:
    await box.delivery(mode="tmc", tmc_group="orders")
    await box.paid_trade()
    async with connected(box, group="default") as (other, _):
        with pytest.raises(TimeoutError):
            await receive(other, timeout_s=0.3)
        async with connected(box, group="orders") as (ws, _):
            assert (await receive(ws)).message_type == MessageType.SEND
