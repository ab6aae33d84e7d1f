"""The tracking provider: each subscribed number's journey put on the simulated clock, and its two requests.

Each subscribed number gets a whole journey planned up front, deterministically from the seed and the
number, and its events happen on the simulated clock. Every time something happens, the full history so far
is pushed to the subscriber's callback; a push that does not get the documented answer is repeated later
with the newest history.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.sandbox import addresses
from services.sandbox.addresses import City
from services.sandbox.clock import Scheduler, SimClock
from services.sandbox.faults import FaultInjector
from services.sandbox.numbers import BY_KUAIDI100, NumberRegistry
from services.sandbox.settings import SandboxSettings
from services.sandbox.tracking_provider.journeys import (
    HOUR,
    KINDS,
    STATE_COLLECTED,
    STATE_SIGNED,
    JourneyKind,
    kind_for,
    plan_journey,
)
from services.sandbox.tracking_provider.parcels import Parcel, PushStats
from services.sandbox.tracking_provider.pushes import Pushes
from services.sandbox.tracking_provider.requests import Refusal, Subscription, check_customer, read_query


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class TrackingProvider:
    settings: SandboxSettings
    faults: FaultInjector
    registry: NumberRegistry
    clock: SimClock
    scheduler: Scheduler
    new_client: Callable[[], httpx.AsyncClient]
    destination_of: Callable[[str], City | None]
    on_signed: Callable[[str], None]
    parcels: dict[str, Parcel] = field(default_factory=dict)
    kind_overrides: dict[str, JourneyKind] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    pushes: Pushes = field(init=False)

    def __post_init__(self) -> None:
        self.pushes = Pushes(self.settings, self.faults, self.new_client, self.parcels)

    def kind_of(self, number: str) -> JourneyKind:
        if number in self.kind_overrides:
            return self.kind_overrides[number]
        s = self.settings
        # A hash of seed and number, not the shared generator: the kind must not depend on subscription order.
        u = random.Random(f"{s.seed}:kind:{number}").random()
        rates = (
            (JourneyKind.PROBLEM, s.tracking_problem_rate),
            (JourneyKind.REFUSED, s.tracking_refused_rate),
            (JourneyKind.NEVER_COLLECTED, s.tracking_never_collected_rate),
            (JourneyKind.STALL, s.tracking_stall_rate),
        )
        return kind_for(u, rates)

    def _origin(self, number: str, rng: random.Random) -> City:
        issued = self.registry.numbers.get(number)
        if issued is not None:
            # One shop ships from one city, as real shops do.
            return addresses.ORIGIN_CITIES[zlib.crc32(issued.seller_id.encode()) % len(addresses.ORIGIN_CITIES)]
        return rng.choice(addresses.ORIGIN_CITIES)

    def accept(self, subscription: Subscription) -> None:
        """A checked subscription, unless the carrier refuses it (a fault) or the number is subscribed already."""
        if self.faults.chance(self.faults.config.tracking_refuse_rate):
            raise Refusal("701", "快递公司拒绝订阅，请稍后重试 (carrier refused)")
        if subscription.number in self.parcels:
            raise Refusal("501", "重复订阅")
        s = subscription
        self.subscribe(s.company, s.number, s.callback, s.salt, s.resultv2)

    def subscribe(self, com: str, number: str, callback: str, salt: str, resultv2: str) -> Parcel:
        rng = random.Random(f"{self.settings.seed}:journey:{number}")
        kind = self.kind_of(number)
        origin = self._origin(number, rng)
        dest = self.destination_of(number) or addresses.city_for(rng)
        start = self.clock.now()
        events = plan_journey(kind, origin, dest, start, rng, self.settings.tracking_stall_hours * HOUR)
        abort_at = start + self.settings.tracking_abort_hours * HOUR if not events else None
        parcel = Parcel(number, com, callback, salt, resultv2, kind, start, events, abort_at)
        self.parcels[number] = parcel
        self._schedule(parcel)
        return parcel

    def _schedule(self, parcel: Parcel) -> None:
        """Each event (and the abort) at its simulated time, and its push after the configured delay."""
        delay = self.settings.tracking_push_delay_s
        moments = [(event.at, self._reveal(parcel, index + 1)) for index, event in enumerate(parcel.events)]
        if parcel.abort_at is not None:
            moments.append((parcel.abort_at, self._abort(parcel)))
        for at, happen in moments:
            self.scheduler.at(at, happen)
            if delay > 0:
                self.scheduler.at(at + delay, lambda: self.pushes.want(parcel))

    def _reveal(self, parcel: Parcel, count: int) -> Callable[[], None]:
        def reveal() -> None:
            parcel.revealed = max(parcel.revealed, count)
            event = parcel.events[count - 1]
            if event.state == STATE_COLLECTED:
                self.registry.collect(parcel.number)
            if event.state == STATE_SIGNED:
                self.on_signed(parcel.number)
            if self.settings.tracking_push_delay_s <= 0:
                self.pushes.want(parcel)

        return reveal

    def _abort(self, parcel: Parcel) -> Callable[[], None]:
        def abort() -> None:
            parcel.aborted = True
            if self.settings.tracking_push_delay_s <= 0:
                self.pushes.want(parcel)

        return abort

    def answer_query(self, customer: object, sign: object, raw: object) -> dict[str, Any]:
        """The newest history of a queried number, as a push would carry it; a refusal raises Refusal."""
        settings = self.settings
        known = check_customer(customer, settings.kuaidi100_customer)
        bucket = self.buckets.setdefault(known, TokenBucket(settings.tracking_query_rate_per_s))
        if not bucket.take():
            raise Refusal("503", "查询太频繁")
        query = read_query(raw, sign, settings.kuaidi100_key, known)
        if self.faults.error("kuaidi100.query"):
            raise Refusal("502", "服务器繁忙 (provider busy)")
        if query.com not in BY_KUAIDI100:
            raise Refusal("400", f"找不到对应公司 {query.com} (unknown company)")
        parcel = self.parcels.get(query.num.strip())
        if parcel is None or parcel.com != query.com or parcel.revealed == 0:
            raise Refusal("500", "查询无结果，请隔段时间再查")
        return parcel.last_result(parcel.revealed)

    def truth(self, number: str) -> dict[str, Any]:
        parcel = self.parcels.get(number)
        if parcel is not None:
            return parcel.truth()
        return {"number": number, "subscribed": False, "kind": self.kind_of(number)}

    def stats(self) -> dict[str, Any]:
        totals = PushStats()
        kinds = dict.fromkeys(KINDS, 0)
        finished = pending = 0
        for parcel in self.parcels.values():
            totals.add(parcel.stats)
            kinds[parcel.kind] += 1
            finished += parcel.finished
            pending += parcel.push_pending
        return {
            "parcels": len(self.parcels),
            "finished": finished,
            "pushes_pending": pending,
            "kinds": kinds,
            "pushes": totals.view(),
        }
