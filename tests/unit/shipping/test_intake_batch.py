"""The intake batcher: messages submitted together are stored as one group; a failed group is taken again
message by message, each request getting its own answer or error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.shipping.channels.base import ChannelMessage, ChannelName, MessageKind
from services.shipping.service.intake_batch import Answer, IntakeBatcher


def message(n: int, channel: ChannelName = ChannelName.TAOBAO) -> ChannelMessage:
    return ChannelMessage(channel, str(n), "taobao_trade_TradeBuyerPay", MessageKind.PAID, "s", str(1000 + n), {})


async def test_messages_submitted_together_make_one_group_each_answered_in_turn() -> None:
    groups: list[list[str]] = []

    async def run_group(group: Sequence[ChannelMessage]) -> list[Answer]:
        groups.append([m.id for m in group])
        return [{"status": "order_created", "message_id": m.id} for m in group]

    async def run_one(m: ChannelMessage) -> Answer:
        raise AssertionError("no group failed")

    batcher = IntakeBatcher(run_group, run_one, window_s=0.01)
    answers = await asyncio.gather(*(batcher.submit(message(n)) for n in range(5)))
    assert groups == [["0", "1", "2", "3", "4"]]
    assert [a["message_id"] for a in answers] == ["0", "1", "2", "3", "4"]
    # Channels are grouped apart; a group is at most max_group.
    batcher.max_group = 2
    await asyncio.gather(*(batcher.submit(message(n, ChannelName.PINDUODUO)) for n in range(5, 8)))
    assert groups[1:] == [["5", "6"], ["7"]]


async def test_a_failed_group_is_taken_message_by_message() -> None:
    async def run_group(group: Sequence[ChannelMessage]) -> list[Answer]:
        raise RuntimeError("the list call failed")

    async def run_one(m: ChannelMessage) -> Answer:
        if m.id == "1":
            raise ValueError("this one alone is bad")
        return {"status": "order_created", "message_id": m.id}

    batcher = IntakeBatcher(run_group, run_one, window_s=0.01)
    results = await asyncio.gather(*(batcher.submit(message(n)) for n in range(3)), return_exceptions=True)
    assert results[0] == {"status": "order_created", "message_id": "0"}
    assert isinstance(results[1], ValueError)
    assert results[2] == {"status": "order_created", "message_id": "2"}
    assert batcher.groups == 0


async def test_a_request_given_up_on_is_left_out_of_its_group() -> None:
    seen: list[str] = []

    async def run_group(group: Sequence[ChannelMessage]) -> list[Answer]:
        seen.extend(m.id for m in group)
        return [{"status": "order_created", "message_id": m.id} for m in group]

    batcher = IntakeBatcher(run_group, run_group, window_s=0.05)  # type: ignore[arg-type]
    gone = asyncio.create_task(batcher.submit(message(1)))
    kept = asyncio.create_task(batcher.submit(message(2)))
    await asyncio.sleep(0)
    gone.cancel()
    assert (await kept)["message_id"] == "2"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert seen == ["2"]
