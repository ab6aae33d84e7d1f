"""A subscribed parcel: its planned events, how far it has got, its pushes, and how the provider shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.sandbox.clock import utc_iso
from services.sandbox.delivery import compact_json
from services.sandbox.tracking_provider.journeys import FINAL_STATES, Event, JourneyKind

# billstatus of a push, by the basic state of the newest event (the sandbox's choice; nothing should rely on it).
BILLSTATUS = {
    "1": "got",
    "0": "polling",
    "5": "sending",
    "3": "check",
    "2": "polling",
    "14": "back",
    "6": "back",
    "4": "check",
}


@dataclass(slots=True)
class PushStats:
    attempts: int = 0
    acked: int = 0
    failed: int = 0
    dropped: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    bad_sign: int = 0

    def add(self, other: PushStats) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def view(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Parcel:
    number: str
    com: str
    callback: str
    salt: str
    resultv2: str
    kind: JourneyKind
    subscribed_at: float  # simulated
    events: list[Event]
    abort_at: float | None  # simulated time of the abort push, for parcels that are never collected
    revealed: int = 0  # events that have happened
    aborted: bool = False
    delivered_version: int = 0  # newest version pushed successfully (or dropped on purpose)
    queued: bool = False
    retry_pending: bool = False
    failures_in_row: int = 0
    last_push_result: str | None = None
    stats: PushStats = field(default_factory=PushStats)
    # Digests of the bodies acknowledged: a receiver keeps a body once, however often it was acknowledged.
    acked_bodies: set[str] = field(default_factory=set)

    @property
    def version(self) -> int:
        return self.revealed + (1 if self.aborted else 0)

    @property
    def terminal(self) -> bool:
        return bool(self.events) and self.events[-1].state in FINAL_STATES

    @property
    def finished(self) -> bool:
        return self.aborted or (self.terminal and self.revealed == len(self.events))

    @property
    def push_pending(self) -> bool:
        return self.delivered_version < self.version

    def last_result(self, upto: int) -> dict[str, Any]:
        shown = self.events[:upto]
        newest = shown[-1] if shown else None
        final = self.terminal and upto == len(self.events)
        state = "0" if newest is None else newest.code if self.resultv2 == "4" else newest.state
        return {
            "message": "ok",
            "state": state,
            "status": "200",
            "condition": "00",
            "ischeck": "1" if final else "0",
            "com": self.com,
            "nu": self.number,
            "data": [e.view() for e in reversed(shown)],
        }

    def push_param(self, upto: int, aborted: bool) -> str:
        last = self.last_result(upto)
        final = last["ischeck"] == "1"
        newest_state = self.events[upto - 1].state if upto else "0"
        body = {
            "status": "abort" if aborted else "shutdown" if final else "polling",
            "billstatus": BILLSTATUS.get(newest_state, "polling"),
            "message": "3天查询无记录" if aborted else "",
            "autoCheck": "0",
            "comOld": "",
            "comNew": "",
            "lastResult": last,
        }
        return compact_json(body)

    def truth(self) -> dict[str, Any]:
        final = self.events[-1] if self.events else None
        current = self.events[self.revealed - 1] if self.revealed else None
        return {
            "number": self.number,
            "com": self.com,
            "subscribed": True,
            "kind": self.kind,
            "subscribed_at": utc_iso(self.subscribed_at),
            "final_state": None if final is None else final.state,
            "final_status_code": None if final is None else final.code,
            "final_push_status": "abort" if self.abort_at is not None else "shutdown",
            "current_state": None if current is None else current.state,
            "current_status_code": None if current is None else current.code,
            "events_total": len(self.events),
            "events_happened": self.revealed,
            "aborted": self.aborted,
            "finished": self.finished,
            "all_pushed": not self.push_pending,
            "last_push_result": self.last_push_result,
            "pushes": {**self.stats.view(), "acked_distinct": len(self.acked_bodies)},
            "events": [e.view() for e in reversed(self.events[: self.revealed])],  # newest first, as pushed
        }
