"""A TCP proxy in front of Redis that fails on command, for reproducing Redis trouble deterministically
instead of racing a kill against a client's loop.

It sits between our clients and the real server and, when told:
- ``reset()``: RST every established connection (what a client sees when Redis dies under it);
- ``reset_when_sent(b"EXISTS")``: RST a connection when its client sends that command (a failure at an
  exact point of a client's protocol, e.g. between WATCH and EXEC);
- ``refuse()`` / ``start()``: stop listening (every connect is refused, as with Redis down) and listen again;
- ``stall()`` / ``resume()``: hold every byte, connections staying open (a hung server, a dropped network);
- ``blackhole()``: hold the bytes of the connections established now, for good, while new ones work (a
  partition healed behind a client's back: its old connections are silently dead);
- ``loading(True)``: answer every command with Redis's ``-LOADING`` error (a restarted Redis reading its
  data back);
- ``latency_s``: delay every forwarded chunk (a slow Redis or network).
It runs on the caller's event loop, so a test can drive it step by step.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from devstack.infra import free_port

_CHUNK = 65536
LOADING_ERROR = b"-LOADING Redis is loading the dataset in memory\r\n"


@dataclass(eq=False)  # identity-hashed: kept in a set
class _Pair:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    flowing: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = free_port()
        self.latency_s = 0.0
        self.connections_accepted = 0
        self._server: asyncio.Server | None = None
        self._pairs: set[_Pair] = set()  # the connections the proxy still acts on
        self._blackholed: set[_Pair] = set()
        self._stalled = False
        self._loading = False
        self._reset_markers: dict[bytes, int] = {}

    @classmethod
    def for_url(cls, redis_url: str) -> TcpProxy:
        parts = urlsplit(redis_url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    async def start(self) -> None:
        """Listen (again) on the proxy's port."""
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def refuse(self) -> None:
        """Stop listening and reset what is established: every connect is refused, as with a server down."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.reset()

    def reset(self) -> int:
        """RST every established connection, both sides. Returns how many were reset."""
        pairs = list(self._pairs)
        for pair in pairs:
            self._reset_pair(pair)
        return len(pairs)

    def reset_when_sent(self, command: bytes, times: int = 1) -> None:
        """RST the next ``times`` connections whose client sends ``command`` (e.g. b"EXISTS"), instead of
        forwarding it."""
        self._reset_markers[command.upper()] = times

    def stall(self) -> None:
        """Hold every byte in both directions; connections stay open and new ones are accepted (and held)."""
        self._stalled = True
        for pair in self._pairs:
            pair.flowing.clear()

    def resume(self) -> None:
        self._stalled = False
        for pair in self._pairs:
            pair.flowing.set()

    def blackhole(self) -> int:
        """Hold the bytes of every connection established now, for good; new connections work."""
        pairs = list(self._pairs)
        for pair in pairs:
            pair.flowing.clear()
            self._pairs.discard(pair)  # resume() no longer reaches it
            self._blackholed.add(pair)
        return len(pairs)

    def loading(self, on: bool) -> None:
        self._loading = on

    async def close(self) -> None:
        await self.refuse()
        for pair in list(self._blackholed):
            self._reset_pair(pair)
        self._blackholed.clear()

    def _reset_pair(self, pair: _Pair) -> None:
        _abort_with_rst(pair.client)
        _abort_with_rst(pair.upstream)
        for task in pair.tasks:
            task.cancel()
        self._pairs.discard(pair)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _abort_with_rst(writer)
            return
        pair = _Pair(writer, up_writer)
        if not self._stalled:
            pair.flowing.set()
        self._pairs.add(pair)
        pair.tasks = [
            asyncio.create_task(self._pump(pair, reader, up_writer, from_client=True)),
            asyncio.create_task(self._pump(pair, up_reader, writer, from_client=False)),
        ]
        # gather() is not cancelled with its children: resetting cancels the pumps, not this handler.
        with contextlib.suppress(asyncio.CancelledError):  # the loop closing at the end of a session
            await asyncio.gather(*pair.tasks, return_exceptions=True)
        self._pairs.discard(pair)
        for w in (writer, up_writer):
            w.close()

    async def _pump(
        self, pair: _Pair, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, from_client: bool
    ) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                await pair.flowing.wait()
                if from_client and self._intercept(pair, data):
                    continue
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()

    def _intercept(self, pair: _Pair, data: bytes) -> bool:
        """Handle client bytes the proxy answers itself; True when they must not be forwarded."""
        upper = data.upper()
        for marker, left in self._reset_markers.items():
            if left > 0 and marker in upper:
                self._reset_markers[marker] = left - 1
                self._reset_pair(pair)
                return True
        if self._loading:
            pair.client.write(LOADING_ERROR * max(1, count_commands(data)))
            return True
        return False


def count_commands(data: bytes) -> int:
    """How many RESP commands (arrays of bulk strings) ``data`` holds: clients pipeline several in a chunk."""
    count = pos = 0
    while pos < len(data) and data[pos : pos + 1] == b"*":
        end = data.index(b"\r\n", pos)
        items = int(data[pos + 1 : end])
        pos = end + 2
        for _ in range(items):
            end = data.index(b"\r\n", pos)
            length = int(data[pos + 1 : end])  # $<length>
            pos = end + 2 + length + 2
        count += 1
    return count


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            # Linger on, zero seconds: close() sends RST instead of FIN, so the peer's next read fails with
            # "Connection reset by peer" (errno 104), as when Redis dies under a client.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
