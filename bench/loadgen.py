"""A lean HTTP/1.1 keep-alive load generator.

No Debian tool (wrk) can be assumed on a fresh machine and Python HTTP clients (httpx, aiohttp)
spend more CPU per request than the servers under test, so on two cores they would measure
themselves. This one runs on uvloop with one ``asyncio.Protocol`` per connection (no stream
reader, no task per request): it writes prebuilt request bytes, finds each response's end in the
bytes received and writes the next request from the same callback. Many connections, one request
in flight on each (no pipelining), so a response's latency is the server's.

Closed loop by default (each connection sends again as soon as it has its answer: what the server can
carry). With ``rate`` it paces open loop: the n-th request is due at ``start + n / rate`` and its latency
counts from then, so a server that falls behind shows it in the percentiles rather than slowing the load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import orjson
import uvloop


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # seconds from the start, one per latency
    seconds: float = 0.0
    per_second_buckets: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return _percentile(self.latencies, p)

    def percentile_per_second(self, p: float) -> list[float]:
        """The percentile of each second's answers: a tail that comes from one stall shows as one bad second."""
        seconds: dict[int, list[float]] = {}
        for at, latency in zip(self.answered_at, self.latencies, strict=True):
            seconds.setdefault(int(at), []).append(latency)
        return [_percentile(seconds.get(i, []), p) for i in range(max(seconds, default=-1) + 1)]


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


BodyFactory = Callable[[int], dict[str, object]]
RequestFactory = Callable[[int], bytes | None]  # the n-th request (1-based), None when there are no more
Check = Callable[[int, bytes], bool]


def build_request(host: str, port: int, path: str, headers: dict[str, str], body: dict[str, object]) -> bytes:
    payload = orjson.dumps(body)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def build_form_request(host: str, port: int, path: str, form: bytes) -> bytes:
    """A POST of an already urlencoded form."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    )
    return head.encode() + form


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response from a stream (for callers that drive their own connections, e.g. the soak test)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
            break
    body = await reader.readexactly(length) if length else b""
    return status, body


def _content_length(head: bytes) -> int:
    at = head.lower().find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    end = head.find(b"\r\n", at + 17)
    return int(head[at + 17 : end if end >= 0 else len(head)].strip())


class _Run:
    """State shared by every connection of one load run."""

    def __init__(
        self, next_request: RequestFactory, deadline: float, start: float, check: Check | None, rate: float | None
    ) -> None:
        self.next_request = next_request
        self.rate = rate
        self.deadline = deadline
        self.start = start
        self.check = check
        self.issued = 0
        self.result = LoadResult()
        self.buckets: dict[int, int] = {}

    def take(self) -> tuple[bytes, float] | None:
        """The next request and when it is due (now when not paced)."""
        now = time.perf_counter()
        due = self.start + self.issued / self.rate if self.rate else now
        if max(now, due) >= self.deadline:
            return None
        self.issued += 1
        req = self.next_request(self.issued)
        return None if req is None else (req, due)

    def record(self, status: int, body: bytes, latency: float, now: float) -> None:
        r = self.result
        r.requests += 1
        r.latencies.append(latency)
        r.answered_at.append(now - self.start)
        r.statuses[status] = r.statuses.get(status, 0) + 1
        second = int(now - self.start)
        self.buckets[second] = self.buckets.get(second, 0) + 1
        if self.check is not None and not self.check(status, body):
            r.errors += 1


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run, done: asyncio.Future[None]) -> None:
        self.run = run
        self.done = done
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self._send_next()

    def _send_next(self) -> None:
        assert self.transport is not None
        taken = self.run.take()
        if taken is None:
            self.transport.close()
            return
        req, due = taken
        wait = due - time.perf_counter()
        # Open loop: latency counts from when the request was due, even if this connection was late.
        self.sent_at = due if self.run.rate else time.perf_counter()
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self._write, req)
        else:
            self._write(req)

    def _write(self, req: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(req)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(buf[:head_end])
        end = head_end + 4 + _content_length(head)
        if len(buf) < end:
            return
        now = time.perf_counter()
        self.run.record(int(head[9:12]), bytes(buf[head_end + 4 : end]), now - self.sent_at, now)
        del buf[:end]
        self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if exc is not None and self.run.result.requests == 0:
                self.done.set_exception(exc)
            else:
                self.done.set_result(None)


def _protocol(run: _Run, done: asyncio.Future[None]) -> Callable[[], _Connection]:
    return lambda: _Connection(run, done)


async def _drive(
    host: str,
    port: int,
    next_request: RequestFactory,
    connections: int,
    seconds: float,
    check: Check | None,
    rate: float | None = None,
) -> LoadResult:
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    run = _Run(next_request, start + seconds, start, check, rate)
    finished: list[asyncio.Future[None]] = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(_protocol(run, done), host, port)
        finished.append(done)
    await asyncio.gather(*finished)
    result = run.result
    result.seconds = time.perf_counter() - start
    result.per_second_buckets = [run.buckets.get(i, 0) for i in range(int(seconds))]
    return result


def run_requests(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    seconds: float,
    total: int | None = None,
    check: Check | None = None,
    rate: float | None = None,
) -> LoadResult:
    """Cycle through prebuilt ``requests`` on ``connections`` keep-alive connections for ``seconds`` (or until
    ``total`` requests were sent), on a uvloop event loop of its own; paced at ``rate`` per second if given."""
    count = len(requests)

    def nth(n: int) -> bytes | None:
        if total is not None and n > total:
            return None
        return requests[(n - 1) % count]

    return uvloop.run(_drive(host, port, nth, connections, seconds, check, rate))


async def run_load(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    body: BodyFactory,
    *,
    connections: int,
    seconds: float,
    check: Check | None = None,
) -> LoadResult:
    """JSON POSTs whose body depends on the request's number (e.g. a fresh order id each), on the caller's loop."""
    return await _drive(
        host, port, lambda n: build_request(host, port, path, headers, body(n)), connections, seconds, check
    )
