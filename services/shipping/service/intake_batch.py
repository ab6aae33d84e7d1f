"""Paid messages taken in as groups: the requests that arrive together (the marketplace pushes many at once)
wait on one group, which reads their orders back in the channel's list call and stores them in one
transaction; each request still answers only once its message is stored (or refused), as before.

A group that fails (the channel cannot answer, a store has no authorisation, a database error) is taken
again message by message, each in its own transaction: one bad message answers its own 4xx/5xx and never
fails the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.logging import get_logger
from runtime.resources import Resources
from services.shipping.channels.base import ChannelMessage, ChannelName
from services.shipping.channels.registry import Channels
from services.shipping.service import channel_messages

log = get_logger(__name__)

Answer = dict[str, str]
RunGroup = Callable[[Sequence[ChannelMessage]], Awaitable[list[Answer]]]
RunOne = Callable[[ChannelMessage], Awaitable[Answer]]

# At most a list call's page (100 trades) a group; and how long the first message waits for others to join
# (requests already in flight join the next group while one is being stored anyway).
MAX_GROUP = 100
WINDOW_S = 0.002


@dataclass
class _Queue:
    items: list[tuple[ChannelMessage, asyncio.Future[Answer]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class IntakeBatcher:
    def __init__(
        self, run_group: RunGroup, run_one: RunOne, *, max_group: int = MAX_GROUP, window_s: float | None = None
    ) -> None:
        self._run_group, self._run_one = run_group, run_one
        self.max_group, self.window_s = max_group, window_s
        self._queues: dict[ChannelName, _Queue] = {}
        self.groups = 0  # groups stored, for tests and the bench

    async def submit(self, message: ChannelMessage) -> Answer:
        """The message's answer once its group is stored; its error when it fails on its own."""
        queue = self._queues.setdefault(message.channel, _Queue())
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        queue.items.append((message, future))
        if queue.task is None or queue.task.done():
            queue.task = asyncio.create_task(self._drain(queue))
        return await future

    async def _drain(self, queue: _Queue) -> None:
        while queue.items:
            window = WINDOW_S if self.window_s is None else self.window_s  # None: the module's (tests widen it)
            if window > 0:
                await asyncio.sleep(window)
            taken, queue.items = queue.items[: self.max_group], queue.items[self.max_group :]
            live = [(m, f) for m, f in taken if not f.done()]  # a request given up on (client gone) is skipped
            if live:
                await self._store(live)

    async def _store(self, taken: list[tuple[ChannelMessage, asyncio.Future[Answer]]]) -> None:
        try:
            answers = await self._run_group([m for m, _ in taken])
        except Exception as exc:
            log.warning("marketplace_group_failed", messages=len(taken), error=str(exc)[:200])
            await asyncio.gather(*(self._alone(m, f) for m, f in taken))
            return
        self.groups += 1
        for (_, future), answer in zip(taken, answers, strict=True):
            if not future.done():
                future.set_result(answer)

    async def _alone(self, message: ChannelMessage, future: asyncio.Future[Answer]) -> None:
        try:
            answer = await self._run_one(message)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(answer)


def for_app(state: Any, resources: Resources, channels: Channels) -> IntakeBatcher:
    """The process's batcher (on the app's ``state``), groups stored through ``resources``' transactions."""
    batcher: IntakeBatcher | None = getattr(state, "intake_batcher", None)
    if batcher is None:

        async def run_group(group: Sequence[ChannelMessage]) -> list[Answer]:
            async with resources.transaction() as uow:
                return await channel_messages.receive_paid(uow, channels, group)

        async def run_one(message: ChannelMessage) -> Answer:
            async with resources.transaction() as uow:
                return await channel_messages.receive(uow, channels, message)

        batcher = IntakeBatcher(run_group, run_one)
        state.intake_batcher = batcher
    return batcher
