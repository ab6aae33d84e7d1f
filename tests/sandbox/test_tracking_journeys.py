"""Journeys and parcels on their own: kinds by draw, each kind's events, and what a push or query shows."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from services.sandbox.addresses import BY_NAME
from services.sandbox.tracking_provider.journeys import HOUR, JourneyKind, kind_for, plan_journey
from services.sandbox.tracking_provider.parcels import Parcel

HANGZHOU = BY_NAME[("浙江省", "杭州市")]
BEIJING = BY_NAME[("北京", "北京市")]
START = 1_750_000_000.0
RATES = ((JourneyKind.PROBLEM, 0.125), (JourneyKind.REFUSED, 0.25), (JourneyKind.STALL, 0.0625))  # exact in binary


@pytest.mark.parametrize(
    ("u", "kind"),
    [
        (0.0, JourneyKind.PROBLEM),
        (0.124, JourneyKind.PROBLEM),
        (0.125, JourneyKind.REFUSED),
        (0.374, JourneyKind.REFUSED),
        (0.375, JourneyKind.STALL),
        (0.4375, JourneyKind.NORMAL),
        (0.99, JourneyKind.NORMAL),
    ],
)
def test_kind_for_lays_the_rates_end_to_end(u: float, kind: JourneyKind) -> None:
    assert kind_for(u, RATES) is kind


def journey(kind: JourneyKind, seed: str = "n1", stall_s: float = 0.0) -> list[tuple[str, str]]:
    events = plan_journey(kind, HANGZHOU, BEIJING, START, random.Random(seed), stall_s)
    assert all(later.at > earlier.at for earlier, later in itertools.pairwise(events))
    return [(e.state, e.code) for e in events]


def test_a_journey_is_the_same_for_the_same_generator() -> None:
    first = plan_journey(JourneyKind.NORMAL, HANGZHOU, BEIJING, START, random.Random("x"), 0.0)
    again = plan_journey(JourneyKind.NORMAL, HANGZHOU, BEIJING, START, random.Random("x"), 0.0)
    assert [e.view() for e in first] == [e.view() for e in again]
    assert first[0].context.endswith("已揽收")
    assert first[0].city == HANGZHOU
    assert first[-1].city == BEIJING


def test_each_kind_ends_as_documented() -> None:
    assert journey(JourneyKind.NEVER_COLLECTED) == []
    normal = journey(JourneyKind.NORMAL)
    assert normal[0] == ("1", "103")
    assert normal[-1][0] == "3"
    problem = journey(JourneyKind.PROBLEM)
    assert problem[-3:] == [("2", "2"), ("5", "5"), ("3", "302")]
    refused = journey(JourneyKind.REFUSED)
    assert refused[-5:] == [("14", "14"), ("6", "6"), ("6", "6"), ("6", "6"), ("4", "4")]


def test_a_stall_adds_its_silence_after_the_first_hub() -> None:
    plain = plan_journey(JourneyKind.NORMAL, HANGZHOU, BEIJING, START, random.Random("s"), 0.0)
    stalled = plan_journey(JourneyKind.STALL, HANGZHOU, BEIJING, START, random.Random("s"), 96 * HOUR)
    assert [e.at for e in stalled[:3]] == [e.at for e in plain[:3]]
    assert [e.at - 96 * HOUR for e in stalled[3:]] == pytest.approx([e.at for e in plain[3:]])


def parcel(kind: JourneyKind, resultv2: str = "1") -> Parcel:
    events = plan_journey(kind, HANGZHOU, BEIJING, START, random.Random("p"), 0.0)
    abort_at = START + 72 * HOUR if not events else None
    return Parcel("YT0000000000001", "yuantong", "http://cb", "salt", resultv2, kind, START, events, abort_at)


def test_a_push_carries_the_history_newest_first_and_shuts_down_at_the_end() -> None:
    p = parcel(JourneyKind.REFUSED)
    middle = json.loads(p.push_param(2, aborted=False))
    assert (middle["status"], middle["lastResult"]["ischeck"], len(middle["lastResult"]["data"])) == ("polling", "0", 2)
    assert middle["lastResult"]["data"][0]["statusCode"] == p.events[1].code
    final = json.loads(p.push_param(len(p.events), aborted=False))
    assert (final["status"], final["billstatus"], final["lastResult"]["ischeck"]) == ("shutdown", "check", "1")


def test_resultv2_4_shows_the_fine_state() -> None:
    assert parcel(JourneyKind.PROBLEM, resultv2="1").last_result(1)["state"] == "1"
    assert parcel(JourneyKind.PROBLEM, resultv2="4").last_result(1)["state"] == "103"


def test_a_never_collected_parcel_aborts_with_no_data() -> None:
    p = parcel(JourneyKind.NEVER_COLLECTED)
    p.aborted = True
    body = json.loads(p.push_param(0, aborted=True))
    assert (body["status"], body["message"], body["lastResult"]["data"]) == ("abort", "3天查询无记录", [])
    assert p.finished
    assert p.push_pending
    assert p.truth()["final_push_status"] == "abort"
