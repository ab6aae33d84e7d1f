"""Everything the sandbox knows, in memory, and the background loops that move it.

One ``World`` per app. ``reset`` stops the loops, starts from nothing again and restarts them; an injected
transport survives a reset so a test's receiver stays in place.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from fastapi import Request

from services.sandbox.clock import Scheduler, SimClock
from services.sandbox.couriers import Couriers
from services.sandbox.faults import FaultInjector
from services.sandbox.marketplace.store import Marketplace
from services.sandbox.numbers import NumberRegistry
from services.sandbox.pinduoduo.store import Pinduoduo
from services.sandbox.settings import SandboxSettings
from services.sandbox.tracking_provider.provider import TrackingProvider

log = logging.getLogger("sandbox")


class World:
    def __init__(self, settings: SandboxSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport
        self._tasks: list[asyncio.Task[None]] = []
        self._build()

    def _build(self) -> None:
        s = self.settings
        self.faults = FaultInjector(s.faults.model_copy(deep=True))
        self.faults.courier_down_for(s.courier_down_s)
        self.clock = SimClock(s.time_acceleration)
        self.scheduler = Scheduler(self.clock)
        self.registry = NumberRegistry()
        self.marketplace = Marketplace(s, self.faults, self.registry, self.new_client, sim_now=self.clock.now)
        self.couriers = Couriers(s, self.faults, self.registry)
        self.pinduoduo = Pinduoduo(s, self.registry, self.new_client)
        self.tracking = TrackingProvider(
            settings=s,
            faults=self.faults,
            registry=self.registry,
            clock=self.clock,
            scheduler=self.scheduler,
            new_client=self.new_client,
            destination_of=self.marketplace.destination_of,
            on_signed=self.marketplace.parcel_signed,
        )

    def new_client(self) -> httpx.AsyncClient:
        """A client for one push worker; ``transport`` (tests: an ASGI app) replaces the network when given."""
        if self.transport is not None:
            return httpx.AsyncClient(transport=self.transport)
        return httpx.AsyncClient(limits=httpx.Limits(max_connections=2, max_keepalive_connections=2))

    async def start(self) -> None:
        for name, loop in (
            ("scheduler", self.scheduler.run),
            ("messages", self.marketplace.outbox.dispatcher),
            ("pushes", self.tracking.pushes.run),
            ("pinduoduo-messages", self.pinduoduo.outbox.dispatcher),
        ):
            self._tasks.append(asyncio.create_task(loop(), name=f"sandbox-{name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # A loop that already died must not stop the others from being cleaned up; its error is logged.
        for outcome in await asyncio.gather(*self._tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("background loop had failed: %r", outcome)
        self._tasks.clear()
        self.marketplace.outbox.cancel_timers()
        self.tracking.pushes.cancel_timers()
        self.pinduoduo.outbox.cancel_timers()

    async def reset(self) -> None:
        await self.stop()
        self._build()
        await self.start()


def world_of(request: Request) -> World:
    """The World of the app serving ``request`` (one per app, built by its lifespan)."""
    found: World = request.app.state.world
    return found
