"""Parcel journeys: which kind a parcel gets, and every event of its trip planned up front from one generator.

A journey is deterministic in the generator it is given, so the same seed and number always travel alike.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from services.sandbox import addresses
from services.sandbox.addresses import City
from services.sandbox.clock import china_time

HOUR = 3600.0


class JourneyKind(StrEnum):
    NORMAL = "normal"
    PROBLEM = "problem"
    REFUSED = "refused"
    NEVER_COLLECTED = "never_collected"
    STALL = "stall"


# The wire values, for the control endpoint that forces a kind.
KINDS = tuple(kind.value for kind in JourneyKind)

# Basic states the simulation acts on: a pick-up collects the number, a signature tells the marketplace.
STATE_COLLECTED = "1"
STATE_SIGNED = "3"
STATE_RETURNED_SIGNED = "4"
FINAL_STATES = frozenset({STATE_SIGNED, STATE_RETURNED_SIGNED})


class Stage(NamedTuple):
    status: str  # the state's Chinese name, as resultv2 adds it
    state: str  # basic state code
    code: str  # fine (resultv2) state code


COLLECTED = Stage("揽收", STATE_COLLECTED, "103")
IN_TRANSIT = Stage("在途", "0", "1002")
AT_DELIVERY_CITY = Stage("在途", "0", "1001")
OUT_FOR_DELIVERY = Stage("派件", "5", "5")
IN_LOCKER = Stage("派件", "5", "501")
PROBLEM = Stage("疑难", "2", "2")
SIGNED_IN_PERSON = Stage("签收", STATE_SIGNED, "301")
SIGNED_AFTER_PROBLEM = Stage("签收", STATE_SIGNED, "302")
SIGNED_BY_OTHER = Stage("签收", STATE_SIGNED, "303")
SIGNED_FROM_LOCKER = Stage("签收", STATE_SIGNED, "304")
REFUSED = Stage("拒签", "14", "14")
RETURNING = Stage("退回", "6", "6")
RETURNED_SIGNED = Stage("退签", STATE_RETURNED_SIGNED, "4")


@dataclass(slots=True)
class Event:
    at: float  # simulated epoch seconds
    context: str
    status: str
    state: str
    code: str
    city: City

    def view(self) -> dict[str, str]:
        stamp = china_time(self.at)
        return {
            "time": stamp,
            "ftime": stamp,
            "context": self.context,
            "status": self.status,
            "areaCode": self.city.area_code,
            "areaName": self.city.area_name,
            "statusCode": self.code,
        }


def kind_for(u: float, rates: tuple[tuple[JourneyKind, float], ...]) -> JourneyKind:
    """The kind a uniform draw ``u`` falls in, the rates laid end to end; normal past them all."""
    for kind, rate in rates:
        if u < rate:
            return kind
        u -= rate
    return JourneyKind.NORMAL


def _courier_name(rng: random.Random) -> str:
    return f"{rng.choice(addresses.SURNAMES)}师傅（{addresses.mobile(rng)}）"


def _outlet(city: City, rng: random.Random) -> str:
    return f"{city.name.removesuffix('市')}{rng.choice(city.districts)}营业部"


@dataclass
class _Trip:
    """A journey being planned: the time of its newest event and the events so far."""

    rng: random.Random
    origin: City
    dest: City
    t: float
    events: list[Event] = field(default_factory=list)

    def step(self, low: float, high: float, context: str, stage: Stage, city: City) -> None:
        # A courier's name in ``context`` is drawn before the hours: reorder the two and every journey changes.
        self.t += self.rng.uniform(low, high) * HOUR
        self.events.append(Event(self.t, context, stage.status, stage.state, stage.code, city))


def plan_journey(
    kind: JourneyKind, origin: City, dest: City, start: float, rng: random.Random, stall_s: float
) -> list[Event]:
    """The whole journey of one parcel, newest last; empty for a parcel that is never collected."""
    if kind is JourneyKind.NEVER_COLLECTED:
        return []
    trip = _Trip(rng, origin, dest, start)
    origin_outlet, dest_outlet = _outlet(origin, rng), _outlet(dest, rng)
    _first_mile(trip, origin_outlet)
    if kind is JourneyKind.STALL:
        trip.t += stall_s
    _trunk(trip)
    courier = _last_mile(trip, dest_outlet)
    _ENDINGS.get(kind, _delivered)(trip, dest_outlet, courier)
    return trip.events


def _first_mile(trip: _Trip, outlet: str) -> None:
    o = trip.origin
    trip.step(0.5, 6, f"【{o.name}】 【{outlet}】 的 {_courier_name(trip.rng)} 已揽收", COLLECTED, o)
    trip.step(1, 3, f"【{o.name}】 快件离开 【{outlet}】 已发往 【{o.hub}】", IN_TRANSIT, o)
    trip.step(1, 4, f"【{o.name}】 快件已到达 【{o.hub}】", IN_TRANSIT, o)


def _trunk(trip: _Trip) -> None:
    """Hub to hub, through a third province half the time when the parcel leaves its own."""
    o, d = trip.origin, trip.dest
    hops = [o]
    if o.province != d.province and trip.rng.random() < 0.5:
        middle = [c for c in addresses.CITIES if c.province not in {o.province, d.province}]
        hops.append(trip.rng.choice(middle))
    hops.append(d)
    for here, there in itertools.pairwise(hops):
        trip.step(0.5, 3, f"【{here.name}】 快件已在 【{here.hub}】 发出，下一站 【{there.hub}】", IN_TRANSIT, here)
        trip.step(4, 20, f"【{there.name}】 快件已到达 【{there.hub}】", IN_TRANSIT, there)


def _last_mile(trip: _Trip, outlet: str) -> str:
    """To the delivery outlet and out with a courier; the courier's name, for the endings."""
    d = trip.dest
    trip.step(1, 4, f"【{d.name}】 快件已在 【{d.hub}】 发出，下一站 【{outlet}】", IN_TRANSIT, d)
    trip.step(1, 5, f"【{d.name}】 快件已到达 【{outlet}】", AT_DELIVERY_CITY, d)
    courier = _courier_name(trip.rng)
    trip.step(1, 10, f"【{d.name}】 【{outlet}】 的派件员 {courier} 正在为您派件", OUT_FOR_DELIVERY, d)
    return courier


