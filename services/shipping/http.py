"""An httpx transport that spreads requests over several small connection pools.

httpcore assigns each request by scanning every pooled connection for every waiting request, so one pool
with dozens of connections and dozens of requests in flight spends more CPU on that scan than on the
requests. Several pools of a few connections each keep the scan short for the same concurrency.
"""

from __future__ import annotations

import itertools
import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~50 ms: once per process, not once per pool.
    return ssl.create_default_context()


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, shards: int, connections_per_shard: int) -> None:
        limits = httpx.Limits(max_connections=connections_per_shard, max_keepalive_connections=connections_per_shard)
        self._shards = [httpx.AsyncHTTPTransport(limits=limits, verify=_ssl_context()) for _ in range(max(1, shards))]
        self._next = itertools.cycle(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def sharded_client(concurrency: int, timeout: float, per_shard: int = 6) -> httpx.AsyncClient:
    shards = (concurrency + per_shard - 1) // per_shard + 1
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=3.0), transport=ShardedTransport(shards, per_shard))
