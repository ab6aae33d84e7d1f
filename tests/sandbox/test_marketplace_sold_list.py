"""``taobao.trades.sold.increment.get``: the seller's trades by modification time, as TOP lists them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from tests.sandbox.support import Harness

LIST = "taobao.trades.sold.increment.get"
RESPONSE = "trades_sold_increment_get_response"
CHINA = timezone(timedelta(hours=8))


def china(offset_s: float) -> str:
    return datetime.fromtimestamp(time.time() + offset_s, CHINA).strftime("%Y-%m-%d %H:%M:%S")


async def test_lists_the_sellers_trades_in_the_window_with_the_fields_asked_for(sandbox: Harness) -> None:
    session = await sandbox.seller("shop-list")
    await sandbox.seller("shop-other")
    paid = await sandbox.trades("shop-list", count=5)
    await sandbox.trades("shop-list", count=2, paid=False)  # modified when created: before the window
    await sandbox.trades("shop-other", count=3)
    window = {"start_modified": china(-30), "end_modified": china(30)}
    body = await sandbox.top(
        LIST, session, fields="tid,status,receiver_state", status="WAIT_SELLER_SEND_GOODS", page_size="2",
        use_has_next="true", **window,
    )  # fmt: skip
    page = body[RESPONSE]
    assert page["has_next"] is True
    assert "total_results" not in page
    assert all(set(t) == {"tid", "status", "receiver_state"} for t in page["trades"]["trade"])
    seen: list[str] = []
    for page_no in (1, 2, 3):
        found = await sandbox.top(
            LIST, session, fields="tid", status="WAIT_SELLER_SEND_GOODS", page_size="2", page_no=str(page_no), **window
        )
        seen += [t["tid"] for t in found[RESPONSE]["trades"]["trade"]]
        assert found[RESPONSE]["total_results"] == 5
    assert sorted(seen) == sorted(paid)  # another seller's trades are never listed


async def test_refuses_a_span_over_a_day_and_a_page_over_100(sandbox: Harness) -> None:
    session = await sandbox.seller("shop-limits")
    long = await sandbox.top(LIST, session, fields="tid", start_modified=china(-90_000), end_modified=china(0))
    assert long["error_response"]["sub_code"] == "isv.invalid-parameter:end_modified"
    big = await sandbox.top(
        LIST, session, fields="tid", start_modified=china(-60), end_modified=china(0), page_size="101"
    )
    assert big["error_response"]["sub_code"] == "isv.invalid-parameter:page_size"
    missing = await sandbox.top(LIST, session, start_modified=china(-60), end_modified=china(0))
    assert missing["error_response"]["sub_code"] == "isv.missing-parameter:fields"
    unsigned_session = await sandbox.top(LIST, None, fields="tid", start_modified=china(-60), end_modified=china(0))
    assert unsigned_session["error_response"]["code"] == 26
