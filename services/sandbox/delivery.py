"""What the marketplace's order messages and the tracking provider's pushes share: the worker pool that sends
them, the wait before a repeat, the timers those waits run on, and the compact JSON both bodies are written in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx


def compact_json(value: Any) -> str:
    """JSON as both providers write it: no spaces, Chinese left as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def retry_wait(schedule: Sequence[float], attempt: int) -> float:
    """The wait after failed attempt ``attempt`` (1-based): the schedule's entry, its last one repeating."""
    return schedule[min(attempt - 1, len(schedule) - 1)]


def failure_text(exc: Exception) -> str:
    """A send that got no answer, as the control views show it."""
    return f"{type(exc).__name__}: {exc}"[:200]


class Timers:
    """Callbacks waiting on the event loop for a repeat, all cancelled together when the world stops."""

    def __init__(self) -> None:
        self._handles: set[asyncio.TimerHandle] = set()

    def later(self, delay_s: float, callback: Callable[[], None]) -> None:
        def fire() -> None:
            self._handles.discard(handle)
            callback()

        handle = asyncio.get_running_loop().call_later(delay_s, fire)
        self._handles.add(handle)

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()


async def run_workers(
    count: int,
    new_client: Callable[[], httpx.AsyncClient],
    queue: asyncio.Queue[str],
    handle: Callable[[httpx.AsyncClient, str], Awaitable[None]],
    log: logging.Logger,
    failure: str,
) -> None:
    """``count`` workers taking keys off ``queue`` for ``handle``, until cancelled; ``failure`` logs one that raised."""

    async def worker() -> None:
        # A client per worker: one httpx pool shared by dozens of concurrent requests slows to a crawl.
        async with new_client() as http:
            while True:
                key = await queue.get()
                try:
                    await handle(http, key)
                except Exception:  # keep the worker alive; what it was sending stays pending
                    log.exception(failure, key)

    async with asyncio.TaskGroup() as group:
        for _ in range(count):
            group.create_task(worker())


@dataclass
class MessageStats:
    """Counters of a marketplace's message deliveries (its control API shows them)."""

    published: int = 0
    delivered: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    duplicates: int = 0

    def view(self) -> dict[str, int]:
        return {
            "published": self.published,
            "delivered": self.delivered,
            "pending": self.published - self.delivered,
            "attempts": self.attempts,
            "failed_attempts": self.failed_attempts,
            "duplicates": self.duplicates,
        }
