"""A lean HTTP/1.1 keep-alive load generator.

No Debian tool (wrk) can be assumed on a fresh machine and Python HTTP clients (httpx, aiohttp)
spend more CPU per request than the servers under test, so on two cores they would measure
themselves. This one writes prebuilt request bytes on raw asyncio streams and reads just enough of
each response to find its end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    per_second_buckets: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


BodyFactory = Callable[[int], dict[str, object]]


def build_request(host: str, port: int, path: str, headers: dict[str, str], body: dict[str, object]) -> bytes:
    payload = orjson.dumps(body)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
            break
    body = await reader.readexactly(length) if length else b""
    return status, body


async def run_load(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    body: BodyFactory,
    *,
    connections: int,
    seconds: float,
    check: Callable[[int, bytes], bool] | None = None,
) -> LoadResult:
    result = LoadResult()
    counter = 0
    start = time.perf_counter()
    deadline = start + seconds
    buckets: dict[int, int] = {}

    async def worker() -> None:
        nonlocal counter
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                counter += 1
                req = build_request(host, port, path, headers, body(counter))
                t0 = time.perf_counter()
                writer.write(req)
                status, payload = await _read_response(reader)
                t1 = time.perf_counter()
                result.latencies.append(t1 - t0)
                result.requests += 1
                result.statuses[status] = result.statuses.get(status, 0) + 1
                buckets[int(t1 - start)] = buckets.get(int(t1 - start), 0) + 1
                if check is not None and not check(status, payload):
                    result.errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    result.seconds = time.perf_counter() - start
    result.per_second_buckets = [buckets.get(i, 0) for i in range(int(seconds))]
    return result
