"""The benchmarks' load generator: closed loop, and paced open loop with latency counted from when a request
was due (a server that stalls must show in the percentiles, not slow the load down)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from bench.loadgen import LoadResult, build_form_request, run_requests

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class _Server:
    """A keep-alive HTTP/1.1 server answering every request with 200 ``ok``, after ``stall_s`` for the
    ``stall_at``-th request: enough to see what the load generator measures."""

    def __init__(self, stall_at: int = 0, stall_s: float = 0.0) -> None:
        self.stall_at, self.stall_s = stall_at, stall_s
        self.seen = 0
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.seen += 1
                if self.seen == self.stall_at:
                    await asyncio.sleep(self.stall_s)
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server(stall_at=50, stall_s=0.3)
    s.thread.start()
    s.ready.wait(5)
    yield s

    async def stop() -> None:
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
        s.loop.stop()

    asyncio.run_coroutine_threadsafe(stop(), s.loop)
    s.thread.join(5)


def _run(port: int, **kw: object) -> LoadResult:
    req = build_form_request("127.0.0.1", port, "/push", b"param=x&sign=y")
    return run_requests("127.0.0.1", port, [req], check=lambda status, body: status == 200 and body == b"ok", **kw)  # type: ignore[arg-type]


def test_closed_loop_sends_until_the_total_and_checks_every_answer(server: _Server) -> None:
    res = _run(server.port, connections=4, seconds=30, total=120)
    assert res.requests == 120 == server.seen
    assert res.errors == 0
    assert res.statuses == {200: 120}
    assert len(res.latencies) == len(res.answered_at) == 120


def test_paced_sends_exactly_the_requests_due_and_counts_a_stall_from_when_they_were_due(server: _Server) -> None:
    # 200/s for 1 s: requests 0..199 are due inside the second, the 200th is due at its end and is not sent.
    res = _run(server.port, connections=1, seconds=1.0, rate=200)
    assert res.requests == 200 == server.seen
    # One connection: the requests due while the 50th stalled 0.3 s waited behind it, and their latency
    # counts that wait (closed loop would have hidden it by sending them late).
    stalled = sorted(res.latencies, reverse=True)
    assert stalled[0] >= 0.3
    assert sum(1 for v in res.latencies if v >= 0.1) >= 20  # about 0.2 s of requests due at 200/s
    per_second = res.percentile_per_second(0.99)
    assert per_second
    assert max(per_second) >= 0.2
