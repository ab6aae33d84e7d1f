"""What a list call read is kept a short while, and answers a paid message only when read after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.shipping.channels.taobao.channel import ListedTrades

RAW = {"tid": "3001", "status": "WAIT_SELLER_SEND_GOODS", "seller_nick": "s", "receiver_name": "张三"}


def test_a_trade_read_after_the_message_answers_it_once() -> None:
    listed = ListedTrades()
    now = datetime.now(UTC)
    listed.put("s", "3001", RAW, now)
    order = listed.get("s", "3001", now - timedelta(seconds=5))
    assert order is not None
    assert order.external_id == "3001"
    assert order.receiver_name == "张三"
    assert listed.get("s", "3001", now - timedelta(seconds=5)) is None  # once


def test_a_trade_read_before_or_in_the_second_of_the_message_or_too_long_ago_answers_nothing() -> None:
    listed = ListedTrades(ttl_s=30)
    now = datetime.now(UTC)
    listed.put("s", "3001", RAW, now)
    assert listed.get("s", "3001", now - timedelta(milliseconds=500)) is None  # pub_time is to the second
    listed.put("s", "3001", RAW, now - timedelta(seconds=40))
    assert listed.get("s", "3001", now - timedelta(seconds=60)) is None  # past the ttl
    listed.put("s", "3001", RAW, now)
    assert listed.get("other-seller", "3001", now - timedelta(seconds=5)) is None
    listed.forget("s", "3001")  # a close or address message of it came
    assert listed.get("s", "3001", now - timedelta(seconds=5)) is None


def test_the_oldest_are_dropped_past_the_size() -> None:
    listed = ListedTrades(size=2)
    now = datetime.now(UTC)
    for tid in ("1", "2", "3"):
        listed.put("s", tid, {**RAW, "tid": tid}, now)
    before = now - timedelta(seconds=5)
    assert [listed.get("s", tid, before) is not None for tid in ("1", "2", "3")] == [False, True, True]
