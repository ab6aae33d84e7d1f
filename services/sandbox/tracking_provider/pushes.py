"""Tracking pushes: the full history so far to the subscriber's callback, repeated with the newest until answered.

Faults strike here: a push dropped for good, sent with a wrong sign, sent twice, or followed by an older one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from services.sandbox.delivery import Timers, failure_text, retry_wait, run_workers
from services.sandbox.faults import FaultInjector
from services.sandbox.settings import SandboxSettings
from services.sandbox.signing import kuaidi100_push_sign
from services.sandbox.tracking_provider.parcels import Parcel

log = logging.getLogger("sandbox.tracking")

MAX_LATENCIES = 500_000


@dataclass
class Pushes:
    settings: SandboxSettings
    faults: FaultInjector
    new_client: Callable[[], httpx.AsyncClient]
    parcels: dict[str, Parcel]
    _queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _timers: Timers = field(default_factory=Timers)
    # (wall-clock time answered, seconds it took) of each acknowledged push, for a load run to judge how fast
    # its subscriber answers; bounded, so a run that never drains them does not grow the sandbox.
    ack_latencies: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_LATENCIES))

    def want(self, parcel: Parcel) -> None:
        """Something happened to ``parcel`` that its subscriber has not been told."""
        # While a failed push waits for its retry, new events just ride along with that retry.
        if parcel.queued or parcel.retry_pending or not parcel.push_pending:
            return
        parcel.queued = True
        self._queue.put_nowait(parcel.number)

    async def _send(self, http: httpx.AsyncClient, parcel: Parcel, param: str, sign: str) -> bool:
        parcel.stats.attempts += 1
        started = time.perf_counter()
        try:
            response = await http.post(
                parcel.callback, data={"param": param, "sign": sign}, timeout=self.settings.tracking_push_timeout_s
            )
        except httpx.HTTPError as exc:
            parcel.last_push_result = failure_text(exc)
            return False
        parcel.last_push_result = f"HTTP {response.status_code}: {response.text[:120]}"
        if response.status_code != 200:
            return False
        try:
            answer = response.json()
        except ValueError:
            return False
        # The documented answer, exactly: JSON true and the string "200".
        acked = isinstance(answer, dict) and answer.get("result") is True and answer.get("returnCode") == "200"
        if acked:
            self.ack_latencies.append((time.time(), time.perf_counter() - started))
        return acked

    def drain_latencies(self) -> list[tuple[float, float]]:
        """The acknowledged pushes' latencies recorded since the last drain, oldest first."""
        out = list(self.ack_latencies)
        self.ack_latencies.clear()
        return out

    async def _push(self, http: httpx.AsyncClient, parcel: Parcel) -> None:
        version, upto, aborted = parcel.version, parcel.revealed, parcel.aborted
        if version <= parcel.delivered_version:
            return
        faults = self.faults
        if faults.chance(faults.config.push_drop_rate):
            parcel.stats.dropped += 1
            parcel.delivered_version = version  # lost for good: only a query can tell what happened
            return
        param = parcel.push_param(upto, aborted)
        sign = kuaidi100_push_sign(param, parcel.salt)
        if faults.chance(faults.config.push_bad_sign_rate):
            parcel.stats.bad_sign += 1
            sign = kuaidi100_push_sign(param, parcel.salt + "#")
        if await self._send(http, parcel, param, sign):
            await self._acked(http, parcel, version, upto, param, sign)
        else:
            self._failed(parcel)

    async def _acked(
        self, http: httpx.AsyncClient, parcel: Parcel, version: int, upto: int, param: str, sign: str
    ) -> None:
        """The push of ``version`` (``upto`` events) was answered; faults may still send it again, or an older one."""
        parcel.stats.acked += 1
        parcel.acked_bodies.add(hashlib.sha256(param.encode()).hexdigest())
        parcel.failures_in_row = 0
        parcel.delivered_version = max(parcel.delivered_version, version)
        faults = self.faults
        if faults.chance(faults.config.push_duplicate_rate):
            parcel.stats.duplicates += 1
            await self._send(http, parcel, param, sign)
        if upto > 1 and faults.chance(faults.config.push_out_of_order_rate):
            parcel.stats.out_of_order += 1
            older = parcel.push_param(faults.rng.randint(1, upto - 1), aborted=False)
            await self._send(http, parcel, older, kuaidi100_push_sign(older, parcel.salt))
        self.want(parcel)  # events that happened while this push was in flight

    def _failed(self, parcel: Parcel) -> None:
        parcel.stats.failed += 1
        parcel.failures_in_row += 1
        parcel.retry_pending = True

        def retry() -> None:
            parcel.retry_pending = False
            self.want(parcel)

        self._timers.later(retry_wait(self.settings.tracking_push_retry_s, parcel.failures_in_row), retry)

    async def _next(self, http: httpx.AsyncClient, number: str) -> None:
        parcel = self.parcels.get(number)
        if parcel is None:
            return
        parcel.queued = False
        await self._push(http, parcel)

    async def run(self) -> None:
        await run_workers(
            self.settings.tracking_push_concurrency, self.new_client, self._queue, self._next, log, "push failed for %s"
        )

    def cancel_timers(self) -> None:
        self._timers.cancel()