def _problem(trip: _Trip, outlet: str, courier: str) -> None:
    d = trip.dest
    trip.step(1, 4, f"【{d.name}】 快件派送不成功，原因：收件人电话无法接通，将再次派送", PROBLEM, d)
    trip.step(12, 24, f"【{d.name}】 【{outlet}】 的派件员 {courier} 正在为您派件", OUT_FOR_DELIVERY, d)
    trip.step(1, 3, f"【{d.name}】 快件已签收（异常后签收），签收人：本人", SIGNED_AFTER_PROBLEM, d)


def _refused(trip: _Trip, outlet: str, courier: str) -> None:
    o, d = trip.origin, trip.dest
    trip.step(0.5, 3, f"【{d.name}】 收件人拒收，原因：不想要了，快件将退回寄件人", REFUSED, d)
    trip.step(2, 8, f"【{d.name}】 快件已退回，正在返回寄件人所在地 【{o.name}】", RETURNING, d)
    trip.step(1, 4, f"【{d.name}】 退回件已在 【{d.hub}】 发出，下一站 【{o.hub}】", RETURNING, d)
    trip.step(8, 30, f"【{o.name}】 退回件已到达 【{o.hub}】", RETURNING, o)
    trip.step(4, 12, f"【{o.name}】 退回件已签收，签收人：寄件人", RETURNED_SIGNED, o)


def _delivered(trip: _Trip, outlet: str, courier: str) -> None:
    d = trip.dest
    ending = trip.rng.random()
    if ending < 0.6:
        context = f"【{d.name}】 快件已签收，签收人：本人，如有疑问请联系派件员 {courier}"
        trip.step(0.5, 4, context, SIGNED_IN_PERSON, d)
    elif ending < 0.75:
        trip.step(0.5, 4, f"【{d.name}】 快件已签收，签收人：门卫代收", SIGNED_BY_OTHER, d)
    else:
        pickup = f"{trip.rng.randrange(10**6):06d}"
        trip.step(0.5, 3, f"【{d.name}】 快件已送达 【丰巢智能柜】，请凭取件码 {pickup} 及时取件", IN_LOCKER, d)
        trip.step(1, 20, f"【{d.name}】 快件已从 【丰巢智能柜】 取出，已签收", SIGNED_FROM_LOCKER, d)


_ENDINGS: dict[JourneyKind, Callable[[_Trip, str, str], None]] = {
    JourneyKind.PROBLEM: _problem,
    JourneyKind.REFUSED: _refused,
}
