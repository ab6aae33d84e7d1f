"""runtime.serve and runtime.http_protocol over a real socket: a request's headers have a deadline and a size
cap (uvicorn alone has neither, so these hang or pass without them), and ordinary clients are not hurt."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from runtime import serve
from runtime.http_protocol import CONNECTIONS_CUT, GuardedHttpToolsProtocol


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def port(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    monkeypatch.setenv("WAYBILL_HEADER_TIMEOUT_S", "1")
    monkeypatch.setenv("WAYBILL_MAX_HEADER_BYTES", "2048")
    monkeypatch.setenv("WAYBILL_LIMIT_CONCURRENCY", "50")
    chosen = _free_port()
    server = uvicorn.Server(serve.config([f"{__name__}:app", "--port", str(chosen)]))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    yield chosen
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 5)  # until the server closes


def test_config_takes_the_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYBILL_LIMIT_CONCURRENCY", "64")
    monkeypatch.setenv("WAYBILL_TIMEOUT_KEEP_ALIVE_S", "2")
    monkeypatch.setenv("WAYBILL_HEADER_TIMEOUT_S", "7.5")
    monkeypatch.setenv("WAYBILL_MAX_HEADER_BYTES", "4096")
    monkeypatch.setenv("WAYBILL_FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    config = serve.config(["services.allocation.main:app", "--port", "8001", "--timeout-graceful-shutdown", "20"])
    assert (config.limit_concurrency, config.timeout_keep_alive, config.timeout_graceful_shutdown) == (64, 2, 20)
    assert (config.host, config.port, config.access_log) == ("127.0.0.1", 8001, False)
    assert isinstance(config.http, type)
    assert issubclass(config.http, GuardedHttpToolsProtocol)
    assert (config.http.header_timeout_s, config.http.max_header_bytes) == (7.5, 4096)
    assert config.forwarded_allow_ips == "10.0.0.0/8"


async def test_an_ordinary_request_and_a_slow_one_in_time_are_served(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for piece in (b"GET /a HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
        writer.write(piece)
        await asyncio.sleep(0.25)  # 0.75 s in all: inside the 1 s deadline
    head = await asyncio.wait_for(reader.readuntil(b"ok"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    # The same connection keeps working for a second request (the deadline is per request).
    await asyncio.sleep(0.6)
    writer.write(b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await _read_all(reader)).startswith(b"HTTP/1.1 200")
    writer.close()


@pytest.mark.parametrize("opening", [b"", b"GET / HTTP/1.1\r\nHost: x\r\n"], ids=["silent", "unfinished"])
async def test_headers_not_complete_in_time_get_408_and_the_connection_closes(port: int, opening: bytes) -> None:
    before = CONNECTIONS_CUT.labels("slow")._value.get()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(opening)

    async def trickle() -> None:  # a byte every 0.2 s, forever (slowloris)
        while not writer.is_closing():
            writer.write(b"X")
            await asyncio.sleep(0.2)

    dripping = asyncio.create_task(trickle()) if opening else None
    answer = await _read_all(reader)
    took = time.monotonic() - started
    if dripping:
        dripping.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert 0.9 <= took < 3
    assert CONNECTIONS_CUT.labels("slow")._value.get() == before + 1


async def test_headers_over_the_cap_get_431(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n")
    answer = await _read_all(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431"), answer
    # Just under the cap is fine.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * 1800 + b"\r\n\r\n")
    assert (await _read_all(reader)).startswith(b"HTTP/1.1 200")
    writer.close()
