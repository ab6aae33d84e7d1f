"""What the two push senders share: the repeat schedule, the timers, the body encoding, the failure text."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from services.sandbox.delivery import Timers, compact_json, failure_text, retry_wait


@pytest.mark.parametrize(("attempt", "wait"), [(1, 1.0), (2, 2.0), (3, 5.0), (4, 5.0), (40, 5.0)])
def test_retry_wait_follows_the_schedule_and_repeats_its_last_wait(attempt: int, wait: float) -> None:
    assert retry_wait([1.0, 2.0, 5.0], attempt) == wait


def test_a_one_wait_schedule_always_waits_the_same() -> None:
    assert [retry_wait([0.05], n) for n in (1, 2, 9)] == [0.05, 0.05, 0.05]


def test_compact_json_has_no_spaces_and_keeps_chinese() -> None:
    text = compact_json({"message": "3天查询无记录", "data": [1, 2]})
    assert text == '{"message":"3天查询无记录","data":[1,2]}'
    assert json.loads(text) == {"message": "3天查询无记录", "data": [1, 2]}


def test_failure_text_names_the_error_and_is_bounded() -> None:
    assert failure_text(httpx.ConnectError("refused")) == "ConnectError: refused"
    assert len(failure_text(httpx.ReadTimeout("x" * 500))) == 200


async def test_timers_fire_once_and_cancel_drops_the_rest() -> None:
    fired: list[str] = []
    timers = Timers()
    timers.later(0.0, lambda: fired.append("soon"))
    timers.later(30.0, lambda: fired.append("late"))
    await asyncio.sleep(0.02)
    assert fired == ["soon"]
    timers.cancel()
    timers.later(0.0, lambda: fired.append("again"))
    await asyncio.sleep(0.02)
    assert fired == ["soon", "again"]
